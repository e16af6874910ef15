"""UDP on the sweep engine: datagrams built by numpy are what scapy (an independent
implementation) would build, and answers are matched back to their probe by the
source-port cookie, forgeries and strays not."""

from __future__ import annotations

import socket
import struct

import numpy as np
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from prodwall.engine.codec import TCP, UdpTemplate, udp_sport
from prodwall.engine.codec import UDP as UDP_CODEC
from prodwall.engine.synscan import CLOSED, ICMP, OPEN, Block, Recorder
from prodwall.engine.wire import cookie, parse_udp

SRC4, DST4 = "198.18.1.10", "198.19.10.10"
SRC6, DST6 = "fd00:18:1::10", "fd00:19:10::10"


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)])
def test_vectorised_datagrams_match_scapys_checksums(src: str, dst: str) -> None:
    template = UdpTemplate(src, dst)
    index = np.array([0, 1, 7, 65534, 123456], np.int64)
    ports = np.array([1, 53, 161, 31337, 65535], np.int64)
    rows = np.tile(np.frombuffer(bytes(template.packet), np.uint8), (len(index), 1))
    UDP_CODEC.fill(rows, ports, index, 0xC0FFEE, np.full(len(index), template.base, np.int64))
    for row, i, port in zip(rows, index.tolist(), ports.tolist(), strict=True):
        ours = bytes(row)
        assert ours == bytes(UdpTemplate(src, dst).fill(port, cookie(i, 0xC0FFEE)))
        ip = IP(src=src, dst=dst) if ":" not in dst else IPv6(src=src, dst=dst)
        sport, dport = struct.unpack_from("!HH", ours)
        expect = bytes(ip / UDP(sport=sport, dport=dport) / ours[8:])[-len(ours) :]
        assert ours == expect  # scapy computed the same checksum
        assert sport == udp_sport(cookie(i, 0xC0FFEE)) and dport == port


def _ip4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 63) -> bytes:
    head = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 0, 0, ttl, proto, 0)
    return head + socket.inet_aton(src) + socket.inet_aton(dst) + payload


def test_replies_and_icmp_errors_are_matched_to_their_probe_by_cookie() -> None:
    secret = 0x1234567
    recorder = Recorder([Block(DST4, [53, 54, 55, 56])], secret, 0, 100, codec=UDP_CODEC)
    sp = [udp_sport(cookie(i, secret)) for i in range(4)]
    # port 53: the service answers; 54: the host says port-unreachable; 55: the router
    # refuses; 56: a reply to a port we never probed from (a stray or a forgery)
    reply = _ip4(DST4, SRC4, 17, struct.pack("!HHHH", 53, sp[0], 12, 0) + b"abcd")
    ours = _ip4(SRC4, DST4, 17, struct.pack("!HHHH", sp[1], 54, 18, 0), 64)
    unreach = _ip4(DST4, SRC4, 1, struct.pack("!BBHI", 3, 3, 0, 0) + ours)
    ours55 = _ip4(SRC4, DST4, 17, struct.pack("!HHHH", sp[2], 55, 18, 0), 64)
    refused = _ip4("198.18.1.1", SRC4, 1, struct.pack("!BBHI", 3, 13, 0, 0) + ours55, 64)
    forged = _ip4(DST4, SRC4, 17, struct.pack("!HHHH", 56, sp[3] ^ 1, 12, 0) + b"abcd")
    assert [recorder.record(p) for p in (reply, unreach, refused, forged)] == [
        True,
        True,
        True,
        False,
    ]
    assert [recorder.status_of(i) for i in range(4)] == [OPEN, CLOSED, ICMP, 0]
    assert recorder.answer_count[0] == 3  # what progress and the silent count read
    assert recorder.findings()[0][recorder.status[0]][4] == 63  # the reply's TTL, in its class
    assert parse_udp(unreach) is not None and parse_udp(unreach).icmp_code == 3  # type: ignore[union-attr]


def test_tcp_and_udp_cookies_differ_in_where_they_travel() -> None:
    assert TCP.matches(5, cookie(5, 9), 9) and not TCP.matches(6, cookie(5, 9), 9)
    assert UDP_CODEC.matches(5, udp_sport(cookie(5, 9)), 9)
    assert not UDP_CODEC.matches(5, udp_sport(cookie(5, 9)) ^ 1, 9)


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)])
def test_echo_requests_match_scapy_and_their_answers_come_back_to_them(src: str, dst: str) -> None:
    from scapy.layers.inet import ICMP
    from scapy.layers.inet6 import ICMPv6EchoRequest

    from prodwall.engine.codec import ECHO_PORT, ICMP_ECHO, EchoTemplate

    template = EchoTemplate(src, dst)
    index = np.array([0, 3, 70_000], np.int64)
    rows = np.tile(np.frombuffer(bytes(template.packet), np.uint8), (len(index), 1))
    ICMP_ECHO.fill(rows, np.ones(3, np.int64), index, 77, np.full(3, template.base, np.int64))
    for row, i in zip(rows, index.tolist(), strict=True):
        ours = bytes(row)
        c = cookie(i, 77)
        if ":" in dst:
            layer = ICMPv6EchoRequest(id=c >> 16, seq=c & 0xFFFF, data=ours[8:])
            expect = bytes(IPv6(src=src, dst=dst) / layer)[40:]
        else:
            layer = ICMP(type=8, id=c >> 16, seq=c & 0xFFFF) / ours[8:]
            expect = bytes(IP(src=src, dst=dst) / layer)[20:]
        assert ours == expect  # scapy's checksum (ICMPv6: with its pseudo-header)
    recorder = Recorder([Block(dst, [ECHO_PORT])], 77, 0, 10, codec=ICMP_ECHO)
    c = cookie(0, 77)
    if ":" in dst:
        reply = bytes(
            IPv6(src=dst, dst=src, hlim=63) / ICMPv6EchoRequest(id=c >> 16, seq=c & 0xFFFF)
        )
        reply = reply[:40] + bytes([129]) + reply[41:]  # an echo reply
    else:
        reply = bytes(IP(src=dst, dst=src, ttl=63) / ICMP(type=0, id=c >> 16, seq=c & 0xFFFF))
    assert recorder.record(reply) and recorder.status_of(0) == OPEN
    stray = bytearray(reply)
    stray[-1] ^= 1  # another sequence number: not our probe
    assert not Recorder([Block(dst, [ECHO_PORT])], 77, 0, 10, codec=ICMP_ECHO).record(bytes(stray))

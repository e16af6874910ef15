"""What the sweep engine sends and how it reads answers, per protocol: TCP SYNs and UDP
datagrams share one engine (pre-built packets, batched sends, a receiver that matches
answers and ICMP errors back to their probe); only these few operations differ.

The probe's index travels as a cookie: in a SYN's sequence number (echoed +1 in a
SYN-ACK or RST and quoted in ICMP errors), in a UDP datagram's source port (the
destination of a reply, quoted in ICMP errors), and in an echo request's identifier
and sequence number. A forged or stray packet does not match.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from prodwall.engine.wire import (
    GOLDEN,
    Answer,
    SynTemplate,
    cookie,
    fold,
    parse,
    parse_echo,
    parse_udp,
    uncookie,
)

SILENT, OPEN, CLOSED, ICMP = 0, 1, 2, 3
UDP_PAYLOAD = b"prodwall\r\n"  # what a UDP port without a protocol of its own is sent
UDP_SPORT_BASE = 0x8000  # UDP probes leave from 32768-65535: the port is the cookie


class Template(Protocol):
    packet: bytearray
    base: int

    def fill(self, dport: int, seq: int) -> bytearray: ...


class UdpTemplate:
    """A UDP datagram for one (source, destination) pair; only the ports (source port:
    the cookie) and the checksum vary."""

    def __init__(self, src: str, dst: str, payload: bytes = UDP_PAYLOAD) -> None:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        size = 8 + len(payload)
        self.packet = bytearray(struct.pack("!HHHH", 0, 0, size, 0) + payload)
        words = s.packed + d.packed
        body = bytes(self.packet) + (b"\0" if size % 2 else b"")
        self.base = (
            sum(struct.unpack(f"!{len(words) // 2}H", words))
            + socket.IPPROTO_UDP
            + size
            + sum(struct.unpack(f"!{len(body) // 2}H", body))
        )

    def fill(self, dport: int, seq: int) -> bytearray:
        sport = udp_sport(seq)
        struct.pack_into("!HH", self.packet, 0, sport, dport)
        checksum = fold(self.base + sport + dport) or 0xFFFF  # 0 would mean "none"
        struct.pack_into("!H", self.packet, 6, checksum)
        return self.packet


ECHO_PAYLOAD = b"prodwall-echo!"  # even length: the checksum sums 16-bit words


class EchoTemplate:
    """An ICMP (IPv4) or ICMPv6 echo request; the cookie is its identifier and sequence
    number (echoed in a reply, quoted in an error). ICMPv6 sums a pseudo-header."""

    def __init__(self, src: str, dst: str) -> None:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        kind = 128 if s.version == 6 else 8
        self.packet = bytearray(struct.pack("!BBHHH", kind, 0, 0, 0, 0) + ECHO_PAYLOAD)
        body = sum(struct.unpack(f"!{len(self.packet) // 2}H", bytes(self.packet)))
        if s.version == 6:
            words = s.packed + d.packed
            body += sum(struct.unpack("!16H", words)) + len(self.packet) + socket.IPPROTO_ICMPV6
        self.base = body

    def fill(self, dport: int, seq: int) -> bytearray:
        ident, number = seq >> 16, seq & 0xFFFF
        struct.pack_into("!HH", self.packet, 4, ident, number)
        struct.pack_into("!H", self.packet, 2, fold(self.base + ident + number))
        return self.packet


def udp_sport(seq: int) -> int:
    return UDP_SPORT_BASE | (seq & 0x7FFF)


_TCP_SEGMENT = np.dtype(
    [
        ("sport", ">u2"),
        ("dport", ">u2"),
        ("seq", ">u4"),
        ("rest", "V8"),
        ("sum", ">u2"),
        ("tail", "V6"),
    ]
)  # a 24-byte SYN (header + MSS option) as numpy sees it: only dport, seq and sum vary


@dataclass(frozen=True)
class Codec:
    """One protocol's part of the sweep."""

    name: str  # "tcp" | "udp" | "icmp"
    ipproto: int
    size: int  # bytes of the transport header and payload
    ipproto6: int = 0  # where IPv6 differs (ICMPv6)

    def proto(self, v6: bool) -> int:
        return (self.ipproto6 or self.ipproto) if v6 else self.ipproto

    def template(self, src: str, dst: str, sport: int) -> Template:
        if self.name == "tcp":
            return SynTemplate(src, dst, sport)
        if self.name == "icmp":
            return EchoTemplate(src, dst)
        return UdpTemplate(src, dst)

    def parse(self, packet: bytes, sport: int) -> Answer | None:
        if self.name == "icmp":
            return parse_echo(packet)
        return parse(packet, sport) if self.name == "tcp" else parse_udp(packet)

    def matches(self, index: int, seq: int, secret: int) -> bool:
        """Does the cookie an answer carries belong to probe `index`?"""
        if self.name in ("tcp", "icmp"):
            return uncookie(seq, secret) == index
        return seq == udp_sport(cookie(index, secret))

    def status(self, ans: Answer) -> int:
        if ans.kind in ("synack", "reply"):
            return OPEN
        if ans.kind == "rst":
            return CLOSED
        # UDP: a port-unreachable sent in the target's name says the port is closed there
        # (who really sent it is judged later, from its distance)
        unreachable = (ans.icmp_type, ans.icmp_code) in ((3, 3), (1, 4))
        if self.name == "udp" and unreachable and ans.responder == ans.target:
            return CLOSED
        return ICMP

    def fill(
        self,
        segments: npt.NDArray[np.uint8],
        port: npt.NDArray[np.int64],
        index: npt.NDArray[np.int64],
        secret: int,
        base: npt.NDArray[np.int64],
    ) -> None:
        """Write ports, cookies and checksums into rows of segments, a few numpy steps."""
        seq = (index.astype(np.uint32) * np.uint32(GOLDEN)) ^ np.uint32(secret)
        if self.name == "tcp":
            c = base + port + (seq >> 16) + (seq & 0xFFFF)
            view: Any = segments.view(_TCP_SEGMENT).reshape(len(index))
            view["dport"] = port
            view["seq"] = seq
        elif self.name == "icmp":
            c = base + (seq >> 16) + (seq & 0xFFFF)
            head = segments[:, :8].view(">u2").reshape(len(index), 4)
            head[:, 2] = seq >> 16
            head[:, 3] = seq & 0xFFFF
        else:
            sport = (np.uint32(UDP_SPORT_BASE) | (seq & np.uint32(0x7FFF))).astype(np.int64)
            c = base + port + sport
            head = segments[:, :8].view(">u2").reshape(len(index), 4)
            head[:, 0] = sport
            head[:, 1] = port
        c = (c & 0xFFFF) + (c >> 16)
        c = (c & 0xFFFF) + (c >> 16)
        checksum = ~c & 0xFFFF
        if self.name == "tcp":
            view["sum"] = checksum
        elif self.name == "icmp":
            head[:, 1] = checksum
        else:
            head[:, 3] = np.where(checksum == 0, 0xFFFF, checksum)


TCP = Codec("tcp", socket.IPPROTO_TCP, SynTemplate.SIZE)
UDP = Codec("udp", socket.IPPROTO_UDP, 8 + len(UDP_PAYLOAD))
ICMP_ECHO = Codec("icmp", socket.IPPROTO_ICMP, 8 + len(ECHO_PAYLOAD), socket.IPPROTO_ICMPV6)
ECHO_PORT = 1  # an echo has no port: its one probe per address is numbered as port 1

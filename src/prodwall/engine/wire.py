"""Packets on the wire, without scapy in the hot path: SYN templates and answer parsing.

A SYN's sequence number is a cookie that encodes the probe's index
(masscan-style): an answer names the probe it belongs to, and a forged or
stray packet does not match.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

GOLDEN = 0x9E3779B1  # odd, so multiplication modulo 2**32 is a bijection
_GOLDEN_INV = pow(GOLDEN, -1, 1 << 32)
MASK32 = 0xFFFFFFFF

TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10


def cookie(index: int, secret: int) -> int:
    return ((index * GOLDEN) & MASK32) ^ secret


def uncookie(seq: int, secret: int) -> int:
    return ((seq ^ secret) * _GOLDEN_INV) & MASK32


def fold(total: int) -> int:
    """A one's-complement sum folded to 16 bits and complemented: an Internet checksum."""
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


class SynTemplate:
    """A TCP SYN for one (source, destination) pair; only port, seq and checksum vary."""

    SIZE = 24

    def __init__(self, src: str, dst: str, sport: int) -> None:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        self.packet = bytearray(self.SIZE)  # 20-byte header + MSS option: looks like a real SYN
        struct.pack_into(
            "!HHIIBBHHHBBH",
            self.packet,
            0,
            sport,
            0,
            0,
            0,
            6 << 4,
            TCP_SYN,
            64240,
            0,
            0,
            2,
            4,
            1460,
        )
        words = s.packed + d.packed
        pseudo = sum(struct.unpack(f"!{len(words) // 2}H", words)) + socket.IPPROTO_TCP + 24
        self.base = pseudo + sum(struct.unpack("!12H", bytes(self.packet)))

    def fill(self, dport: int, seq: int) -> bytearray:
        struct.pack_into("!HI", self.packet, 2, dport, seq)
        struct.pack_into(
            "!H", self.packet, 16, fold(self.base + dport + (seq >> 16) + (seq & 0xFFFF))
        )
        return self.packet


@dataclass(frozen=True)
class Answer:
    """One inbound packet that answers (or refuses) a TCP probe."""

    kind: str  # "synack", "rst", "icmp"
    target: str  # the probed address
    port: int  # the probed port
    seq: int  # the probe's sequence number (its cookie)
    responder: str  # who sent the answer
    ttl: int
    icmp_type: int = -1
    icmp_code: int = -1


# ICMP error types that quote the packet they refuse: (unreachable, time exceeded)
ICMP_ERRORS = {4: (3, 11), 6: (1, 3)}


def _outer(packet: bytes) -> tuple[int, int, int, str, bytes] | None:
    """(IP version, protocol, TTL / hop limit, source, payload) of an IPv4 or IPv6 packet;
    the protocol of ICMPv6 is reported as 1, like ICMP's."""
    if len(packet) >= 20 and packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        src = socket.inet_ntop(socket.AF_INET, packet[12:16])
        return 4, packet[9], packet[8], src, packet[ihl:]
    if len(packet) >= 40 and packet[0] >> 4 == 6:
        proto = 1 if packet[6] == 58 else packet[6]
        return 6, proto, packet[7], socket.inet_ntop(socket.AF_INET6, packet[8:24]), packet[40:]
    return None


def _quoted_error(version: int, proto: int, payload: bytes) -> bool:
    return proto == 1 and len(payload) >= 8 and payload[0] in ICMP_ERRORS[version]


def parse(packet: bytes, sport: int) -> Answer | None:
    """An answer to one of our SYNs sent from `sport`, or None for anything else."""
    outer = _outer(packet)
    if outer is None:
        return None
    version, proto, ttl, src, payload = outer
    if proto == 6:
        return _tcp(payload, src, ttl, sport)
    if _quoted_error(version, proto, payload):
        return _icmp_inner(payload[8:], src, ttl, payload[0], payload[1], sport)
    return None


def _tcp(seg: bytes, src: str, ttl: int, sport: int) -> Answer | None:
    if len(seg) < 20:
        return None
    th_sport, th_dport, _seq, ack = struct.unpack_from("!HHII", seg)
    flags = seg[13]
    if th_dport != sport:
        return None
    probe_seq = (ack - 1) & MASK32
    if flags & TCP_SYN and flags & TCP_ACK:
        return Answer("synack", src, th_sport, probe_seq, src, ttl)
    if flags & TCP_RST:
        return Answer("rst", src, th_sport, probe_seq, src, ttl)
    return None


def _icmp_inner(
    inner: bytes, responder: str, ttl: int, itype: int, code: int, sport: int
) -> Answer | None:
    """ICMP errors quote our packet: its destination, ports and sequence number."""
    if not inner:
        return None
    if inner[0] >> 4 == 4 and len(inner) >= 28:
        ihl = (inner[0] & 0x0F) * 4
        if inner[9] != 6 or len(inner) < ihl + 8:
            return None
        dst, tcp = socket.inet_ntop(socket.AF_INET, inner[16:20]), inner[ihl:]
    elif inner[0] >> 4 == 6 and len(inner) >= 48:
        if inner[6] != 6:
            return None
        dst, tcp = socket.inet_ntop(socket.AF_INET6, inner[24:40]), inner[40:]
    else:
        return None
    th_sport, th_dport, seq = struct.unpack_from("!HHI", tcp)
    if th_sport != sport:
        return None
    return Answer("icmp", dst, th_dport, seq, responder, ttl, itype, code)


def parse_udp(packet: bytes) -> Answer | None:
    """An answer to a UDP probe: a datagram back from the probed port, or an ICMP error
    quoting our datagram. The probe's cookie is its source port (`seq` of the Answer)."""
    outer = _outer(packet)
    if outer is None:
        return None
    version, proto, ttl, src, payload = outer
    if proto == 17 and len(payload) >= 8:
        sport, dport = struct.unpack_from("!HH", payload)
        return Answer("reply", src, sport, dport, src, ttl)
    if _quoted_error(version, proto, payload):
        return _udp_quoted(payload[8:], src, ttl, payload[0], payload[1])
    return None


def _udp_quoted(inner: bytes, responder: str, ttl: int, itype: int, code: int) -> Answer | None:
    if inner and inner[0] >> 4 == 4 and len(inner) >= 28:
        ihl = (inner[0] & 0x0F) * 4
        if inner[9] != 17 or len(inner) < ihl + 8:
            return None
        dst, udp = socket.inet_ntop(socket.AF_INET, inner[16:20]), inner[ihl:]
    elif inner and inner[0] >> 4 == 6 and len(inner) >= 48:
        if inner[6] != 17:
            return None
        dst, udp = socket.inet_ntop(socket.AF_INET6, inner[24:40]), inner[40:]
    else:
        return None
    sport, dport = struct.unpack_from("!HH", udp)
    return Answer("icmp", dst, dport, sport, responder, ttl, itype, code)


def parse_echo(packet: bytes) -> Answer | None:
    """An echo reply (the cookie in its identifier and sequence number), or an ICMP error
    quoting one of our echo requests. Probes are numbered as port 1 (codec.ECHO_PORT)."""
    outer = _outer(packet)
    if outer is None or outer[1] != 1 or len(outer[4]) < 8:
        return None
    version, _proto, ttl, src, icmp = outer
    echo_reply, request = (0, 8) if version == 4 else (129, 128)
    kind, code = icmp[0], icmp[1]
    if kind == echo_reply:
        ident, seq = struct.unpack_from("!HH", icmp, 4)
        return Answer("reply", src, 1, (ident << 16) | seq, src, ttl)
    if kind not in ICMP_ERRORS[version]:
        return None
    inner = icmp[8:]
    if version == 4 and len(inner) >= 28 and inner[9] == 1:
        at, dst = (inner[0] & 0x0F) * 4, socket.inet_ntop(socket.AF_INET, inner[16:20])
    elif version == 6 and len(inner) >= 48 and inner[6] == 58:
        at, dst = 40, socket.inet_ntop(socket.AF_INET6, inner[24:40])
    else:
        return None
    if len(inner) < at + 8 or inner[at] != request:
        return None
    ident, seq = struct.unpack_from("!HH", inner, at + 4)
    return Answer("icmp", dst, 1, (ident << 16) | seq, src, ttl, kind, code)


def source_address(dst: str) -> str:
    """The address the kernel would send from towards dst (no packet is sent)."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((dst, 9))
        return str(s.getsockname()[0])


# ICMP type/code names for the evidence (v4 type 3 and 11, v6 type 1 and 3).
ICMP_NAMES = {
    (4, 3, 0): "net-unreachable",
    (4, 3, 1): "host-unreachable",
    (4, 3, 3): "port-unreachable",
    (4, 3, 9): "net-prohibited",
    (4, 3, 10): "host-prohibited",
    (4, 3, 13): "admin-prohibited",
    (4, 11, 0): "ttl-exceeded",
    (6, 1, 0): "no-route",
    (6, 1, 1): "admin-prohibited",
    (6, 1, 3): "address-unreachable",
    (6, 1, 4): "port-unreachable",
    (6, 1, 5): "source-policy-failed",
    (6, 1, 6): "reject-route",
    (6, 3, 0): "hop-limit-exceeded",
}


def icmp_name(version: int, itype: int, code: int) -> str:
    return ICMP_NAMES.get((version, itype, code), f"icmp type {itype} code {code}")

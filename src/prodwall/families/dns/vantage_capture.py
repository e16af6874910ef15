"""A capture of the DNS probes' own packets at the vantage, both directions (an AF_PACKET
socket: it needs CAP_NET_RAW, like the sweeps). Only packets to or from port 53 of the
servers the probes talk to are kept, and the ICMP errors about them, so other traffic of
the host is never recorded. Standard library only: it travels in the agent file.

A refusal (an ICMP error, a TCP reset) is kept only when it arrived from the network: one
the vantage's own reject rule makes is delivered over loopback or sent outward, and is not
the network's answer. `wire_refusals` then names the servers the network refused."""

from __future__ import annotations

import base64
import ipaddress
import select
import socket
import struct
import threading
import time

from prodwall.families.network.records import Packet

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ICMP_UNREACHABLE = {1: 3, 58: 1}  # IP protocol -> its destination-unreachable type
TCP_RST = 0x04
ETHER_TYPES = {0x0800: 4, 0x86DD: 6}
MAX_PACKETS = 2000


class DnsCapture:
    """Start before the queries, stop after; `packets` then holds what was seen."""

    def __init__(self, servers: set[str]) -> None:
        self.servers = {str(ipaddress.ip_address(s)) for s in servers if _is_ip(s)}
        self.packets: list[Packet] = []
        self.note = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except (OSError, AttributeError) as exc:
            self._sock = None
            self.note = f"no capture: {getattr(exc, 'strerror', None) or type(exc).__name__}"

    def __enter__(self) -> DnsCapture:
        if self._sock is not None:
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.05)  # the last answers' frames are still being delivered
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()

    def _read(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set() and len(self.packets) < MAX_PACKETS:
            ready, _, _ = select.select([self._sock], [], [], 0.1)
            if not ready:
                continue
            frame, address = self._sock.recvfrom(65535)
            # (interface, protocol, packet type, ...): from outside, not made here
            arrived = address[0] != "lo" and address[2] != PACKET_OUTGOING
            packet = _dns_packet(frame, self.servers, arrived)
            if packet is not None:
                self.packets.append(Packet(at=time.time(), data=base64.b64encode(packet).decode()))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ip(packet: bytes) -> tuple[int, int, str, str] | None:
    """(protocol, header length, source, destination) of an IPv4 or IPv6 packet."""
    if len(packet) >= 20 and packet[0] >> 4 == 4:
        return (packet[9], (packet[0] & 0x0F) * 4,
                socket.inet_ntop(socket.AF_INET, packet[12:16]),
                socket.inet_ntop(socket.AF_INET, packet[16:20]))  # fmt: skip
    if len(packet) >= 40 and packet[0] >> 4 == 6:
        return (packet[6], 40, socket.inet_ntop(socket.AF_INET6, packet[8:24]),
                socket.inet_ntop(socket.AF_INET6, packet[24:40]))  # fmt: skip
    return None


def _quoted(packet: bytes, proto: int, head: int) -> tuple[str, str] | None:
    """(server, "udp" or "tcp") an ICMP destination-unreachable is about, when the packet
    it quotes was one of ours to port 53."""
    if len(packet) < head + 8 or packet[head] != ICMP_UNREACHABLE[proto]:
        return None
    quoted = _ip(packet[head + 8 :])
    if quoted is None or quoted[0] not in (6, 17):
        return None
    at = head + 8 + quoted[1]
    if len(packet) < at + 4 or struct.unpack_from("!H", packet, at + 2)[0] != 53:
        return None
    return quoted[3], "tcp" if quoted[0] == 6 else "udp"


def _dns_packet(frame: bytes, servers: set[str], arrived: bool = True) -> bytes | None:
    """The IP packet of a frame to or from port 53 of one of `servers`, or an ICMP error
    about one that arrived from the network (else None)."""
    if len(frame) < 14 + 20 or struct.unpack_from("!H", frame, 12)[0] not in ETHER_TYPES:
        return None
    packet = frame[14:]
    ip = _ip(packet)
    if ip is None:
        return None
    proto, head, src, dst = ip
    if proto in ICMP_UNREACHABLE:
        about = _quoted(packet, proto, head)
        return packet if arrived and about is not None and about[0] in servers else None
    if proto not in (6, 17) or len(packet) < head + 14 or not {src, dst} & servers:
        return None
    sport, dport = struct.unpack_from("!HH", packet, head)
    if 53 not in (sport, dport):
        return None
    reset = _reset_from_53(packet, proto, head) and src in servers
    return None if reset and not arrived else packet


def _reset_from_53(packet: bytes, proto: int, head: int) -> bool:
    return (
        proto == 6
        and len(packet) >= head + 14
        and bool(packet[head + 13] & TCP_RST)
        and struct.unpack_from("!H", packet, head)[0] == 53
    )


def wire_refusals(packets: list[bytes]) -> set[tuple[str, str]]:
    """(server, protocol) pairs the network itself refused, as captured: an ICMP
    destination unreachable (any code) about a packet to the server's port 53, or a TCP
    reset from that port."""
    out: set[tuple[str, str]] = set()
    for packet in packets:
        ip = _ip(packet)
        if ip is None:
            continue
        proto, head, src, _dst = ip
        if proto in ICMP_UNREACHABLE:
            about = _quoted(packet, proto, head)
            if about is not None:
                out.add(about)
        elif _reset_from_53(packet, proto, head):
            out.add((src, "tcp"))
    return out

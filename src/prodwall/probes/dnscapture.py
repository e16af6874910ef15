"""A capture of the DNS probes' own packets at the vantage, both directions (an AF_PACKET
socket: it needs CAP_NET_RAW, like the sweeps). Only packets to or from port 53 of the
servers the probes talk to are kept, so other traffic of the host is never recorded.
Standard library only: it travels in the agent file."""

from __future__ import annotations

import base64
import ipaddress
import select
import socket
import struct
import threading
import time

from .network_records import Packet

ETH_P_ALL = 0x0003
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
            frame = self._sock.recv(65535)
            packet = _dns_packet(frame, self.servers)
            if packet is not None:
                self.packets.append(Packet(at=time.time(), data=base64.b64encode(packet).decode()))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _dns_packet(frame: bytes, servers: set[str]) -> bytes | None:
    """The IP packet of a frame to or from port 53 of one of `servers` (else None)."""
    if len(frame) < 14 + 20:
        return None
    version = ETHER_TYPES.get(struct.unpack_from("!H", frame, 12)[0])
    packet = frame[14:]
    if version == 4:
        proto, head = packet[9], (packet[0] & 0x0F) * 4
        src, dst = (
            socket.inet_ntop(socket.AF_INET, packet[12:16]),
            socket.inet_ntop(socket.AF_INET, packet[16:20]),
        )
    elif version == 6 and len(packet) >= 48:
        proto, head = packet[6], 40
        src, dst = (
            socket.inet_ntop(socket.AF_INET6, packet[8:24]),
            socket.inet_ntop(socket.AF_INET6, packet[24:40]),
        )
    else:
        return None
    if proto not in (6, 17) or len(packet) < head + 4 or not {src, dst} & servers:
        return None
    sport, dport = struct.unpack_from("!HH", packet, head)
    return packet if 53 in (sport, dport) else None

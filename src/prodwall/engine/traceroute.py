"""TCP and UDP traceroute: where along the path a probe stops, as evidence of where it
is blocked.

SYNs (or the UDP probe's own protocol payload) with growing TTL / hop limit;
each ICMP time-exceeded names a hop. The walk ends at an answer from the
target, an ICMP unreachable, two silent hops in a row, or max_hops. UDP reads
the ICMP errors from the socket's error queue (IP_RECVERR), no raw socket.
"""

from __future__ import annotations

import base64
import secrets
import select
import socket
import struct
import time
from collections.abc import Callable

from prodwall.engine import udp
from prodwall.engine.payloads import payload_for
from prodwall.engine.synscan import PACKET_OUTGOING
from prodwall.engine.wire import SynTemplate, icmp_name, parse, source_address
from prodwall.families.network.records import Hop, Packet, Trace

IP_TTL, IPV6_UNICAST_HOPS = 2, 16
ETH_P_ALL = 0x0003
EXCEEDED, NO_ANSWER = "time-exceeded", "no answer"
VANTAGE = "(vantage)"  # the responder of a hop the vantage itself refused to send


def trace(target: str, port: int, max_hops: int = 8, hop_wait: float = 0.4) -> Trace:
    v6 = ":" in target
    sport = 40000 + secrets.randbelow(20000)
    base = secrets.randbits(31)
    tpl = SynTemplate(source_address(target), target, sport)
    send = socket.socket(
        socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP
    )
    # ETH_P_ALL: this socket sees our own SYNs leave too, so the capture holds both
    # directions of each traced probe (a handful of packets, after the sweep)
    recv = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    captured: list[tuple[float, bytes]] = []

    def hop(ttl: int) -> Hop:
        _set_ttl(send, v6, ttl)
        seq = (base + ttl) & 0xFFFFFFFF
        try:
            send.sendto(tpl.fill(port, seq), (target, 0))
        except OSError as exc:
            return Hop(ttl=ttl, responder=VANTAGE, what=exc.strerror or "refused")
        return _await(recv, sport, seq, target, port, hop_wait, v6, captured, ttl)

    try:
        hops = _walk(hop, max_hops)
    finally:
        send.close()
        recv.close()
    packets = tuple(Packet(at=ts, data=base64.b64encode(p).decode()) for ts, p in captured)
    return _summary(target, port, hops, "tcp", packets)


def trace_udp(target: str, port: int, max_hops: int = 8, hop_wait: float = 0.4) -> Trace:
    v6 = ":" in target
    hops = _walk(lambda ttl: _udp_hop(target, port, ttl, hop_wait, v6), max_hops)
    return _summary(target, port, hops, "udp")


def _walk(hop: Callable[[int], Hop], max_hops: int) -> list[Hop]:
    """Hops with growing TTL until an answer that is not time-exceeded, or two silent
    hops in a row (the path ends in a drop; more hops add nothing)."""
    hops: list[Hop] = []
    for ttl in range(1, max_hops + 1):
        found = hop(ttl)
        hops.append(found)
        if found.what not in (EXCEEDED, NO_ANSWER):
            break
        if len(hops) >= 2 and all(h.what == NO_ANSWER for h in hops[-2:]):
            break
    return hops


def _summary(
    target: str, port: int, hops: list[Hop], protocol: str, packets: tuple[Packet, ...] = ()
) -> Trace:
    answered = [h for h in hops if h.responder not in ("", VANTAGE)]
    return Trace(
        target=target,
        port=port,
        hops=tuple(hops),
        last_hop=answered[-1].responder if answered else "",
        reached_target=bool(hops) and hops[-1].what in ("open", "closed"),
        protocol=protocol,
        packets=packets,
    )


def _set_ttl(sock: socket.socket, v6: bool, ttl: int) -> None:
    if v6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_TTL, ttl)


def _await(
    recv: socket.socket,
    sport: int,
    seq: int,
    target: str,
    port: int,
    wait: float,
    v6: bool,
    captured: list[tuple[float, bytes]],
    ttl: int,
) -> Hop:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        recv.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            packet, where = recv.recvfrom(2048)
        except TimeoutError:
            break
        if where[2] == PACKET_OUTGOING:
            if _our_syn(packet, sport, seq):
                captured.append((time.time(), packet))
            continue
        ans = parse(packet, sport)
        if ans is None or ans.target != target or ans.port != port or ans.seq != seq:
            continue
        captured.append((time.time(), packet))
        # the received TTL says how far away the sender really is (engine/distance.py)
        if ans.kind == "synack":
            what = "open"
        elif ans.kind == "rst":
            what = "closed"
        elif ans.icmp_type == (3 if v6 else 11):
            what = EXCEEDED
        else:
            what = icmp_name(6 if v6 else 4, ans.icmp_type, ans.icmp_code)
        return Hop(ttl=ttl, responder=ans.responder, what=what, ttl_in=ans.ttl)
    return Hop(ttl=ttl, responder="", what=NO_ANSWER)


def _our_syn(packet: bytes, sport: int, seq: int) -> bool:
    if not packet:
        return False
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        tcp = packet[ihl:] if packet[9] == socket.IPPROTO_TCP else b""
    else:
        tcp = packet[40:] if len(packet) > 40 and packet[6] == socket.IPPROTO_TCP else b""
    return len(tcp) >= 8 and struct.unpack_from("!HHI", tcp)[0::2] == (sport, seq)


def _udp_hop(target: str, port: int, ttl: int, wait: float, v6: bool) -> Hop:
    family = socket.AF_INET6 if v6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        if v6:
            s.setsockopt(socket.IPPROTO_IPV6, udp.IPV6_RECVERR, 1)
        else:
            s.setsockopt(socket.IPPROTO_IP, udp.IP_RECVERR, 1)
        _set_ttl(s, v6, ttl)
        try:
            s.connect((target, port))
            s.send(payload_for(port))
        except OSError as exc:
            return Hop(ttl=ttl, responder=VANTAGE, what=exc.strerror or "refused")
        ready = select.select([s], [], [s], wait)
        if not any(ready):
            return Hop(ttl=ttl, responder="", what=NO_ANSWER)
        s.setblocking(False)
        r = udp.read_answer(s, target, port)
    if r.status == "open":
        return Hop(ttl=ttl, responder=target, what="open")
    if r.icmp_type < 0:
        return Hop(ttl=ttl, responder="", what=r.detail or r.status)
    version = 6 if v6 else 4
    exceeded = r.icmp_type == (3 if v6 else 11)
    closed = r.status == "closed" and r.responder == target
    what = (
        EXCEEDED
        if exceeded
        else ("closed" if closed else icmp_name(version, r.icmp_type, r.icmp_code))
    )
    return Hop(ttl=ttl, responder=r.responder, what=what)

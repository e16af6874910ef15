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
from typing import Any

from . import udp
from .payloads import payload_for
from .synscan import ETH_P_ALL, PACKET_OUTGOING
from .wire import SynTemplate, icmp_name, parse, source_address

IP_TTL, IPV6_UNICAST_HOPS = 2, 16


def trace(target: str, port: int, max_hops: int = 8, hop_wait: float = 0.4) -> dict[str, Any]:
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
    hops: list[dict[str, Any]] = []
    try:
        for ttl in range(1, max_hops + 1):
            if v6:
                send.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl)
            else:
                send.setsockopt(socket.IPPROTO_IP, IP_TTL, ttl)
            seq = (base + ttl) & 0xFFFFFFFF
            try:
                send.sendto(tpl.fill(port, seq), (target, 0))
            except OSError as exc:
                hops.append({"ttl": ttl, "responder": "(vantage)", "what": exc.strerror})
                break
            hop = _await(recv, sport, seq, target, port, hop_wait, v6, captured)
            hops.append({"ttl": ttl, **hop})
            if hop["what"] not in ("time-exceeded", "no answer"):
                break
            if len(hops) >= 2 and all(h["what"] == "no answer" for h in hops[-2:]):
                break  # two silent hops: the path ends in a drop; more hops add nothing
    finally:
        send.close()
        recv.close()
    answered = [h for h in hops if h["responder"] not in ("", "(vantage)")]
    return {
        "target": target,
        "port": port,
        "hops": hops,
        "last_hop": answered[-1]["responder"] if answered else "",
        "reached_target": bool(hops) and hops[-1]["what"] in ("open", "closed"),
        "packets": [[ts, base64.b64encode(p).decode()] for ts, p in captured],
    }


def _await(
    recv: socket.socket,
    sport: int,
    seq: int,
    target: str,
    port: int,
    wait: float,
    v6: bool,
    captured: list[tuple[float, bytes]],
) -> dict[str, Any]:
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
        if ans.kind == "synack":
            return {"responder": ans.responder, "what": "open"}
        if ans.kind == "rst":
            return {"responder": ans.responder, "what": "closed"}
        exceeded = (ans.icmp_type == 3) if v6 else (ans.icmp_type == 11)
        name = icmp_name(6 if v6 else 4, ans.icmp_type, ans.icmp_code)
        return {"responder": ans.responder, "what": "time-exceeded" if exceeded else name}
    return {"responder": "", "what": "no answer"}


def _our_syn(packet: bytes, sport: int, seq: int) -> bool:
    if not packet:
        return False
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        tcp = packet[ihl:] if packet[9] == socket.IPPROTO_TCP else b""
    else:
        tcp = packet[40:] if len(packet) > 40 and packet[6] == socket.IPPROTO_TCP else b""
    return len(tcp) >= 8 and struct.unpack_from("!HHI", tcp)[0::2] == (sport, seq)


def trace_udp(target: str, port: int, max_hops: int = 8, hop_wait: float = 0.4) -> dict[str, Any]:
    v6 = ":" in target
    hops: list[dict[str, Any]] = []
    for ttl in range(1, max_hops + 1):
        hop = _udp_hop(target, port, ttl, hop_wait, v6)
        hops.append({"ttl": ttl, **hop})
        if hop["what"] not in ("time-exceeded", "no answer"):
            break
        if len(hops) >= 2 and all(h["what"] == "no answer" for h in hops[-2:]):
            break
    answered = [h for h in hops if h["responder"] not in ("", "(vantage)")]
    return {
        "target": target,
        "port": port,
        "protocol": "udp",
        "hops": hops,
        "last_hop": answered[-1]["responder"] if answered else "",
        "reached_target": bool(hops) and hops[-1]["what"] in ("open", "closed"),
    }


def _udp_hop(target: str, port: int, ttl: int, wait: float, v6: bool) -> dict[str, Any]:
    family = socket.AF_INET6 if v6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        if v6:
            s.setsockopt(socket.IPPROTO_IPV6, udp.IPV6_RECVERR, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl)
        else:
            s.setsockopt(socket.IPPROTO_IP, udp.IP_RECVERR, 1)
            s.setsockopt(socket.IPPROTO_IP, IP_TTL, ttl)
        try:
            s.connect((target, port))
            s.send(payload_for(port))
        except OSError as exc:
            return {"responder": "(vantage)", "what": exc.strerror or "refused"}
        ready = select.select([s], [], [s], wait)
        if not any(ready):
            return {"responder": "", "what": "no answer"}
        s.setblocking(False)
        r = udp._read(s, target, port)
    if r.status == "open":
        return {"responder": target, "what": "open"}
    if r.icmp_type < 0:
        return {"responder": "", "what": r.detail or r.status}
    version = 6 if v6 else 4
    exceeded = r.icmp_type == (3 if v6 else 11)
    closed = r.status == "closed" and r.responder == target
    what = (
        "time-exceeded"
        if exceeded
        else ("closed" if closed else icmp_name(version, r.icmp_type, r.icmp_code))
    )
    return {"responder": r.responder, "what": what}

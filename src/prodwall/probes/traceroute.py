"""TCP traceroute: where along the path a probe stops, as evidence of where it is blocked.

SYNs with growing TTL (hop limit); each ICMP time-exceeded names a hop. The
walk ends at an answer from the target, an ICMP unreachable, or max_hops.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

from .synscan import inbound_sockets
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
    (recv,) = inbound_sockets(1 << 20, (0x86DD,) if v6 else (0x0800,))
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
            hop = _await(recv, sport, seq, target, port, hop_wait, v6)
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
    }


def _await(
    recv: socket.socket, sport: int, seq: int, target: str, port: int, wait: float, v6: bool
) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        recv.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            packet = recv.recv(2048)
        except TimeoutError:
            break
        ans = parse(packet, sport)
        if ans is None or ans.target != target or ans.port != port or ans.seq != seq:
            continue
        if ans.kind == "synack":
            return {"responder": ans.responder, "what": "open"}
        if ans.kind == "rst":
            return {"responder": ans.responder, "what": "closed"}
        exceeded = (ans.icmp_type == 3) if v6 else (ans.icmp_type == 11)
        name = icmp_name(6 if v6 else 4, ans.icmp_type, ans.icmp_code)
        return {"responder": ans.responder, "what": "time-exceeded" if exceeded else name}
    return {"responder": "", "what": "no answer"}

"""Captured packets as lines an auditor can read without opening the pcap.

scapy decodes each packet (an independent decoder: what the line says is what
the bytes say, not what the sweep believed); the lines are filed under the
production address they concern, so each verdict shows its own packets.
Runs in the parent, after the probes: scapy is never imported at the vantage.
"""

from __future__ import annotations

import time
from typing import Any

MAX_PER_ADDRESS = 6


def by_address(packets: list[tuple[float, bytes]], kind: str = "") -> dict[str, list[str]]:
    """Production-side address -> decoded lines of the packets that involve it, in time
    order; where there are many, the telling ones are kept: SYN-ACKs first, then our
    SYNs (traced probes), RSTs, time-exceeded, and other ICMP errors last."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, TCPerror, UDPerror
    from scapy.layers.inet6 import IPerror6, IPv6

    found: dict[str, list[tuple[int, float, str]]] = {}
    for when, raw in packets:
        if not raw:
            continue
        pkt: Any = IP(raw) if raw[0] >> 4 == 4 else IPv6(raw)
        stamp = time.strftime("%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1e6):06d}Z"
        hops = pkt.ttl if raw[0] >> 4 == 4 else pkt.hlim
        head = f"{stamp} {pkt.src} > {pkt.dst} ttl {hops}"
        concerns = {pkt.src, pkt.dst}
        about = "icmp"  # which probe kind the packet answers (an error: the probe it quotes)
        if TCP in pkt and not pkt.haslayer(TCPerror):
            about = "tcp"
            tcp = pkt[TCP]
            line = f"{head} tcp {tcp.sport} > {tcp.dport} [{tcp.flags}] seq {tcp.seq} ack {tcp.ack}"
            rank = 0 if tcp.flags.S and tcp.flags.A else 1 if tcp.flags.S else 2
        elif UDP in pkt and not pkt.haslayer(UDPerror):
            about = "udp"
            udp = pkt[UDP]
            line = f"{head} udp {udp.sport} > {udp.dport} len {udp.len}"
            rank = 0
        else:
            icmp = pkt.getlayer(ICMP) or pkt.payload
            line = f"{head} icmp type {icmp.type} code {icmp.code}"
            exceeded = (icmp.type == 11) if raw[0] >> 4 == 4 else (icmp.type == 3)
            rank = 3 if exceeded else 4
            inner = pkt.getlayer(IPerror) or pkt.getlayer(IPerror6)
            if inner is not None:  # an ICMP error names the probe it refuses
                concerns.add(inner.dst)
                quoted = inner.getlayer(TCPerror) or inner.getlayer(UDPerror)
                port = f":{quoted.dport}" if quoted is not None else ""
                if inner.haslayer(TCPerror):
                    about = "tcp"
                elif inner.haslayer(UDPerror):
                    about = "udp"
                line += f" about {inner.src} > {inner.dst}{port}"
        if kind and about != kind:
            continue
        for address in concerns:
            found.setdefault(address, []).append((rank, when, line))
    out = {}
    for address, rows in found.items():
        best = sorted(rows)[:MAX_PER_ADDRESS]
        out[address] = [line for _rank, _when, line in sorted(best, key=lambda r: r[1])]
    return out

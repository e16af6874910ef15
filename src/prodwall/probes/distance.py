"""Who really answered: hop distances from received TTLs, against production's distance.

A device on the path can answer in production's name: a firewall's TCP reset
or an ICMP error carrying a production address as its source. What it cannot
fake is how far away it is. Every sender starts its packets at one of a few
initial TTLs (32, 64, 128, 255) and every router on the way takes one off, so
the received TTL tells the sender's distance. Production's distance comes from
the same run:

- a traceroute whose TTL-k probe expired at a router proves the target lies
  beyond hop k (routers check the TTL before their filter, so this holds even
  behind a firewall that forges resets);
- a target routed through a gateway lies at least two hops away;
- a real answer from production (a SYN-ACK, a positive control's answer) shows
  how far production is; a forged answer from nearer cannot raise that figure.

An answer that arrives from nearer than production's distance was made on the
path: for a RST or an ICMP error that is a refusal by that hop (blocked). A
SYN-ACK is a connection whoever completed it (a proxy relays it): it stays
reachable, with its distance shown. Where no distance of production was
measured, nothing is concluded from TTLs (the caller keeps its fail-closed
reading and says why).

Distances measured for one address also hold for the other addresses of its
segment (/24 for IPv4, /64 for IPv6): hosts of one subnet sit behind the same
last router.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

INITIAL_TTLS = (32, 64, 128, 255)


def sender_hops(ttl: int) -> int | None:
    """How many hops away the sender of a packet received with `ttl` is (1: a neighbour),
    taking its initial TTL as the next of 32, 64, 128, 255; None if unknown (0)."""
    if not 0 < ttl <= 255:
        return None
    initial = next(i for i in INITIAL_TTLS if i >= ttl)
    return initial - ttl + 1


def segment(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False))


@dataclass(frozen=True)
class Floor:
    """Production at `address` lies at least `hops` away; why; and the devices seen on the
    way (hop number -> address), to name the hop that answered in production's name."""

    hops: int
    basis: str
    path: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """What an answer's distance says: forged (made on the path), genuine-or-farther, or
    not comparable (and why)."""

    forged: bool | None  # None: distances could not be compared
    answer_hops: int | None
    production_hops: int | None
    refused_by: str = ""  # the device at the answer's distance, when a traceroute saw it
    why: str = ""

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer_from_hops": self.answer_hops,
            "production_at_least_hops": self.production_hops,
            "why": self.why,
        }
        if self.refused_by:
            out["refused_by"] = self.refused_by
        return out


class Distances:
    """Production's measured distance per address and per segment, from one run."""

    def __init__(self) -> None:
        self._by_address: dict[str, Floor] = {}
        self._by_segment: dict[str, Floor] = {}

    def _raise(self, address: str, floor: Floor) -> None:
        for table, key in ((self._by_address, address), (self._by_segment, segment(address))):
            known = table.get(key)
            if known is None or floor.hops > known.hops:
                path = {**(known.path if known else {}), **floor.path}
                table[key] = Floor(floor.hops, floor.basis, path)
            elif floor.path:
                table[key] = Floor(known.hops, known.basis, {**floor.path, **known.path})

    def add_route(self, address: str, next_hop: str) -> None:
        """The vantage routes `address` through a gateway: two hops at least."""
        if next_hop and next_hop != address:
            self._raise(address, Floor(2, f"route to {address} via gateway {next_hop}"))

    def add_trace(self, trace: Mapping[str, Any]) -> None:
        """Hops whose probe expired on the way prove the target lies beyond them."""
        target = str(trace["target"])
        expired = [h for h in trace.get("hops", []) if h.get("what") == "time-exceeded"]
        path = {int(h["ttl"]): str(h["responder"]) for h in expired if h.get("responder")}
        if expired:
            last = max(expired, key=lambda h: int(h["ttl"]))
            self._raise(
                target,
                Floor(
                    int(last["ttl"]) + 1,
                    f"traceroute to {target}: TTL {last['ttl']} expired at "
                    f"{last.get('responder') or 'a router'}",
                    path,
                ),
            )

    def add_answer(self, address: str, ttl: int, what: str) -> None:
        """A genuine answer (a SYN-ACK, a positive control's answer) came from this far."""
        hops = sender_hops(ttl)
        if hops is not None:
            self._raise(address, Floor(hops, f"{what} from {address} arrived from {hops} hops"))

    def floor(self, address: str) -> Floor | None:
        return self._by_address.get(address) or self._by_segment.get(segment(address))

    def read(self, address: str, ttl: int) -> Reading:
        """Was an answer received from `address` with `ttl` sent by production?"""
        hops = sender_hops(ttl)
        floor = self.floor(address)
        if hops is None:
            return Reading(None, None, floor.hops if floor else None, why="TTL not captured")
        if floor is None:
            return Reading(
                None, hops, None, why="production's distance was not measured in this run"
            )
        if hops < floor.hops:
            device = floor.path.get(hops, "")
            return Reading(
                True,
                hops,
                floor.hops,
                device,
                f"sent from {hops} hop(s) away, production is at least {floor.hops} "
                f"({floor.basis})",
            )
        return Reading(
            False,
            hops,
            floor.hops,
            why=f"sent from {hops} hop(s) away, production is at least {floor.hops} "
            f"({floor.basis})",
        )


def measure(
    traces: Iterable[Mapping[str, Any]],
    next_hops: Mapping[str, str],
    answers: Iterable[tuple[str, int, str]] = (),
) -> Distances:
    """Distances of one run: traceroutes, routes, and genuine answers (address, TTL, what)."""
    found = Distances()
    for address, via in next_hops.items():
        found.add_route(address, via)
    for trace in traces:
        found.add_trace(trace)
    for address, ttl, what in answers:
        found.add_answer(address, ttl, what)
    return found

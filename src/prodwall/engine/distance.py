"""Who really answered: hop distances from received TTLs, against production's distance.

A device on the path can answer in production's name: a firewall's TCP reset
or an ICMP error carrying a production address as its source. What it cannot
fake is how far away it is. Every sender starts its packets at one of a few
initial TTLs (32, 64, 128, 255) and every router on the way takes one off, so
the received TTL tells the sender's distance. Production's distance comes from
the same run:

- a traceroute whose TTL-k probe expired at a router proves the target lies
  beyond hop k (routers check the TTL before their filter, so this holds even
  behind a firewall that forges resets; a packet for an address of the device
  itself is delivered, not expired, so a dual-homed host is never "beyond");
- an answer that is a connection whoever made it (a SYN-ACK, a UDP reply)
  shows production at that address is at least that far.

An answer that arrives from nearer than production's distance was made on the
path: for a RST or an ICMP error that is a refusal by that hop (blocked). A
SYN-ACK is a connection whoever completed it (a proxy relays it): it stays
reachable, with its distance shown. Where no distance of production was
measured, nothing is concluded from TTLs (the caller keeps its fail-closed
reading and says why).

Distances hold for the address they were measured for only: a routed gateway
may itself own the target (a production host with a leg in the dev network),
and hosts of one subnet can be reached over different paths (a forgotten direct
link), so neither a gateway route nor a neighbour's distance proves anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodwall.families.network.records import Trace

INITIAL_TTLS = (32, 64, 128, 255)


def sender_hops(ttl: int) -> int | None:
    """How many hops away the sender of a packet received with `ttl` is (1: a neighbour),
    taking its initial TTL as the next of 32, 64, 128, 255; None if unknown (0)."""
    if not 0 < ttl <= 255:
        return None
    initial = next(i for i in INITIAL_TTLS if i >= ttl)
    return initial - ttl + 1


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
    """Production's measured distance per address, from one run."""

    def __init__(self) -> None:
        self._by_address: dict[str, Floor] = {}

    def _raise(self, address: str, floor: Floor) -> None:
        known = self._by_address.get(address)
        if known is None or floor.hops > known.hops:
            path = {**(known.path if known else {}), **floor.path}
            self._by_address[address] = Floor(floor.hops, floor.basis, path)
        elif floor.path:
            self._by_address[address] = Floor(known.hops, known.basis, {**floor.path, **known.path})

    def add_trace(self, trace: Trace) -> None:
        """Hops whose probe expired on the way prove the target lies beyond them."""
        target = trace.target
        expired = [h for h in trace.hops if h.what == "time-exceeded"]
        path = {h.ttl: h.responder for h in expired if h.responder}
        if expired:
            last = max(expired, key=lambda h: h.ttl)
            self._raise(
                target,
                Floor(
                    last.ttl + 1,
                    f"traceroute to {target}: TTL {last.ttl} expired at "
                    f"{last.responder or 'a router'}",
                    path,
                ),
            )

    def add_answer(self, address: str, ttl: int, what: str) -> None:
        """A genuine answer (a SYN-ACK, a positive control's answer) came from this far."""
        hops = sender_hops(ttl)
        if hops is not None:
            self._raise(address, Floor(hops, f"{what} from {address} arrived from {hops} hops"))

    def floor(self, address: str) -> Floor | None:
        return self._by_address.get(address)

    def read(self, address: str, ttl: int) -> Reading:
        """Was an answer received from `address` with `ttl` sent by production?"""
        hops = sender_hops(ttl)
        floor = self.floor(address)
        if hops is None:
            return Reading(None, None, floor.hops if floor else None, why="TTL not captured")
        if floor is None:
            return Reading(
                None,
                hops,
                None,
                why=f"production's distance at {address} was not measured in this run (no "
                "traceroute hop expired on the way to it)",
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


def measure(traces: Iterable[Trace], answers: Iterable[tuple[str, int, str]] = ()) -> Distances:
    """Distances of one run: traceroutes, and answers that are connections whoever made
    them (address, TTL, what)."""
    found = Distances()
    for trace in traces:
        found.add_trace(trace)
    for address, ttl, what in answers:
        found.add_answer(address, ttl, what)
    return found

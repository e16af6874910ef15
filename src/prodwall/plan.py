"""The plan's records: the exact probes a run will send, and why.

Planning sends nothing. `planning.build_plan` is the one entry point that
makes a Plan: it asks every registered family for its probes and passes the
result through the scope guard before anyone can execute it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from prodwall.inventory.model import IPNetwork, Probing, Vantage
from prodwall.services import PortSet

Expect = Literal["blocked", "answer", "closed"]
# What a probe puts on the wire towards its target: the scope guard holds
# "packets" and "lookup" targets to the production networks.
# api: read-only calls to a cloud provider's API endpoints, never to a production address
Sends = Literal["nothing", "lookup", "api", "packets"]


@dataclass(frozen=True)
class Probe:
    kind: str  # a kind one registered family owns (or a declared kind no family runs yet)
    target: str  # an address, a network (CIDR), a DNS name, an ARN, a URL...
    environment: str  # environment the target belongs to
    why: str
    protocol: str | None = None  # tcp, udp, icmp
    ports: PortSet | None = None
    host: str | None = None
    expect: Expect = "blocked"  # "answer" or "closed": a positive control
    boundary: tuple[str, ...] = ()  # route probes: the vantage's declared boundary gateways
    addresses: tuple[str, ...] = ()  # route probes: declared host addresses inside target
    sends: Sends = "packets"  # assumed unless a family says otherwise: the guard fails closed
    # "control-target": sent to a non-production server the inventory names as one this
    # vantage may use (the guard checks that it is one); "": the target must be production
    allowed_by: str = ""

    @property
    def count(self) -> int:
        """Packets-worth of probes: one per port per address."""
        per_target = len(self.ports) if self.ports is not None else 1
        if "/" in self.target and self.sends == "packets":
            return per_target * ipaddress.ip_network(self.target).num_addresses
        return per_target

    @property
    def is_control(self) -> bool:
        return self.expect != "blocked"

    def expand(self) -> Iterator[tuple[str, int | None]]:
        """Every single (address, port) this probe stands for."""
        if "/" in self.target and self.sends == "packets":
            addresses: Iterator[str] = (str(a) for a in ipaddress.ip_network(self.target))
        else:
            addresses = iter([self.target])
        for address in addresses:
            if self.ports is None:
                yield address, None
            else:
                for port in self.ports:
                    yield address, port


@dataclass(frozen=True)
class Plan:
    inventory_name: str
    vantage_name: str
    vantage: Vantage
    probes: tuple[Probe, ...]
    planned_on: date
    counts: dict[str, int] = field(default_factory=dict)
    probing: Probing = field(default_factory=Probing)
    production: tuple[IPNetwork, ...] = ()  # every production network, as the inventory says

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of_kind(self, *kinds: str) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.kind in kinds)


def network_of(address: str, networks: tuple[IPNetwork, ...] | list[IPNetwork]) -> str:
    """The production network holding `address` ("" if none): the one place this is asked."""
    try:
        addr = ipaddress.ip_address(address.split("/")[0])
    except ValueError:
        return ""
    return next((str(n) for n in networks if n.version == addr.version and addr in n), "")

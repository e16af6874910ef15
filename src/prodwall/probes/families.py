"""The probe families: the only code that touches the world.

A family takes the plan's probes of its kinds and the vantage, and returns
observations. It never decides a verdict (verdicts.judge does that).
"""

from __future__ import annotations

from collections.abc import Callable

from ..plan import Plan, Probe
from ..verdicts import Observation
from . import dns, network, routes

Family = Callable[[tuple[Probe, ...], Plan], tuple[Observation, ...]]

# family name -> (probe kinds it executes, runner)
FAMILIES: dict[str, tuple[frozenset[str], Family]] = {
    "routes": (frozenset({"route"}), routes.run),
    "network": (network.KINDS, network.run),
    "dns": (dns.KINDS, dns.run),
}


def executed_kinds() -> frozenset[str]:
    return frozenset().union(*(kinds for kinds, _ in FAMILIES.values()))

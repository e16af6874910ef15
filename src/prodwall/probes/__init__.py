"""Probe families: the only code that touches the world.

A family takes the plan's probes of its kinds and the vantage, and returns
observations. It never decides a verdict (verdicts.judge does that).
"""

from __future__ import annotations

from collections.abc import Callable

from ..inventory.model import Vantage
from ..plan import Probe
from ..verdicts import Observation
from . import routes

Family = Callable[[tuple[Probe, ...], Vantage], tuple[Observation, ...]]

# family name -> (probe kinds it executes, runner)
FAMILIES: dict[str, tuple[frozenset[str], Family]] = {
    "routes": (frozenset({"route"}), routes.run),
}


def executed_kinds() -> frozenset[str]:
    return frozenset().union(*(kinds for kinds, _ in FAMILIES.values()))

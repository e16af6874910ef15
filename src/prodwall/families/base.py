"""The family contract: everything one probe family is, declared in one place.

A family says which probe kinds it owns, plans them from the inventory and the
vantage, runs its vantage-side module there (through the vantage's backend) and
turns what came back into observations, and names the groups its checks are
parametrised over. It never decides a verdict. A third party ships one by
registering an object with these attributes under the `prodwall.families`
entry point group; `checks` then names the folder of its check modules and
their `controls.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from ..inventory.model import Inventory, Vantage
from ..plan import Plan, Probe
from ..verdicts import Observation


@dataclass(frozen=True)
class RunContext:
    """What a family's run needs beside its probes: the plan, and where evidence goes."""

    plan: Plan
    evidence_dir: Path | None = None
    inventory: Inventory | None = None  # for families whose job needs more than the probes


class Family(Protocol):
    name: str
    kinds: frozenset[str]
    parameters: tuple[str, ...]  # the check parameters `groups` fills, e.g. ("prod_network",)
    checks: Path | None  # a third party's checks and controls.yaml; None: the repo's checks/

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterable[Probe]:
        """Every probe of this family's kinds, from the inventory alone (sends nothing)."""
        ...

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        """Run at the vantage; a failure is FAILED observations naming it, never silence."""
        ...

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        """Each of `parameters` -> the groups (networks, domains...) its checks run over."""
        ...

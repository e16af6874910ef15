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

from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Plan, Probe
from prodwall.verdicts import Observation


@dataclass(frozen=True)
class RunContext:
    """What a family's run needs beside its probes: the plan, and where evidence goes."""

    plan: Plan
    evidence_dir: Path | None = None
    inventory: Inventory | None = None  # for families whose job needs more than the probes


class Family(Protocol):
    """Every per-family fact the core needs, and nothing else: the core reads these and
    names no family (tests/test_family_contract.py fails the build if it does)."""

    name: str
    kinds: frozenset[str]
    parameters: tuple[str, ...]  # the check parameters `groups` fills, e.g. ("prod_network",)
    checks: Path | None  # a third party's checks and controls.yaml; None: the built-in ones
    order: int  # where it plans and is listed among the families (lower first)
    # the modules that run at the vantage (inside the agent file, on a bare Python)...
    vantage_modules: tuple[str, ...]
    # ... the pure-Python packages shipped inside that file with them (dnspython) ...
    bundled: tuple[str, ...]
    # ... and what the vantage must have installed for them (numpy), said if missing
    vantage_needs: tuple[str, ...]

    def limits(self, inv: Inventory) -> dict[str, str]:
        """What this family leaves unprobed, for the report's scope and limitations."""
        ...

    def runner_plan(self, inv: Inventory, today: date) -> Iterable[Probe]:
        """Probes run from the runner itself rather than a vantage (none for most)."""
        ...

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterable[Probe]:
        """Every probe of this family's kinds, from the inventory alone (sends nothing)."""
        ...

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        """Run at the vantage; a failure is FAILED observations naming it, never silence."""
        ...

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        """Each of `parameters` -> the groups (networks, domains...) its checks run over."""
        ...


class FamilyDefaults:
    """The contract's optional facts, for a family that has none of them: inherit it and
    declare only what applies (prodwall's own families do the same)."""

    checks: Path | None = None
    order = 100
    vantage_modules: tuple[str, ...] = ()
    bundled: tuple[str, ...] = ()
    vantage_needs: tuple[str, ...] = ()

    def limits(self, inv: Inventory) -> dict[str, str]:
        return {}

    def runner_plan(self, inv: Inventory, today: date) -> Iterable[Probe]:
        return ()


# every attribute and method the protocol declares, read from it (never a second list)
CONTRACT = (
    *Family.__annotations__,
    *(name for name, value in vars(Family).items() if callable(value) and not name.startswith("_")),
)

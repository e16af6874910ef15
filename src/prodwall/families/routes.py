"""The routes family: does the vantage's kernel have a path into production
that bypasses the declared boundary? Lookups only; nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ..inventory.model import Inventory, Vantage
from ..plan import Probe
from ..probes import routes as engine
from ..verdicts import Observation
from .base import RunContext


class RoutesFamily:
    name = "routes"
    kinds = frozenset({"route"})
    order = 10
    parameters = ("prod_network",)
    checks: Path | None = None

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        own = inv.environments.get(vantage.environment)
        boundary = tuple(str(g) for g in own.boundary_gateways) if own else ()
        for env_name, env in inv.production().items():
            for net in env.networks:
                yield Probe(
                    "route",
                    str(net),
                    env_name,
                    f"no route from the vantage to production network {net} bypasses the "
                    "declared boundary",
                    boundary=boundary,
                    addresses=tuple(
                        str(a) for h in env.hosts.values() for a in h.addresses if a in net
                    ),
                    sends="lookup",
                )

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        return engine.run(probes, ctx.plan)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {"prod_network": [str(n) for n in inv.production_networks()]}


FAMILY = RoutesFamily()

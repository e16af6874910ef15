"""The routes family: does the vantage's kernel have a path into production
that bypasses the declared boundary? Lookups only; nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.routes import observe as engine
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Probe
from prodwall.verdicts import Observation


class RoutesFamily(FamilyDefaults):
    name = "routes"
    kinds = frozenset({"route"})
    order = 10
    parameters = ("prod_network",)
    vantage_modules = (engine.AGENT,)

    def limits(self, inv: Inventory) -> dict[str, str]:
        return {
            "routes": "route lookups for each production network's declared host addresses "
            "and its first, middle and last address (a sample: a route covering a part of "
            "the network none of these fall in is not seen)"
        }

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

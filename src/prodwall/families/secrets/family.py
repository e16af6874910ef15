"""The secrets family: credentials and hard-wired connection strings on the vantage's
own host, attributed to an environment offline from the inventory, never used.

It plans one read per source (files, credential stores, manifests, processes) for
every vantage that stands for a host of its own (`secret_scan: true`, the default).
Nothing is sent over the network: the probes say so, and the scope guard still
checks any that names an address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.secrets import observe as engine
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Probe
from prodwall.verdicts import Observation

SOURCES = ("files", "stores", "manifests", "processes")


def enabled_sources(inv: Inventory) -> list[str]:
    scan = inv.secret_scan
    on = {
        "files": bool(scan.paths),
        "stores": scan.credential_stores,
        "manifests": scan.manifests and bool(scan.paths),
        "processes": scan.processes,
    }
    return [s for s in SOURCES if on[s]]


class SecretsFamily(FamilyDefaults):
    name = "secrets"
    kinds = frozenset({"secrets"})
    order = 40
    parameters = ("secret_source",)
    vantage_modules = (engine.AGENT,)

    def limits(self, inv: Inventory) -> dict[str, str]:
        scan = inv.secret_scan
        return {
            "secrets": f"the files under secret_scan.paths (max {scan.max_file_bytes:,} bytes "
            f"a file, {scan.max_files:,} files), process environments and credential stores "
            "of hosts read over ssh"
        }

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        if not vantage.secret_scan:
            return
        where = {
            "files": ", ".join(inv.secret_scan.paths),
            "stores": "credential stores in /root and /home/*",
            "manifests": "container, compose and Kubernetes files under " + ", ".join(
                inv.secret_scan.paths),
            "processes": "every process's environment and command line",
        }  # fmt: skip
        for source in enabled_sources(inv):
            yield Probe(
                "secrets",
                source,
                vantage.environment,
                f"no production credential or connection string in {where[source]} "
                "(read at the vantage, attributed offline, never used)",
                sends="lookup" if inv.secret_scan.resolve_hosts else "nothing",
            )

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        if ctx.inventory is None:
            raise ValueError("the secrets family needs the inventory in its run context")
        return engine.run(probes, ctx.plan, ctx.inventory)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {"secret_source": enabled_sources(inv)}


FAMILY = SecretsFamily()

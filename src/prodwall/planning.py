"""Inventory + vantage -> Plan: the one guarded entry point.

Every registered family plans its own kinds from the inventory; kinds the
inventory declares but no installed family runs yet are planned here as
declared-only (the results then say they were not reviewed). The scope guard
judges the whole plan before it is returned, so no caller can skip it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

from prodwall.errors import VantageError
from prodwall.families.registry import executed_kinds, registry
from prodwall.inventory.model import Inventory, Probing, Vantage
from prodwall.plan import Plan, Probe
from prodwall.scope import guard


def shared_rate(probing: Probing, share: int) -> Probing:
    """This vantage's part of a rate the inventory says is shared across a fleet."""
    if probing.rate_scope != "shared" or share <= 1:
        return probing
    return probing.model_copy(update={"rate": max(1, probing.rate // share)})


def build_plan(
    inv: Inventory,
    vantage_name: str,
    today: date,
    max_probes: int | None = None,
    rate_share: int = 1,
) -> Plan:
    """`rate_share`: how many vantages a fleet runs at once; a shared rate is divided."""
    vantage = inv.vantages.get(vantage_name)
    if vantage is None:
        known = ", ".join(sorted(inv.vantages)) or "(none declared)"
        raise VantageError(
            f"vantage '{vantage_name}' is not declared in the inventory; declared vantages: {known}"
        )
    probes: list[Probe] = []
    for family in registry().values():
        probes += [p for p in family.plan(inv, vantage, today) if p.kind in family.kinds]
    running = executed_kinds()
    probes += [replace(p, sends="nothing") for p in _declared_only(inv) if p.kind not in running]
    counts: Counter[str] = Counter()
    for probe in probes:
        counts[probe.kind] += probe.count
    production = inv.production_networks()
    plan = Plan(
        inv.name,
        vantage_name,
        vantage,
        tuple(probes),
        today,
        dict(counts),
        shared_rate(inv.probing, rate_share),
        production,
    )
    guard(plan, inv, max_probes=max_probes)
    return plan


FLEET = "testinfra"  # the run's vantage label: testinfra's --hosts, each host its own vantage


def fleet_plan(inv: Inventory, hosts: str, today: date) -> Plan:
    """A run of host checks across testinfra's --hosts: no vantage of the inventory, no
    network probes; each host is placed and planned when a check first asks for it."""
    stand_in = Vantage.model_construct(location=f"testinfra:{hosts}", environment="(per host)")
    return Plan(
        inv.name,
        f"{FLEET}:{hosts}",
        stand_in,
        (),
        today,
        {},
        inv.probing,
        inv.production_networks(),
    )


RUNNER = "runner"


def runner_plan(inv: Inventory, today: date) -> Plan:
    """The families' proofs run from the runner itself, not from a vantage (the cloud
    configuration, read through audit roles): what each family's `runner_plan` gives."""
    probes: list[Probe] = []
    for family in registry().values():
        probes += [p for p in family.runner_plan(inv, today) if p.kind in family.kinds]
    stand_in = Vantage.model_construct(
        location="local", environment="(runner)", secret_scan=False, ec2_instance=False
    )
    counts: Counter[str] = Counter()
    for probe in probes:
        counts[probe.kind] += probe.count
    plan = Plan(
        inv.name, RUNNER, stand_in, tuple(probes), today, dict(counts), inv.probing,
        inv.production_networks(),
    )
    guard(plan, inv)
    return plan


def _declared_only(inv: Inventory) -> Iterator[Probe]:
    """What the inventory declares for kinds no installed family may run (a family
    that owns the kind plans it itself)."""
    for env_name, env in inv.production().items():
        for arn in env.cloud.role_arns:
            yield Probe(
                "cloud-role",
                arn,
                env_name,
                "vantage credentials cannot assume this production role (read-only STS)",
            )
        for bucket in env.cloud.buckets:
            yield Probe(
                "cloud-bucket",
                bucket,
                env_name,
                "vantage credentials cannot read this production bucket (HEAD only)",
            )
        for url in env.cloud.kubernetes_api_servers:
            yield Probe(
                "k8s-api",
                url,
                env_name,
                "no kube context on the vantage points at this production API server",
            )

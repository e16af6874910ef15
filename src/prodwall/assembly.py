"""A run's results file, assembled from what the run knew: the inventory it read,
the plan it probed, the catalogue it judged by and the verdicts it reached,
with the attestation of who ran it, where and when."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prodwall import __version__
from prodwall.controls import Control
from prodwall.families.registry import executed_kinds, registry
from prodwall.inventory import Inventory, LoadedInventory
from prodwall.plan import Plan
from prodwall.planning import FLEET
from prodwall.results import SCHEMA, Results, RunMeta, VantageInfo
from prodwall.runmeta import git_revision, run_by, utc_now, vantage_info
from prodwall.vantages.agent import take_connection_notes
from prodwall.verdicts import Verdict


def assemble(
    loaded: LoadedInventory,
    plan: Plan,
    controls: dict[str, Control],
    verdicts: tuple[Verdict, ...],
    *,
    started: str,
    today: date,
    not_automated: tuple[dict[str, str], ...] = (),
) -> Results:
    inv = loaded.inventory
    planned = {p.kind for p in plan.probes}
    not_run = tuple(sorted(planned - executed_kinds()))
    notices = [*loaded.notices, *take_connection_notes()]  # a vantage reached on a retry
    if not_run:
        notices.append(
            "planned probe kinds with no probe family installed yet (not reviewed): "
            + ", ".join(not_run)
        )
    meta = RunMeta(
        started_utc=started,
        finished_utc=utc_now(),
        vantage=(
            VantageInfo(
                plan.vantage_name,
                plan.vantage.location,
                "(per host)",
                (),
                "host checks across testinfra's --hosts: each verdict names its host",
            )
            if plan.vantage_name.startswith(f"{FLEET}:")
            else vantage_info(plan.vantage_name, plan.vantage)
        ),
        run_by=run_by(),
        prodwall_version=__version__,
        git_revision=git_revision(Path.cwd()),
        inventory_path=str(loaded.path),
        inventory_sha256=loaded.sha256,
        inventory_name=inv.name,
    )
    return Results(
        SCHEMA,
        meta,
        verdicts,
        dict(plan.counts),
        tuple(notices),
        not_run,
        # the rate this run sent at: the inventory's, or its share of a fleet's shared rate
        scope={
            **scope_of(inv),
            "not_automated": list(not_automated),
            "probing_rate": plan.probing.rate,
        },
        catalogue={cid: c.model_dump() for cid, c in sorted(controls.items())},
        waivers=tuple(
            {
                "id": w.id,
                "control": w.control,
                "vantage": w.vantage,
                "target": w.target,
                "services": [str(s) for s in w.services],
                "finding": w.finding.model_dump() if w.finding else None,
                "ticket": w.ticket,
                "approver": w.approver,
                "justification": w.justification,
                "expires": w.expires.isoformat(),
                "approved": w.approved.isoformat() if w.approved else "",
                "days_left": (w.expires - today).days,
                "state": "expired" if w.is_expired(today) else "active",
            }
            for w in inv.policy.waivers
        ),
    )


def scope_of(inv: Inventory) -> dict[str, Any]:
    """What the inventory declares, as the report's scope statement shows it, with the
    limits of what is probed (the report's "Scope and limitations")."""
    return {
        "inventory": inv.name,
        "vantages": {name: v.environment for name, v in sorted(inv.vantages.items())},
        # each family says what it leaves unprobed: the core names none of them
        "limits": {k: v for f in registry().values() for k, v in f.limits(inv).items()},
        "environments": {
            name: {
                "tier": env.tier,
                "networks": [str(n) for n in env.networks],
                "dns_domains": list(env.dns_domains),
                "hosts": sorted(env.hosts),
                "aws_accounts": list(env.cloud.aws_accounts),
                "kubernetes_api_servers": list(env.cloud.kubernetes_api_servers),
            }
            for name, env in inv.environments.items()
        },
    }

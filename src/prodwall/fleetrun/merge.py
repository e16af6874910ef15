"""The fleet's one report: every verified run, plus an inconclusive run record for each
intended vantage that did not return one (Ansible's error as its reason), plus the
fleet's own account of intended versus covered vantages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from prodwall import __version__
from prodwall.fleetrun.collect import HostResult
from prodwall.inventory.loader import LoadedInventory
from prodwall.results import SCHEMA, Results, RunMeta, VantageInfo
from prodwall.runmeta import git_revision, run_by, utc_now
from prodwall.verdicts import Outcome, Verdict

CONTROL = "FLEET-VANTAGE-01"
# A control of the run itself, not of the boundary: it is judged by the fleet command,
# never by a check, so it lives here rather than in checks/controls.yaml.
CATALOGUE_ENTRY = {
    "title": "Every intended vantage of the fleet ran and returned a verified bundle",
    "why": "A segment that was not probed is a segment whose isolation is unknown: a silent "
    "gap in a fleet run would read as a pass.",
    "remediation": "Make the host reachable by Ansible with Python 3.11+, fix the error shown, "
    "and run the fleet again (or --limit it to the failed hosts).",
    "severity": "high",
    "family": "fleet",
    "column": "fleet",
    "references": {},
}


def run_meta(loaded: LoadedInventory, started: str) -> RunMeta:
    """What every missing run shares: who ran the fleet, from which code and inventory
    (worked out once: a git call and the environment per host would be repeated work)."""
    return RunMeta(
        started_utc=started,
        finished_utc=utc_now(),
        vantage=VantageInfo("", "", "", ()),
        run_by=run_by(),
        prodwall_version=__version__,
        git_revision=git_revision(Path.cwd()),
        inventory_path=str(loaded.path),
        inventory_sha256=loaded.sha256,
        inventory_name=loaded.inventory.name,
    )


def missing_run(host: HostResult, base: RunMeta) -> Results:
    t = host.target
    name = t.vantage or t.host
    meta = replace(base, vantage=VantageInfo(
        name, f"ansible://{t.host}", t.environment or "(unmapped)", (),
        "no run: see this vantage's fleet verdict",
    ))  # fmt: skip
    verdict = Verdict(
        check=f"prodwall fleet::{t.host}",
        controls=(CONTROL,),
        vantage=name,
        group="fleet",
        outcome=Outcome.INCONCLUSIVE,
        reason=f"no verified run from {t.host} ({host.stage}): {host.error}",
        inconclusive_items=(f"{t.host}: {host.stage}",),
        evidence={"ansible_host": t.host, "stage": host.stage, "error": host.error},
    )
    return Results(SCHEMA, meta, (verdict,), catalogue={CONTROL: CATALOGUE_ENTRY})


def fleet_record(hosts: list[HostResult], facts: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for h in hosts:
        rows.append(
            {
                "host": h.target.host,
                "vantage": h.target.vantage,
                "environment": h.target.environment,
                "covered": h.covered,
                "outcome": h.results.overall.value if h.results else Outcome.INCONCLUSIVE.value,
                "stage": h.stage,
                "error": h.error,
            }
        )
    return {
        **facts,
        "intended": len(rows),
        "covered": sum(1 for r in rows if r["covered"]),
        "vantages": rows,
    }

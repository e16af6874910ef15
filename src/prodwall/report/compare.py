"""Across runs: what changed since last time, and a period of nightly runs at a glance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..verdicts import Outcome, Verdict
from .combined import Combined, load


@dataclass(frozen=True)
class Change:
    kind: str  # became-reachable | fixed | became-inconclusive | new | gone | changed
    vantage: str
    check: str
    before: str
    after: str
    reason: str


def _key(v: Verdict) -> tuple[str, str]:
    return (v.vantage, v.check)


def diff(old: Combined, new: Combined) -> list[Change]:
    before = {_key(v): v for v in old.verdicts}
    after = {_key(v): v for v in new.verdicts}
    out: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        if b is None and a is not None:
            out.append(Change("new", *key, "-", a.outcome.value, a.reason))
        elif a is None and b is not None:
            out.append(Change("gone", *key, b.outcome.value, "-", b.reason))
        elif a is not None and b is not None and a.outcome is not b.outcome:
            if a.outcome is Outcome.REACHABLE:
                kind = "became-reachable"
            elif b.outcome is Outcome.REACHABLE and a.outcome in (Outcome.BLOCKED, Outcome.WAIVED):
                kind = "fixed"
            elif a.outcome is Outcome.INCONCLUSIVE:
                kind = "became-inconclusive"
            else:
                kind = "changed"
            out.append(Change(kind, *key, b.outcome.value, a.outcome.value, a.reason))
    return out


def history(folder: Path) -> tuple[Combined, dict[str, Any]]:
    """Every results.json under `folder`, by UTC night; the latest night is the report body."""
    files = sorted(folder.rglob("results.json"))
    if not files:
        from ..errors import InputError, Problem

        raise InputError(
            [
                Problem(
                    str(folder),
                    None,
                    "",
                    "no results.json below this folder",
                    "point it at the folder your nightly runs write into",
                )
            ]
        )
    runs = load(files).runs
    nights: dict[str, list[Verdict]] = defaultdict(list)
    night_runs: dict[str, list[Any]] = defaultdict(list)
    for run in runs:
        night = run.meta.started_utc[:10]
        nights[night].extend(run.verdicts)
        night_runs[night].append(run)
    rows: list[dict[str, Any]] = []
    first_fail: dict[str, str] = {}
    last_fail: dict[str, str] = {}
    fail_nights: dict[str, int] = defaultdict(int)
    for night in sorted(nights):
        vs = nights[night]
        counts: dict[str, int] = {o.value: sum(v.outcome is o for v in vs) for o in Outcome}
        rows.append({"date": night, "total": len(vs), **counts})
        for v in vs:
            if v.outcome in (Outcome.REACHABLE, Outcome.INCONCLUSIVE):
                name = f"{v.vantage}: {v.check} ({v.outcome.value})"
                first_fail.setdefault(name, night)
                last_fail[name] = night
                fail_nights[name] += 1
    latest = sorted(nights)[-1]
    summary = {
        "nights": rows,
        "nights_run": len(rows),
        "from": rows[0]["date"],
        "to": latest,
        "nights_blocked": sum(
            1
            for r in rows
            if r["reachable"] == 0 and r["inconclusive"] == 0 and r["blocked"] + r["waived"] > 0
        ),
        "findings": [
            {"finding": f, "first": first_fail[f], "last": last_fail[f], "nights": fail_nights[f]}
            for f in sorted(first_fail)
        ],
    }
    return Combined(tuple(night_runs[latest])), summary

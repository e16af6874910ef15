"""Across runs: what changed since last time, and a period of nightly runs at a glance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_REACHABLE, InputError, Problem
from prodwall.report.combined import Combined, load
from prodwall.report.inputs import FIX
from prodwall.report.keys import Trust, trust_from
from prodwall.report.manifest import MANIFEST, verify
from prodwall.results import Results
from prodwall.verdicts import Outcome, Verdict


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
    """Check by check. A check that did not exist before counts as a change from
    nothing: new and reachable is newly reachable, new and inconclusive is newly
    inconclusive; a check that is gone is coverage lost."""
    before = {_key(v): v for v in old.verdicts}
    after = {_key(v): v for v in new.verdicts}
    out: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        if a is None and b is not None:
            out.append(Change("gone", *key, b.outcome.value, "-", "no longer checked"))
            continue
        if a is None or (b is not None and a.outcome is b.outcome):
            continue
        was = b.outcome if b is not None else None
        if a.outcome is Outcome.REACHABLE:
            kind = "became-reachable"
        elif was is Outcome.REACHABLE and a.outcome in (Outcome.BLOCKED, Outcome.WAIVED):
            kind = "fixed"
        elif a.outcome is Outcome.INCONCLUSIVE:
            kind = "became-inconclusive"
        else:
            kind = "new" if b is None else "changed"
        reason = a.reason if b is not None else f"new check: {a.reason}"
        out.append(Change(kind, *key, was.value if was else "-", a.outcome.value, reason))
    return out


def diff_exit_code(changes: list[Change]) -> int:
    """1 for anything newly reachable, else 3 for newly inconclusive or coverage lost."""
    kinds = {c.kind for c in changes}
    if "became-reachable" in kinds:
        return EXIT_REACHABLE
    if kinds & {"became-inconclusive", "gone"}:
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def comparability(old: Combined, new: Combined) -> list[str]:
    """Warnings when two runs do not measure the same thing."""
    warnings = []
    v_old = sorted({r.meta.vantage.name for r in old.runs})
    v_new = sorted({r.meta.vantage.name for r in new.runs})
    if v_old != v_new:
        warnings.append(
            f"the runs are from different vantages ({', '.join(v_old)} vs {', '.join(v_new)}): "
            "a check missing on one side is not a change in the network"
        )
    i_old = sorted({(r.meta.inventory_name, r.meta.inventory_sha256) for r in old.runs})
    i_new = sorted({(r.meta.inventory_name, r.meta.inventory_sha256) for r in new.runs})
    if i_old != i_new:
        names = sorted({n for n, _ in i_old + i_new})
        warnings.append(
            "the runs used different inventories "
            f"({', '.join(names)}; sha256 {', '.join(h[:12] for _, h in i_old)} vs "
            f"{', '.join(h[:12] for _, h in i_new)}): changes may come from the inventory"
        )
    return warnings


@dataclass(frozen=True)
class Night:
    """One results file of a nightly folder, with what its manifest says of it."""

    folder: Path
    run: Results
    integrity: str  # "intact", "TAMPERED: ...", "unverified: no manifest"


def history(
    folder: Path, trust: Trust | Path | None = None, allow_unverified: bool = False
) -> tuple[Combined, dict[str, Any]]:
    """Every results.json under `folder`, by UTC night; the latest night is the report body.

    Each run folder is verified against its manifest (and the public key, when
    given): a tampered night is flagged, not trusted. Vantages seen on some
    nights but missing on others, and two runs of one vantage with the same
    start time, are flagged too.
    """
    # each bundle once: a merged bundle by its merged.json (its copied runs are verified
    # through it, with the keys its signer vouched for), a run folder by its results.json
    files = sorted(
        f for f in [*folder.rglob("results.json"), *folder.rglob("merged.json")]
        if not (f.parent.parent.name == "runs" and (f.parent.parent.parent / MANIFEST).exists())
    )
    if not files:
        raise InputError(
            [
                Problem(
                    str(folder),
                    None,
                    "",
                    "no results.json or merged.json below this folder",
                    "point it at the folder your nightly runs write into",
                )
            ]
        )
    if isinstance(trust, Path):
        trust = trust_from([trust], env=False)
    trust = trust or Trust()
    said = {f.parent: _integrity(f.parent, trust) for f in files}
    refused = [f"{p}: {why}" for p, why in said.items() if why != "intact"]
    if refused and not allow_unverified:
        raise InputError(
            [Problem(x, None, "", "refused: this night does not verify", FIX) for x in refused]
        )
    entries = [Night(f.parent, run, said[f.parent]) for f in files for run in load([f]).runs]
    nights: dict[str, list[Night]] = defaultdict(list)
    for entry in entries:
        nights[entry.run.meta.started_utc[:10]].append(entry)
    all_vantages = sorted({e.run.meta.vantage.name for e in entries})
    rows: list[dict[str, Any]] = []
    flags: list[str] = []
    first_fail: dict[str, str] = {}
    last_fail: dict[str, str] = {}
    fail_nights: dict[str, int] = defaultdict(int)
    for night in sorted(nights):
        runs = nights[night]
        vs = [v for entry in runs for v in entry.run.verdicts]
        counts: dict[str, int] = {o.value: sum(v.outcome is o for v in vs) for o in Outcome}
        night_flags = _night_flags(night, runs, all_vantages)
        flags.extend(night_flags)
        rows.append({"date": night, "total": len(vs), **counts, "flags": night_flags})
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
            if r["reachable"] == 0
            and r["inconclusive"] == 0
            and r["blocked"] + r["waived"] > 0
            and not r["flags"]
        ),
        "findings": [
            {"finding": f, "first": first_fail[f], "last": last_fail[f], "nights": fail_nights[f]}
            for f in sorted(first_fail)
        ],
        "flags": flags,
        "last_night_flagged": bool(rows[-1]["flags"]),
    }
    marks = tuple(f"{e.folder}: {e.integrity}" for e in nights[latest] if e.integrity != "intact")
    return Combined(tuple(entry.run for entry in nights[latest]), unverified=marks), summary


def history_exit_code(latest: Combined, summary: dict[str, Any]) -> int:
    """The last night decides: 1 reachable, 3 inconclusive, nothing reviewed, or flagged
    (tampered, a vantage missing, a duplicate run); and 3 if any night was tampered."""
    code = latest.exit_code()
    if code == EXIT_REACHABLE:
        return code
    tampered = any("TAMPERED" in f or "unverified" in f for f in summary["flags"])
    if summary["last_night_flagged"] or tampered:
        return EXIT_INCONCLUSIVE
    return code


def _integrity(run_folder: Path, trust: Trust) -> str:
    if not (run_folder / MANIFEST).exists():
        return "unverified: no manifest.json"
    result = verify(run_folder, trust)
    if result.authenticated:
        return "intact"
    if result.ok:
        return f"unverified: not signed by a trusted key ({result.signature})"
    return "TAMPERED: " + "; ".join(result.faults())


def _night_flags(night: str, runs: list[Night], all_vantages: list[str]) -> list[str]:
    flags = []
    for entry in runs:
        if entry.integrity != "intact":
            flags.append(f"{night}: {entry.folder.name}: {entry.integrity}")
    seen = {entry.run.meta.vantage.name for entry in runs}
    for vantage in all_vantages:
        if vantage not in seen:
            flags.append(f"{night}: no run from vantage {vantage}")
    starts: dict[tuple[str, str], int] = defaultdict(int)
    for entry in runs:
        starts[(entry.run.meta.vantage.name, entry.run.meta.started_utc)] += 1
    for (vantage, started), count in sorted(starts.items()):
        if count > 1:
            flags.append(f"{night}: {count} runs of vantage {vantage} all started at {started}")
    return flags

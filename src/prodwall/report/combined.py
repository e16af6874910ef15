"""One or many results files as one body of evidence (several vantages, or several runs)."""

from __future__ import annotations

import functools
import ipaddress
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prodwall.coverage import Coverage, coverage_of
from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK, InputError, Problem
from prodwall.results import (
    SCHEMA,
    Results,
    exit_code_for,
    overall_outcome,
    parse_results,
    read_json,
)
from prodwall.verdicts import Outcome, Verdict

MERGED_SCHEMA = "prodwall.merged/1"
MERGED_FILE = "merged.json"


@dataclass(frozen=True)
class Combined:
    runs: tuple[Results, ...]
    # a fleet run's intended vs covered vantages (prodwall fleet), carried into merged.json
    fleet: dict[str, Any] | None = None
    # inputs read with --allow-unverified, in words: said on the first screen, exit >= 3
    unverified: tuple[str, ...] = ()

    @functools.cached_property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for r in self.runs for v in r.verdicts)

    @property
    def overall(self) -> Outcome:
        return overall_outcome(self.verdicts)

    def exit_code(self) -> int:
        """The same table as `run`: 1 reachable, 3 inconclusive, partial or nothing reviewed."""
        code = exit_code_for(self.overall, self.coverage().partial)
        return EXIT_INCONCLUSIVE if self.unverified and code == EXIT_OK else code

    def coverage(self) -> Coverage:
        return self._coverage

    @functools.cached_property
    def _coverage(self) -> Coverage:  # worked out once: every view of the report asks
        not_run = {k for r in self.runs for k in r.not_run}
        return coverage_of(self.verdicts, self.catalogue, not_run)

    def summary(self) -> dict[str, int]:
        counts = Counter(v.outcome.value for v in self.verdicts)
        return {o.value: counts.get(o.value, 0) for o in Outcome}

    @property
    def catalogue(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for r in self.runs:
            out.update(r.catalogue)
        return out

    @property
    def scope(self) -> dict[str, Any]:
        envs: dict[str, Any] = {}
        for r in self.runs:
            envs.update(r.scope.get("environments", {}))
        return envs

    @property
    def notices(self) -> list[str]:
        return list(dict.fromkeys(n for r in self.runs for n in r.notices))

    @property
    def waivers(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for r in self.runs:
            for w in r.waivers:
                seen[w["id"]] = w
        return list(seen.values())

    def zone_of(self, group: str) -> str:
        """The production environment a verdict's target group belongs to."""
        for name, env in self.scope.items():
            if env.get("tier") != "production":
                continue
            if group in env.get("dns_domains", []) or group in env.get("networks", []):
                return str(name)
            try:
                net = ipaddress.ip_network(group, strict=False)
            except ValueError:
                continue
            if any(
                net.version == n.version and net.subnet_of(n)  # type: ignore[arg-type]
                for n in map(ipaddress.ip_network, env.get("networks", []))
            ):
                return str(name)
        return "other"


def column_of(verdict: Verdict, catalogue: dict[str, Any]) -> str:
    """The matrix column of a verdict: its control's `column`, else its `family`, as the
    catalogue in the results says (the one mapping from control to family)."""
    for control in verdict.controls:
        entry = catalogue.get(control, {})
        if entry.get("column") or entry.get("family"):
            return str(entry.get("column") or entry["family"])
    return "other"


def address_family(group: str) -> str:
    try:
        return f"IPv{ipaddress.ip_network(group, strict=False).version}"
    except ValueError:
        return "DNS"


def load(paths: list[Path]) -> Combined:
    runs: list[Results] = []
    fleets: list[dict[str, Any]] = []
    marks: list[str] = []
    for path in paths:
        more, fleet, said = _load_one(path)
        runs.extend(more)
        if fleet is not None:
            fleets.append(fleet)
        marks += said
    if not runs:
        raise InputError(
            [
                Problem(
                    ", ".join(map(str, paths)),
                    None,
                    "",
                    "no results to render",
                    "pass results.json files written by `prodwall run`",
                )
            ]
        )
    # one fleet's account survives a re-render; several fleets merged have no single one
    fleet = fleets[0] if len(fleets) == 1 and len(paths) == 1 else None
    return Combined(tuple(runs), fleet, tuple(dict.fromkeys(marks)))


def _load_one(path: Path) -> tuple[list[Results], dict[str, Any] | None, list[str]]:
    """The runs of one results.json or merged.json, and a merged fleet's account."""
    if path.is_dir():
        merged, single = path / MERGED_FILE, path / "results.json"
        if merged.exists() and single.exists():
            raise InputError([Problem(str(path), None, "", "holds both results.json and "
                                      "merged.json: two sources of truth, neither is read",
                                      "use a bundle written whole by this version")])  # fmt: skip
        path = merged if merged.exists() else single
    head = read_json(path, "cannot read", "pass a results.json or merged.json")
    return _runs_of(head, str(path))


def from_document(head: Any, label: str) -> Combined:
    """A parsed results.json or merged.json, as the runs it holds."""
    runs, fleet, said = _runs_of(head, label)
    if not runs:
        raise InputError([Problem(label, None, "runs", "no runs", "re-run")])
    return Combined(tuple(runs), fleet, tuple(said))


def _runs_of(
    head: Any, path: str
) -> tuple[list[Results], dict[str, Any] | None, list[str]]:
    """The runs of a results or merged document, a fleet's account, unverified marks."""
    if isinstance(head, dict) and head.get("schema") == MERGED_SCHEMA:
        fleet = head.get("fleet")
        runs = head.get("runs")
        said = head.get("unverified")
        if not isinstance(runs, list) or not (
            said is None or (isinstance(said, list) and all(isinstance(x, str) for x in said))
        ):
            raise InputError([Problem(path, None, "runs", "not a list of runs",
                                      "the file was altered or truncated; re-run")])  # fmt: skip
        parsed = [parse_results(run, f"{path} (run {i + 1})") for i, run in enumerate(runs)]
        return parsed, fleet if isinstance(fleet, dict) else None, list(said or [])
    return [parse_results(head, str(path))], None, []


def write_merged(combined: Combined, path: Path) -> None:
    data: dict[str, Any] = {
        "schema": MERGED_SCHEMA,
        "runs": [asdict(r) for r in combined.runs],
        "summary": combined.summary(),
        "overall": combined.overall.value,
    }
    if combined.fleet is not None:
        data["fleet"] = combined.fleet
    if combined.unverified:
        data["unverified"] = list(combined.unverified)
    path.write_text(json.dumps(data, indent=1, default=str) + "\n")


__all__ = ["SCHEMA", "Combined", "address_family", "column_of", "load", "write_merged"]

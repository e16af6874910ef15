"""The results JSON: the source of truth of a run. Every report is rendered from it."""

from __future__ import annotations

import functools
import json
import os
import stat
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from prodwall.coverage import Coverage, coverage_of
from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_REACHABLE, InputError, Problem
from prodwall.results_shapes import check_open_parts
from prodwall.verdicts import Outcome, Verdict

SCHEMA = "prodwall.results/1"


@dataclass(frozen=True)
class VantageInfo:
    name: str
    location: str
    environment: str
    addresses: tuple[str, ...]
    addresses_note: str = ""  # why addresses are missing, when they are


@dataclass(frozen=True)
class RunMeta:
    started_utc: str
    finished_utc: str
    vantage: VantageInfo
    run_by: dict[str, str]  # user, host, CI system, job and run ids
    prodwall_version: str
    git_revision: str
    inventory_path: str
    inventory_sha256: str
    inventory_name: str


@dataclass(frozen=True)
class Results:
    schema: str
    meta: RunMeta
    verdicts: tuple[Verdict, ...]
    plan_counts: dict[str, int] = field(default_factory=dict)
    notices: tuple[str, ...] = ()  # expired waivers and flows, planned kinds with no probe yet
    not_run: tuple[str, ...] = ()  # planned probe kinds no installed probe family executes
    # What the run covered and judged by, so every view renders from this file alone:
    scope: dict[str, Any] = field(default_factory=dict)  # environments, networks, accounts
    catalogue: dict[str, Any] = field(default_factory=dict)  # control -> title, severity, refs
    waivers: tuple[dict[str, Any], ...] = ()  # every waiver of the inventory, with its state

    def summary(self) -> dict[str, int]:
        counts = Counter(v.outcome.value for v in self.verdicts)
        return {o.value: counts.get(o.value, 0) for o in Outcome}

    @property
    def overall(self) -> Outcome:
        return overall_outcome(self.verdicts)

    def coverage(self) -> Coverage:
        return self._coverage

    @functools.cached_property
    def _coverage(self) -> Coverage:  # worked out once: every view of the report asks
        return coverage_of(self.verdicts, self.catalogue, self.not_run)

    def exit_code(self) -> int:
        return exit_code_for(self.overall, self.coverage().partial)


def overall_outcome(verdicts: tuple[Verdict, ...] | list[Verdict]) -> Outcome:
    """Worst outcome first; a run that reviewed nothing proves nothing."""
    outcomes = {v.outcome for v in verdicts}
    for worst in (Outcome.REACHABLE, Outcome.INCONCLUSIVE):
        if worst in outcomes:
            return worst
    if not outcomes & {Outcome.BLOCKED, Outcome.WAIVED}:
        return Outcome.NOT_REVIEWED
    return Outcome.WAIVED if Outcome.WAIVED in outcomes else Outcome.BLOCKED


def exit_code_for(outcome: Outcome, partial: bool = False) -> int:
    """0 only for a complete proof: all blocked (or waived) and nothing left uncovered."""
    if partial and outcome in (Outcome.BLOCKED, Outcome.WAIVED):
        return EXIT_INCONCLUSIVE
    return {
        Outcome.BLOCKED: EXIT_OK,
        Outcome.WAIVED: EXIT_OK,
        Outcome.REACHABLE: EXIT_REACHABLE,
        Outcome.INCONCLUSIVE: EXIT_INCONCLUSIVE,
        Outcome.NOT_REVIEWED: EXIT_INCONCLUSIVE,
    }[outcome]


_ADAPTER = TypeAdapter(Results)


def to_json(results: Results) -> str:
    return json.dumps(asdict(results), indent=1, sort_keys=False, default=str) + "\n"


def write_results(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(to_json(results), encoding="utf-8")
    os.replace(tmp, path)  # readers never see half a file


def read_results(path: Path) -> Results:
    raw = read_json(
        path, "cannot read results JSON", "pass a results file written by `prodwall run`"
    )
    return parse_results(raw, str(path))


def read_json(path: Path, problem: str, fix: str) -> Any:
    """A JSON file's content; a missing or broken file is an InputError naming it."""
    try:
        return json.loads(_read_regular(path).decode("utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and undecodable bytes
        raise InputError([Problem(str(path), None, "", f"{problem} ({exc})", fix)]) from None
    except RecursionError:
        raise InputError([Problem(str(path), None, "", f"{problem} (nested too deeply)", fix)]
                         ) from None  # fmt: skip


MAX_JSON_BYTES = 512 << 20  # far above any real run (the demo's largest is a few MB)


def _read_regular(path: Path) -> bytes:
    """A regular file's bytes, bounded: a FIFO, a device (/dev/zero) or a giant file is
    an error, never a read that blocks or fills memory."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        data = f.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise OSError(f"{path} is larger than {MAX_JSON_BYTES >> 20} MiB")
    return data


def parse_results(raw: Any, source: str) -> Results:
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise InputError(
            [
                Problem(
                    source,
                    None,
                    "schema",
                    f"not a prodwall results file of schema {SCHEMA}",
                    "pass a file written by this version",
                )
            ]
        )
    try:
        check_open_parts(raw)  # what the views read of the open-ended maps, by field
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(
            [Problem(source, None, loc, first["msg"], "the file was altered or truncated; re-run")]
        ) from None

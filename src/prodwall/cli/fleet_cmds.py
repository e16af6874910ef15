"""fleet, zipapp and ci: many vantages as one run, and the nightly job's judgement."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prodwall.cli.output import UsageError, _emit
from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK


def _progress(args: argparse.Namespace) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not args.quiet and args.format != "json":
            print(message, file=sys.stderr, flush=True)

    return say


def cmd_fleet(args: argparse.Namespace) -> int:
    from prodwall.cli.inventory_cmds import _load
    from prodwall.fleetrun.orchestrate import FleetOptions, run_fleet

    loaded = _load(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-fleet"
    opts = FleetOptions(
        hosts_file=args.hosts,
        limit=args.limit,
        forks=args.forks,
        zipapp=args.zipapp,
        sign_key=args.sign_key,
        pyz_cache=args.pyz_cache,
        force=args.force,
    )
    done = run_fleet(loaded, opts, out, _progress(args))
    c = done.combined
    covered = [h for h in done.hosts if h.covered]
    failed = [h for h in done.hosts if not h.covered]
    doc = {
        "overall": c.overall.value,
        "exit_code": c.exit_code(),
        "summary": c.summary(),
        "intended": [h.target.host for h in done.hosts],
        "covered": [h.target.host for h in covered],
        "failed": {h.target.host: {"stage": h.stage, "error": h.error} for h in failed},
        "folder": str(out),
        "report": str(done.report),
    }
    lines = [f"  {h.target.host:<16} {h.target.vantage or '-':<16} "
             f"{h.results.overall.value if h.results else 'NOT COVERED: ' + h.stage}"
             for h in done.hosts]  # fmt: skip
    lines += [f"  {h.target.host}: {h.error.splitlines()[0][:300]}" for h in failed]
    headline = "PARTIAL" if c.exit_code() == 3 and c.coverage().partial else c.overall.value
    lines.append(
        f"\nprodwall fleet: {headline.upper()}: {len(covered)} of {len(done.hosts)} intended "
        f"vantages covered; report: {done.report}"
    )
    _emit(args, doc, "\n".join(lines))
    return c.exit_code()


def _times(c: Any, field: str) -> list[datetime]:
    out = []
    for run in c.runs:
        try:
            t = datetime.fromisoformat(str(getattr(run.meta, field)).replace("Z", "+00:00"))
        except ValueError:
            said = getattr(run.meta, field)
            raise UsageError(f"a run's {field} is not a time: {said!r}") from None
        out.append(t if t.tzinfo else t.replace(tzinfo=UTC))
    return out


def _finished(c: Any) -> datetime:
    """When the last run of these results finished."""
    return max(_times(c, "finished_utc"))


def _started(c: Any) -> datetime:
    return min(_times(c, "started_utc"))


def cmd_zipapp(args: argparse.Namespace) -> int:
    from prodwall.fleetrun.zipapp import build

    app = build(args.out)
    doc = {"path": str(app.path), "sha256": app.sha256, "python": app.python,
           "size": app.size, "distributions": list(app.distributions)}  # fmt: skip
    _emit(args, doc, f"{app.path}: {app.size / 1e6:.1f} MB, {app.python}, sha256 {app.sha256}")
    return EXIT_OK


def cmd_ci(args: argparse.Namespace) -> int:
    from prodwall.cli.report_cmds import verified_load
    from prodwall.report.ci_gate import gate, github_annotations, markdown, text

    if not args.results.exists():
        raise UsageError(f"{args.results}: no such results folder or file")
    current, _ = verified_load(args, [args.results])
    now = datetime.now(UTC)
    tonight = _finished(current)
    if now - tonight > timedelta(hours=args.max_age):
        raise UsageError(
            f"{args.results}: its last run finished {tonight:%Y-%m-%d %H:%M} UTC, more than "
            f"--max-age {args.max_age} h ago: it is not tonight's (re-run, or raise --max-age)"
        )
    previous = None
    notes = []
    if args.previous is not None:
        if args.previous.exists():
            previous, _ = verified_load(args, [args.previous])
            if _finished(previous) >= _started(current):
                raise UsageError(
                    f"--previous {args.previous} is not older than {args.results} (its runs "
                    f"end {_finished(previous):%Y-%m-%d %H:%M:%S} UTC, tonight's start "
                    f"{_started(current):%Y-%m-%d %H:%M:%S} UTC): a replay or a swap proves "
                    "nothing about tonight"
                )
        else:
            notes.append(
                f"no previous results at {args.previous}: every reachable finding counts as new"
            )
    g = gate(current, previous, now.date())
    code = g.exit_code(strict=args.fail_on == "any")
    if current.unverified or (previous is not None and previous.unverified):
        notes.append("an input did not verify (--allow-unverified): this gate cannot pass")
        code = code if code != EXIT_OK else EXIT_INCONCLUSIVE
    report = str(args.results / "report.html") if args.results.is_dir() else ""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.summary or (summary and args.format == "github"):
        target = args.summary or Path(str(summary))
        with target.open("a", encoding="utf-8") as f:
            f.write(markdown(g, code, report))
    if args.format == "github":
        for line in [*notes, *github_annotations(g)]:
            print(line)
        # the listing quotes hosts and probes: GitHub runs no workflow command inside it
        token = secrets.token_hex(16)
        print(f"::stop-commands::{token}\n{text(g, code)}\n::{token}::")
        return code
    doc = {
        "exit_code": code,
        "first_night": g.first_night,
        "new_reachable": [f.__dict__ for f in g.new_reachable],
        "expired_waivers": list(g.expired_waivers),
        "coverage_lost": list(g.regressions),
        "still_reachable": [f.__dict__ for f in g.known_reachable],
        "inconclusive": len(g.inconclusive),
        "notes": notes,
    }
    for note in notes:
        if args.format == "text":
            print(f"prodwall: note: {note}", file=sys.stderr)
    _emit(args, doc, text(g, code))
    return code


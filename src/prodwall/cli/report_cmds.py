"""report, merge, diff, history, keygen and verify: the commands that read results."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK
from .output import _emit


def _bundle_doc(combined: Any, path: Path) -> dict[str, Any]:
    return {
        "overall": combined.overall.value,
        "exit_code": combined.exit_code(),
        "coverage": {
            "partial": combined.coverage().partial,
            "missing": combined.coverage().missing(),
        },
        "summary": combined.summary(),
        "report": str(path),
    }


def cmd_report(args: argparse.Namespace) -> int:
    from ..report.bundle import write_bundle
    from ..report.combined import load

    combined = load(args.results)
    # the run folders given are carried inside the bundle, captures and manifests with them
    path = write_bundle(combined, args.out, signing_key=args.sign_key, sources=args.results)
    cov = combined.coverage()
    partial = cov.partial and combined.exit_code() == 3
    headline = "PARTIAL" if partial else combined.overall.value.upper()
    text = f"prodwall: {headline}; report: {path}"
    _emit(args, _bundle_doc(combined, path), text + (f"\n  not covered: {cov.missing()}"
                                                     if cov.partial else ""))  # fmt: skip
    return combined.exit_code()


def cmd_diff(args: argparse.Namespace) -> int:
    from ..report.combined import load
    from ..report.compare import comparability, diff, diff_exit_code

    old, new = load([args.old]), load([args.new])
    warnings = comparability(old, new)
    if args.format == "text":
        for warning in warnings:
            print(f"prodwall: warning: {warning}", file=sys.stderr)
    changes = diff(old, new)
    kinds = [ch.kind for ch in changes]
    lines = [
        f"{ch.kind:<20} {ch.vantage:<10} {ch.check}: {ch.before} -> {ch.after} ({ch.reason})"
        for ch in changes
    ]
    lines.append(
        f"{kinds.count('became-reachable')} became reachable, {kinds.count('fixed')} fixed, "
        f"{kinds.count('became-inconclusive')} became inconclusive, {kinds.count('gone')} no "
        f"longer checked, {len(changes)} changes"
    )
    code = diff_exit_code(changes)
    doc = {
        "exit_code": code,
        "warnings": warnings,
        "changes": [dataclasses.asdict(ch) for ch in changes],
    }
    _emit(args, doc, "\n".join(lines[-1:] if args.quiet else lines))
    return code


def cmd_history(args: argparse.Namespace) -> int:
    from ..report.bundle import write_bundle
    from ..report.compare import history, history_exit_code

    latest, summary = history(args.folder, args.public_key)
    path = write_bundle(latest, args.out, history=summary, signing_key=args.sign_key)
    code = history_exit_code(latest, summary)
    lines = [f"FLAGGED  {flag}" for flag in summary["flags"]]
    lines.append(
        f"{summary['nights_run']} nights from {summary['from']} to {summary['to']}, "
        f"{summary['nights_blocked']} fully blocked, {len(summary['findings'])} findings, "
        f"{len(summary['flags'])} flags; last night {latest.overall.value.upper()}; "
        f"report: {path}"
    )
    _emit(
        args,
        {**summary, "last_night": latest.overall.value, "exit_code": code, "report": str(path)},
        "\n".join(lines),
    )
    return code


def cmd_keygen(args: argparse.Namespace) -> int:
    from ..report.manifest import keygen

    private, public = keygen(args.out)
    print(f"private key: {private} (keep it secret; set PRODWALL_SIGNING_KEY or --sign-key)")
    print(f"public key:  {public} (give it to whoever verifies: prodwall verify --public-key)")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ..report.manifest import verify

    result = verify(args.folder, args.public_key)
    lines = [f"MANIFEST {problem}" for problem in result.problems]
    lines += [f"CHANGED  {name}" for name in result.changed]
    lines += [f"MISSING  {name}" for name in result.missing]
    lines += [f"UNLISTED {name}" for name in result.unlisted]
    lines.append(f"signature: {result.signature}")
    lines.append("intact" if result.ok else "NOT intact")
    doc = {**dataclasses.asdict(result), "intact": result.ok}
    _emit(args, doc, "\n".join(lines))
    return EXIT_OK if result.ok else 1

"""report, merge, diff, history, keygen and verify: the commands that read results."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prodwall.report.combined import Combined
    from prodwall.report.inputs import CheckedInput

from prodwall.cli.output import _emit, one_line
from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK


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
        "unverified": list(combined.unverified),
    }


def trust_of(args: argparse.Namespace) -> Any:
    """The keys this command trusts: named ones, $PRODWALL_TRUSTED_KEYS, our own."""
    from prodwall.report.keys import trust_from

    return trust_from(args.trusted_keys, getattr(args, "sign_key", None))


def verified_load(
    args: argparse.Namespace, paths: list[Path]
) -> tuple[Combined, list[CheckedInput]]:
    """The inputs, each verified first (refused unless --allow-unverified, then marked)."""
    from dataclasses import replace

    from prodwall.report.combined import load
    from prodwall.report.inputs import check_inputs, unverified_marks

    checked = check_inputs(paths, trust_of(args), args.allow_unverified)
    combined = load(paths)
    marks = unverified_marks(checked)
    if marks:
        combined = replace(combined, unverified=tuple(dict.fromkeys(combined.unverified + marks)))
    return combined, checked


def cmd_report(args: argparse.Namespace) -> int:
    from prodwall.report.bundle import write_bundle
    from prodwall.report.bundlefs import staged
    from prodwall.report.keys import signer_of, signing_key_path

    signer_of(signing_key_path(args.sign_key))  # a bad key stops us before anything is read
    combined, checked = verified_load(args, args.results)
    # the run folders given are carried inside the bundle, captures and manifests with them
    with staged(args.out, args.force) as stage:
        vouch = {c.given: c.signing_key for c in checked}
        write_bundle(combined, stage, signing_key=args.sign_key, sources=args.results,
                     vouch=vouch)  # fmt: skip
    path = args.out / "report.html"
    cov = combined.coverage()
    partial = cov.partial and combined.exit_code() == 3
    headline = "PARTIAL" if partial else combined.overall.value.upper()
    text = f"prodwall: {headline}; report: {path}"
    text += "".join(f"\n  UNVERIFIED input: {one_line(mark)}" for mark in combined.unverified)
    _emit(args, _bundle_doc(combined, path), text + (f"\n  not covered: {cov.missing()}"
                                                     if cov.partial else ""))  # fmt: skip
    return combined.exit_code()


def cmd_diff(args: argparse.Namespace) -> int:
    from prodwall.report.compare import comparability, diff, diff_exit_code

    old, _ = verified_load(args, [args.old])
    new, _ = verified_load(args, [args.new])
    warnings = comparability(old, new)
    if args.format == "text":
        for warning in warnings:
            print(f"prodwall: warning: {warning}", file=sys.stderr)
    changes = diff(old, new)
    kinds = [ch.kind for ch in changes]
    lines = [
        one_line(f"{ch.kind:<20} {ch.vantage:<10} {ch.check}: {ch.before} -> {ch.after} "
                 f"({ch.reason})")
        for ch in changes
    ]  # fmt: skip
    lines.append(
        f"{kinds.count('became-reachable')} became reachable, {kinds.count('fixed')} fixed, "
        f"{kinds.count('became-inconclusive')} became inconclusive, {kinds.count('gone')} no "
        f"longer checked, {len(changes)} changes"
    )
    code = diff_exit_code(changes)
    if (old.unverified or new.unverified) and code == EXIT_OK:
        code = EXIT_INCONCLUSIVE  # an unverified side can never make a clean comparison
    doc = {
        "exit_code": code,
        "warnings": warnings,
        "changes": [dataclasses.asdict(ch) for ch in changes],
    }
    _emit(args, doc, "\n".join(lines[-1:] if args.quiet else lines))
    return code


def cmd_history(args: argparse.Namespace) -> int:
    from prodwall.report.bundle import write_bundle
    from prodwall.report.bundlefs import staged
    from prodwall.report.compare import history, history_exit_code

    latest, summary = history(args.folder, trust_of(args), args.allow_unverified)
    with staged(args.out, args.force) as stage:
        write_bundle(latest, stage, history=summary, signing_key=args.sign_key)
    path = args.out / "report.html"
    code = history_exit_code(latest, summary)
    lines = [f"FLAGGED  {one_line(flag)}" for flag in summary["flags"]]
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
    from prodwall.report.manifest import keygen

    private, public = keygen(args.out, args.name, args.role)
    print(f"private key: {private} (keep it secret; set PRODWALL_SIGNING_KEY or --sign-key)")
    print(f"public key:  {public} (give it to whoever verifies: prodwall verify --public-key)")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from prodwall.report.keys import trust_from
    from prodwall.report.verify import verify

    result = verify(args.folder, trust_from(args.trusted_keys))
    # names come from the bundle: a file called "x\n::error" must not start a line
    lines = [f"MANIFEST {one_line(problem)}" for problem in result.problems]
    lines += [f"CHANGED  {one_line(name)}" for name in result.changed]
    lines += [f"MISSING  {one_line(name)}" for name in result.missing]
    lines += [f"UNLISTED {one_line(name)}" for name in result.unlisted]
    lines += [f"NOT REGULAR {one_line(what)}" for what in result.irregular]
    lines.append(f"signature: {one_line(result.signature)}")
    lines += [f"  {one_line(said)}" for said in result.nested]
    if not result.ok:
        lines.append("NOT intact")
        code = 1
    elif result.authenticated:
        lines.append("intact")
        code = EXIT_OK
    else:
        lines.append("intact, but NOT authenticated: no trusted key vouches for the signer")
        code = EXIT_INCONCLUSIVE
    doc = {**dataclasses.asdict(result), "intact": result.ok,
           "authenticated": result.authenticated, "exit_code": code}  # fmt: skip
    _emit(args, doc, "\n".join(lines))
    return code

"""The `prodwall` command.

Exit codes, per command, are in each command's --help and in the README:
`run`, `report`, `merge` and `history` share one table (0 all blocked, 1 something
reachable, 2 bad input or usage, 3 inconclusive or nothing reviewed); `diff`,
`verify`, `validate`, `plan`, `lab` and `demo` say what theirs mean.
Every command that prints results takes `--format json`; errors are JSON then too.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .errors import EXIT_OK, EXIT_USAGE, InputError, Problem, ProdwallError
from .fingerprint import fingerprint, load_key
from .inventory import advice, load_inventory
from .inventory.loader import LoadedInventory
from .inventory.model import Inventory
from .plan import Plan
from .planning import build_plan
from .runner import run_checks
from .scope import effective

EPILOG = "exit codes: 0 all blocked, 1 something reachable, 2 bad input or usage, 3 inconclusive"
RESULTS_EPILOG = (
    "exit codes: 0 every reviewed check blocked (or waived), 1 something reachable, "
    "2 bad input or usage, 3 inconclusive or nothing reviewed"
)
EXITS = {
    "validate": "exit codes: 0 every inventory is valid, 2 a problem (each named with file, "
    "line, field and fix)",
    "plan": "exit codes: 0 the plan was printed (nothing is sent), 2 bad input, an unknown "
    "vantage or a scope-guard refusal",
    "schema": "exit codes: 0",
    "run": RESULTS_EPILOG,
    "report": RESULTS_EPILOG + " (judged from the results given)",
    "merge": RESULTS_EPILOG + " (judged from all results given)",
    "history": "exit codes: the last night decides: 0 all blocked, 1 something reachable, "
    "3 inconclusive or nothing reviewed; 3 also when the last night is flagged (a vantage "
    "missing, a duplicate run) or any night's files were tampered with; 2 usage",
    "diff": "exit codes: 0 nothing newly reachable, inconclusive or unchecked; 1 something "
    "became reachable (a new check that is reachable included); 3 something became "
    "inconclusive or is no longer checked; 2 usage",
    "verify": "exit codes: 0 intact, 1 a file changed, vanished or appeared, the manifest "
    "is missing, or (with --public-key) the signature is not a valid one by that key; 2 usage",
    "keygen": "exit codes: 0 written, 2 usage",
    "fingerprint": "exit codes: 0 printed, 2 no key or no secret",
    "lab": "exit codes: 0 done (status: healthy or down), 2 usage (e.g. not root), "
    "3 status: the lab is up but degraded",
    "demo": "exit codes: 0 sealed lab proven and every checkable planted leak found, "
    "1 otherwise, 2 usage (e.g. not root)",
}
# Commands where `-v NAME` used to mean the vantage (now --vantage; -v is verbose).
_VANTAGE_COMMANDS = ("plan", "run")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors can be JSON under --format json."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(ProdwallError):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    try:
        argv = _deprecated_vantage_flag(argv)
        args = _parser().parse_args(argv)
        code: int = args.func(args)
        return code
    except ProdwallError as exc:
        _error(exc, as_json)
        return exc.exit_code
    except BrokenPipeError:
        # `prodwall plan | head`: the reader left; that is not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        _error(UsageError("interrupted"), as_json)
        return EXIT_USAGE


def _wants_json(argv: list[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairs)


def _error(exc: ProdwallError, as_json: bool) -> None:
    if not as_json:
        print(f"prodwall: {exc}", file=sys.stderr)
        return
    problems = [
        {"file": p.file, "line": p.line, "field": p.field, "message": p.message, "fix": p.fix}
        for p in getattr(exc, "problems", ())
    ]
    refusals = list(getattr(exc, "refusals", ()))
    doc = {"error": {"exit_code": exc.exit_code, "message": str(exc), "problems": problems}}
    if refusals:
        doc["error"]["refusals"] = refusals
    json.dump(doc, sys.stdout, indent=1)
    print()


def _deprecated_vantage_flag(argv: list[str]) -> list[str]:
    """`plan/run -v NAME` meant the vantage; it still does, with a note, when NAME follows.

    -v is verbose everywhere else (pytest, nmap); `-v` followed by a word, with no
    --vantage given, can only be the old spelling: a verbosity flag takes no value.
    """
    if not argv or argv[0] not in _VANTAGE_COMMANDS or "--vantage" in argv:
        return argv
    cut = argv.index("--") if "--" in argv else len(argv)
    out = list(argv)
    for i in range(1, cut - 1):
        if out[i] == "-v" and not out[i + 1].startswith("-"):
            print(
                "prodwall: note: `-v NAME` for the vantage is deprecated; write "
                f"`--vantage {out[i + 1]}` (-v now means verbose)",
                file=sys.stderr,
            )
            out[i] = "--vantage"
            break
    return out


def _emit(args: argparse.Namespace, doc: dict[str, Any], text: str) -> None:
    """One result, as JSON (one document on stdout) or as text."""
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=1, default=str)
        print()
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _common(p: argparse.ArgumentParser, formats: bool = True) -> None:
    """Options every command has: verbosity and, where it prints results, --format."""
    p.add_argument("-q", "--quiet", action="count", default=0, help="print less")
    p.add_argument("-v", "--verbose", action="count", default=0, help="print more")
    if formats:
        p.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help="json: one JSON document on stdout (errors too)",
        )
    else:
        p.set_defaults(format="text")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="prodwall",
        description="Prove that test and dev environments cannot reach production.",
        epilog=EPILOG + "; each command's --help gives its own",
    )
    p.add_argument("--version", action="version", version=f"prodwall {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, formats: bool = True) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXITS[name])
        _common(parser, formats)
        return parser

    v = command("validate", "check inventory files; run nothing")
    v.add_argument("inventories", nargs="*", metavar="INVENTORY", help="files, or - for stdin")
    v.add_argument(
        "--inventory",
        "-i",
        action="append",
        default=[],
        dest="more_inventories",
        help="an inventory (repeatable; same as giving it as an argument)",
    )
    v.set_defaults(func=cmd_validate)

    pl = command("plan", "show every probe a run would send; send nothing")
    _inv_args(pl)
    pl.add_argument(
        "--expand",
        action="store_true",
        help="one line per single probe (address, port) instead of per group",
    )
    pl.set_defaults(func=cmd_plan)

    s = command("schema", "print the inventory JSON Schema (for editors)", formats=False)
    s.set_defaults(func=cmd_schema)

    r = command("run", "run the checks from a vantage and write the whole report bundle")
    _inv_args(r)
    r.add_argument(
        "--out", "-o", type=Path, help="output folder (default reports/UTC-TIME-VANTAGE)"
    )
    r.add_argument("--checks", type=Path, help="folder of checks (default: the repo's checks/)")
    r.add_argument(
        "--sign-key",
        type=Path,
        help="Ed25519 key to sign the manifest (default $PRODWALL_SIGNING_KEY)",
    )
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    r.set_defaults(func=cmd_run)

    lab = sub.add_parser(
        "lab",
        help="the built-in lab: real namespaces, firewall, DNS and hosts (root)",
        description="the built-in lab: real namespaces, firewall, DNS and hosts (root)",
        epilog=EXITS["lab"],
    )
    lab_sub = lab.add_subparsers(
        dest="lab_command", required=True, metavar="ACTION", parser_class=_Parser
    )
    for action, text in (
        ("up", "bring the lab up (idempotent)"),
        ("down", "remove every namespace, process and file of the lab"),
        ("status", "what is up"),
    ):
        parser = lab_sub.add_parser(action, help=text, description=text, epilog=EXITS["lab"])
        _common(parser)
        if action == "up":
            parser.add_argument("--profile", choices=["sealed", "leaky"], default="sealed")
    lab.set_defaults(func=cmd_lab)

    d = command(
        "demo",
        "the lab in each profile, the whole suite from dev and test, reports and a summary (root)",
        formats=False,
    )
    d.add_argument("--out", "-o", type=Path, default=Path("reports") / "demo")
    d.add_argument("--keep", action="store_true", help="leave the last (leaky) lab up")
    d.set_defaults(func=cmd_demo)

    rp = command(
        "report", "render the HTML report, JUnit, OSCAL and a signed manifest from results"
    )
    rp.add_argument("results", nargs="+", type=Path, help="results.json, merged.json or run folder")
    _report_out_args(rp)
    rp.set_defaults(func=cmd_report)

    mg = command(
        "merge",
        "combine the results of several vantages or runs into one report (same as report "
        "with several inputs)",
    )
    mg.add_argument("results", nargs="+", type=Path)
    _report_out_args(mg)
    mg.set_defaults(func=cmd_report)

    df = command("diff", "what became reachable, was fixed or became inconclusive")
    df.add_argument("old", type=Path)
    df.add_argument("new", type=Path)
    df.set_defaults(func=cmd_diff)

    hi = command(
        "history",
        "summarise a period of nightly runs (operating effectiveness) into a report with a "
        "trend chart; verifies every night",
    )
    hi.add_argument("folder", type=Path)
    _report_out_args(hi)
    hi.add_argument(
        "--public-key",
        type=Path,
        help="require every night's manifest to be signed by this key (else tampered)",
    )
    hi.set_defaults(func=cmd_history)

    kg = command("keygen", "make an Ed25519 key pair for signing manifests", formats=False)
    kg.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("prodwall-signing"),
        help="path stem: writes STEM.key (keep secret) and STEM.pub",
    )
    kg.set_defaults(func=cmd_keygen)

    vf = command("verify", "check a report folder's hashes and signature")
    vf.add_argument("folder", type=Path)
    vf.add_argument("--public-key", type=Path, help="the signer's public key you trust")
    vf.set_defaults(func=cmd_verify)

    f = command(
        "fingerprint",
        "HMAC-SHA-256 fingerprint of a secret read from stdin, for the inventory's secrets",
        formats=False,
    )
    f.add_argument("--key-file", help="key file (default: $PRODWALL_FINGERPRINT_KEY)")
    f.set_defaults(func=cmd_fingerprint)
    return p


def _report_out_args(p: argparse.ArgumentParser) -> None:
    """Where a report goes and the key that signs its manifest."""
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    p.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")


def _inv_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--inventory", "-i", required=True, help="inventory YAML file, or - for standard input"
    )
    p.add_argument(
        "--vantage",
        required=True,
        help="vantage name from the inventory (`-v NAME` still works, deprecated)",
    )
    p.add_argument(
        "--max-probes",
        type=_positive,
        help="the most probes this run may send (the inventory's scope.max_probes still "
        "applies; above 10,000,000 only this flag allows it)",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [*args.inventories, *args.more_inventories]
    if not paths:
        raise UsageError("validate: give one or more inventory files (or - for stdin)")
    problems: list[Problem] = []
    known = _known_controls()
    today = datetime.now(UTC).date()
    checked: list[dict[str, Any]] = []
    lines: list[str] = []
    for path in paths:
        try:
            loaded = load_inventory(path, known_controls=known)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        inv = loaded.inventory
        nets = sum(len(e.networks) for e in inv.production().values())
        notes = [*loaded.notices, *advice.warnings(inv, today)]
        checked.append(
            {
                "file": str(loaded.path),
                "sha256": loaded.sha256,
                "name": inv.name,
                "environments": len(inv.environments),
                "production_networks": nets,
                "vantages": len(inv.vantages),
                "allowed_flows": len(inv.policy.allowed_flows),
                "waivers": len(inv.policy.waivers),
                "notices": notes,
            }
        )
        if args.quiet:
            continue
        lines.append(
            f"ok: {loaded.path}: '{inv.name}', {len(inv.environments)} environments, {nets} "
            f"production networks, {len(inv.vantages)} vantages, "
            f"{len(inv.policy.allowed_flows)} allowed flows, {len(inv.policy.waivers)} waivers"
        )
        lines += [f"  {n if n.startswith('warning:') else 'notice: ' + n}" for n in notes]
    if problems:
        raise InputError(problems)
    _emit(args, {"valid": checked}, "\n".join(lines))
    return EXIT_OK


def _positive(text: str) -> int:
    """A probe count: a whole number of at least 1 (argparse turns the error into exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a probe count: give 1 or more")
    return value


def _known_controls(checks: Path | None = None) -> dict[str, object] | None:
    """The catalogue's control ids, to check waivers against; None when no catalogue is here."""
    from .controls import load_catalogue
    from .runner import find_checks

    try:
        folder = find_checks(checks)
    except ProdwallError:
        return None
    catalogue = folder / "controls.yaml"
    return dict(load_catalogue(catalogue)) if catalogue.is_file() else None


def _load(args: argparse.Namespace) -> LoadedInventory:
    checks = getattr(args, "checks", None)
    return load_inventory(args.inventory, known_controls=_known_controls(checks))


def _plan(args: argparse.Namespace, loaded: LoadedInventory | None = None) -> Plan:
    loaded = loaded or _load(args)
    return build_plan(loaded.inventory, args.vantage, datetime.now(UTC).date(), args.max_probes)


def _public_networks(plan: Plan) -> list[str]:
    """Production networks in public address space (their route probes name them all)."""
    return [str(n) for n in plan.production if effective(n).is_global]


def _sweep_seconds(plan: Plan) -> float:
    packets = sum(p.count for p in plan.probes if p.kind in ("tcp", "udp", "icmp", "control"))
    rate = plan.probing.rate
    return packets * (1 + plan.probing.retries) / max(rate, 1) + plan.probing.wait_seconds


def _unported(plan: Plan, inv: Inventory) -> list[str]:
    """What of each production network gets no port probe: said, not left to be assumed."""
    if plan.probing.sweep_networks:
        return []
    ported = {p.target for p in plan.probes if p.kind in ("tcp", "udp")}
    out = []
    for env in inv.production().values():
        for net in env.networks:
            probed = sorted({a for a in ported if "/" not in a and ipaddress.ip_address(a) in net})
            rest = net.num_addresses - len(probed)
            if rest > 0:
                out.append(
                    f"production network {net}: {rest:,} addresses get no port probe, only a "
                    f"route check; port probes go to the {len(probed)} declared host "
                    "address(es) in it (probing.sweep_networks: true sweeps every address)"
                )
    return out


def cmd_plan(args: argparse.Namespace) -> int:
    loaded = _load(args)
    plan = _plan(args, loaded)
    warnings = advice.warnings(loaded.inventory, plan.planned_on, args.vantage)
    public = _public_networks(plan)
    unported = _unported(plan, loaded.inventory)
    seconds = _sweep_seconds(plan)
    if args.format == "json":
        rows = [
            {
                "kind": p.kind,
                "target": p.target,
                "protocol": p.protocol,
                "ports": str(p.ports) if p.ports else None,
                "count": p.count,
                "expect": p.expect,
                "environment": p.environment,
                "host": p.host,
                "why": p.why,
            }
            for p in plan.probes
        ]
        _emit(
            args,
            {
                "vantage": plan.vantage_name,
                "public_networks": public,
                "addresses_without_port_probes": unported,
                "estimated_seconds": round(seconds, 1),
                "warnings": warnings,
                "counts": plan.counts,
                "total": plan.total,
                "probes": rows,
            },
            "",
        )
        return EXIT_OK
    out = sys.stdout
    v = plan.vantage
    if public:  # said first: the inventory opted in to probing public address space
        out.write(
            f"PUBLIC address space will be probed (scope.allow_public: true): {', '.join(public)}\n"
        )
    for warning in warnings:
        print(f"prodwall: {warning}", file=sys.stderr)
    out.write(
        f"Plan for '{plan.inventory_name}' from vantage {plan.vantage_name} "
        f"({v.location}, environment {v.environment}). Nothing is sent by `plan`.\n\n"
    )
    out.write(f"{'kind':<14}{'probes':>12}\n")
    for kind, count in plan.counts.items():
        out.write(f"{kind:<14}{count:>12,}\n")
    out.write(f"{'total':<14}{plan.total:>12,}\n")
    out.write(
        f"estimated network sweep time: about {seconds:,.0f} s at {plan.probing.rate:,} "
        f"packets/s (every silent probe sent {1 + plan.probing.retries} times)\n"
    )
    for line in unported:
        out.write(line + "\n")
    out.write("\n")
    if args.quiet:
        return EXIT_OK
    if args.expand:
        for p in plan.probes:
            for address, port in p.expand():
                where = f"{p.protocol}/{port}" if port is not None else (p.protocol or "-")
                out.write(f"{p.kind}\t{address}\t{where}\t{p.expect}\t{p.why}\n")
        return EXIT_OK
    out.write(f"{'kind':<13}{'target':<40}{'proto/ports':<22}{'count':>9}  {'expect':<8}why\n")
    for p in plan.probes:
        ports = f"{p.protocol}/{p.ports}" if p.ports else (p.protocol or "-")
        if len(ports) > 21:
            ports = ports[:18] + "..."
        out.write(f"{p.kind:<13}{p.target:<40}{ports:<22}{p.count:>9,}  {p.expect:<8}{p.why}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    schema = Inventory.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "prodwall inventory"
    json.dump(schema, sys.stdout, indent=1)
    print()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .report.bundle import write_bundle
    from .report.combined import Combined
    from .report.manifest import signer_fingerprint, signing_key_path

    loaded = _load(args)  # read once, here; pytest gets these very bytes
    plan = _plan(args, loaded)  # validate and scope-guard before pytest starts: nothing half-runs
    sign_key = signing_key_path(args.sign_key)
    signer_fingerprint(sign_key)  # a bad key is found now, not after the probes
    if not args.quiet:
        for warning in advice.warnings(loaded.inventory, plan.planned_on, args.vantage):
            print(f"prodwall: {warning}", file=sys.stderr)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-{args.vantage}"
    extra = list(args.pytest_args) + ["-v"] * args.verbose
    results = run_checks(
        loaded,
        args.vantage,
        out,
        args.checks,
        extra,
        args.max_probes,
        quiet=bool(args.quiet) or args.format == "json",
    )
    report = write_bundle(Combined((results,)), out, signing_key=sign_key)
    summary = ", ".join(f"{n} {k}" for k, n in results.summary().items() if n)
    doc = {
        "overall": results.overall.value,
        "exit_code": results.exit_code(),
        "summary": results.summary(),
        "folder": str(out),
        "results": str(out / "results.json"),
        "report": str(report),
        "signed": sign_key is not None,
        "notices": list(results.notices),
    }
    text = f"\nprodwall: {results.overall.value.upper()} ({summary}); report: {report}"
    text += "".join(f"\n  notice: {note}" for note in results.notices)
    _emit(args, doc, text)
    return results.exit_code()


def _bundle_doc(combined: Any, path: Path) -> dict[str, Any]:
    return {
        "overall": combined.overall.value,
        "exit_code": combined.exit_code(),
        "summary": combined.summary(),
        "report": str(path),
    }


def cmd_report(args: argparse.Namespace) -> int:
    from .report.bundle import write_bundle
    from .report.combined import load

    combined = load(args.results)
    path = write_bundle(combined, args.out, signing_key=args.sign_key)
    _emit(
        args,
        _bundle_doc(combined, path),
        f"prodwall: {combined.overall.value.upper()}; report: {path}",
    )
    return combined.exit_code()


def cmd_diff(args: argparse.Namespace) -> int:
    from .report.combined import load
    from .report.compare import comparability, diff, diff_exit_code

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
    from .report.bundle import write_bundle
    from .report.compare import history, history_exit_code

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
    from .report.manifest import keygen

    private, public = keygen(args.out)
    print(f"private key: {private} (keep it secret; set PRODWALL_SIGNING_KEY or --sign-key)")
    print(f"public key:  {public} (give it to whoever verifies: prodwall verify --public-key)")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .report.manifest import verify

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


def cmd_lab(args: argparse.Namespace) -> int:
    from .lab import manager

    def say(message: str) -> None:
        if not args.quiet and args.format == "text":
            print(f"lab: {message}", file=sys.stderr)

    if args.lab_command == "up":
        state = manager.up(args.profile, say)
    elif args.lab_command == "down":
        removed = manager.down(say)
        _emit(args, {"up": False, "removed": removed}, "" if args.quiet else "lab: down")
        return EXIT_OK
    else:
        manager.require_root()
        state = manager.status()
    if not state.up:
        _emit(args, {"up": False}, "lab: down")
        return EXIT_OK
    code = EXIT_OK if state.healthy else 3
    lines = [f"lab: up, profile {state.profile}, {'healthy' if state.healthy else 'DEGRADED'}"]
    lines.append(f"  namespaces: {', '.join(sorted(state.namespaces))}")
    lines += [f"  {'ok  ' if ok else 'DOWN'} {name}" for name, ok in sorted(state.services.items())]
    doc = {
        "up": True,
        "profile": state.profile,
        "healthy": state.healthy,
        "namespaces": sorted(state.namespaces),
        "services": dict(sorted(state.services.items())),
        "exit_code": code,
    }
    _emit(args, doc, "\n".join(lines[:1] if args.quiet else lines))
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from .lab.demo import run_demo

    return run_demo(args.out, keep=args.keep)


def cmd_fingerprint(args: argparse.Namespace) -> int:
    key = load_key(args.key_file)
    secret = sys.stdin.buffer.read().rstrip(b"\r\n")
    if not secret:
        raise ProdwallError("no secret on standard input; pipe it in, e.g. from your vault CLI")
    print(fingerprint(secret, key))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

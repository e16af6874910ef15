"""The `prodwall` command. Exit codes: 0 all blocked, 1 something reachable,
2 bad input or usage, 3 inconclusive (or nothing reviewed)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .errors import EXIT_OK, EXIT_USAGE, InputError, Problem, ProdwallError
from .fingerprint import fingerprint, load_key
from .inventory import load_inventory
from .inventory.model import Inventory
from .plan import Plan, build_plan
from .runner import run_checks
from .scope import effective

EPILOG = "exit codes: 0 all blocked, 1 something reachable, 2 bad input or usage, 3 inconclusive"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ProdwallError as exc:
        print(f"prodwall: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # `prodwall plan | head`: the reader left; that is not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        print("prodwall: interrupted", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prodwall",
        description="Prove that test and dev environments cannot reach production.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"prodwall {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check inventory files; run nothing", epilog=EPILOG)
    v.add_argument("inventories", nargs="+", metavar="INVENTORY")
    v.set_defaults(func=cmd_validate)

    pl = sub.add_parser(
        "plan", help="show every probe a run would send; send nothing", epilog=EPILOG
    )
    _inv_args(pl)
    pl.add_argument("--format", choices=["text", "json"], default="text")
    pl.add_argument(
        "--expand",
        action="store_true",
        help="one line per single probe (address, port) instead of per group",
    )
    pl.set_defaults(func=cmd_plan)

    s = sub.add_parser("schema", help="print the inventory JSON Schema (for editors)")
    s.set_defaults(func=cmd_schema)

    r = sub.add_parser("run", help="run the checks from a vantage and write results", epilog=EPILOG)
    _inv_args(r)
    r.add_argument("--out", type=Path, help="output folder (default reports/UTC-TIME-VANTAGE)")
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
        epilog=EPILOG,
    )
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    lab_up = lab_sub.add_parser("up", help="bring the lab up (idempotent)")
    lab_up.add_argument("--profile", choices=["sealed", "leaky"], default="sealed")
    lab_sub.add_parser("down", help="remove every namespace, process and file of the lab")
    lab_sub.add_parser("status", help="what is up")
    lab.set_defaults(func=cmd_lab)

    d = sub.add_parser(
        "demo",
        help="the lab in each profile, the whole suite from dev and test, reports and "
        "a summary (root)",
        epilog="exit codes: 0 sealed lab proven and every checkable planted leak found, "
        "1 otherwise, 2 usage (e.g. not root)",
    )
    d.add_argument("--out", type=Path, default=Path("reports") / "demo")
    d.add_argument("--keep", action="store_true", help="leave the last (leaky) lab up")
    d.set_defaults(func=cmd_demo)

    rp = sub.add_parser(
        "report",
        help="render the HTML report, JUnit, OSCAL and a signed manifest from results",
        epilog=EPILOG,
    )
    rp.add_argument("results", nargs="+", type=Path, help="results.json, merged.json or run folder")
    _report_out_args(rp)
    rp.set_defaults(func=cmd_report)

    mg = sub.add_parser(
        "merge",
        help="combine the results of several vantages or runs into "
        "one report (same as report with several inputs)",
        epilog=EPILOG,
    )
    mg.add_argument("results", nargs="+", type=Path)
    _report_out_args(mg)
    mg.set_defaults(func=cmd_report)

    df = sub.add_parser(
        "diff",
        help="what became reachable, was fixed or became inconclusive",
        epilog="exit codes: 0 nothing became reachable, 1 something did, 2 usage",
    )
    df.add_argument("old", type=Path)
    df.add_argument("new", type=Path)
    df.set_defaults(func=cmd_diff)

    hi = sub.add_parser(
        "history",
        help="summarise a period of nightly runs (operating "
        "effectiveness) into a report with a trend chart",
        epilog=EPILOG,
    )
    hi.add_argument("folder", type=Path)
    _report_out_args(hi)
    hi.set_defaults(func=cmd_history)

    kg = sub.add_parser("keygen", help="make an Ed25519 key pair for signing manifests")
    kg.add_argument(
        "--out",
        type=Path,
        default=Path("prodwall-signing"),
        help="path stem: writes STEM.key (keep secret) and STEM.pub",
    )
    kg.set_defaults(func=cmd_keygen)

    vf = sub.add_parser(
        "verify",
        help="check a report folder's hashes and signature",
        epilog="exit codes: 0 intact, 1 a file changed or the signature is wrong, 2 usage",
    )
    vf.add_argument("folder", type=Path)
    vf.add_argument("--public-key", type=Path, help="the signer's public key you trust")
    vf.set_defaults(func=cmd_verify)

    f = sub.add_parser(
        "fingerprint",
        help="HMAC-SHA-256 fingerprint of a secret read from stdin, for the inventory's secrets",
    )
    f.add_argument("--key-file", help="key file (default: $PRODWALL_FINGERPRINT_KEY)")
    f.set_defaults(func=cmd_fingerprint)
    return p


def _report_out_args(p: argparse.ArgumentParser) -> None:
    """Where a report goes and the key that signs its manifest."""
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")


def _inv_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inventory", "-i", required=True, type=Path)
    p.add_argument("--vantage", "-v", required=True, help="vantage name from the inventory")
    p.add_argument(
        "--max-probes",
        type=_positive,
        help="the most probes this run may send (the inventory's scope.max_probes still "
        "applies; above 10,000,000 only this flag allows it)",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    for path in args.inventories:
        try:
            loaded = load_inventory(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        inv = loaded.inventory
        nets = sum(len(e.networks) for e in inv.production().values())
        print(
            f"ok: {path}: '{inv.name}', {len(inv.environments)} environments, {nets} "
            f"production networks, {len(inv.vantages)} vantages, "
            f"{len(inv.policy.allowed_flows)} allowed flows, {len(inv.policy.waivers)} waivers"
        )
        for note in loaded.notices:
            print(f"  notice: {note}")
    if problems:
        raise InputError(problems)
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


def _plan(args: argparse.Namespace) -> Plan:
    loaded = load_inventory(args.inventory)
    return build_plan(loaded.inventory, args.vantage, datetime.now(UTC).date(), args.max_probes)


def _public_networks(plan: Plan) -> list[str]:
    """Production networks in public address space (their route probes name them all)."""
    return [
        p.target
        for p in plan.of_kind("route")
        if effective(ipaddress.ip_network(p.target)).is_global
    ]


def cmd_plan(args: argparse.Namespace) -> int:
    plan = _plan(args)
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
        json.dump(
            {
                "vantage": plan.vantage_name,
                "counts": plan.counts,
                "total": plan.total,
                "probes": rows,
            },
            sys.stdout,
            indent=1,
        )
        print()
        return EXIT_OK
    out = sys.stdout
    v = plan.vantage
    public = _public_networks(plan)
    if public:  # said first: the inventory opted in to probing public address space
        out.write(
            f"PUBLIC address space will be probed (scope.allow_public: true): {', '.join(public)}\n"
        )
    out.write(
        f"Plan for '{plan.inventory_name}' from vantage {plan.vantage_name} "
        f"({v.location}, environment {v.environment}). Nothing is sent by `plan`.\n\n"
    )
    out.write(f"{'kind':<14}{'probes':>12}\n")
    for kind, count in plan.counts.items():
        out.write(f"{kind:<14}{count:>12,}\n")
    out.write(f"{'total':<14}{plan.total:>12,}\n")
    packets = sum(p.count for p in plan.probes if p.kind in ("tcp", "udp", "icmp", "control"))
    rate = plan.probing.rate
    seconds = packets * (1 + plan.probing.retries) / max(rate, 1) + plan.probing.wait_seconds
    out.write(
        f"estimated network sweep time: about {seconds:,.0f} s at {rate:,} packets/s "
        f"(every silent probe sent {1 + plan.probing.retries} times)\n\n"
    )
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
    _plan(args)  # validate and scope-guard before pytest starts: nothing half-runs
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-{args.vantage}"
    results = run_checks(
        args.inventory, args.vantage, out, args.checks, args.pytest_args, args.max_probes
    )
    summary = ", ".join(f"{n} {k}" for k, n in results.summary().items() if n)
    print(
        f"\nprodwall: {results.overall.value.upper()} ({summary}); results: {out / 'results.json'}"
    )
    for note in results.notices:
        print(f"  notice: {note}")
    return results.exit_code()


def cmd_report(args: argparse.Namespace) -> int:
    from .report.bundle import write_bundle
    from .report.combined import load

    combined = load(args.results)
    path = write_bundle(combined, args.out, signing_key=args.sign_key)
    print(f"prodwall: {combined.overall.value.upper()}; report: {path}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .report.combined import load
    from .report.compare import diff

    changes = diff(load([args.old]), load([args.new]))
    for ch in changes:
        print(f"{ch.kind:<20} {ch.vantage:<10} {ch.check}: {ch.before} -> {ch.after} ({ch.reason})")
    kinds = [ch.kind for ch in changes]
    print(
        f"{kinds.count('became-reachable')} became reachable, {kinds.count('fixed')} fixed, "
        f"{kinds.count('became-inconclusive')} became inconclusive, {len(changes)} changes"
    )
    return 1 if "became-reachable" in kinds else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from .report.bundle import write_bundle
    from .report.compare import history

    latest, summary = history(args.folder)
    path = write_bundle(latest, args.out, history=summary, signing_key=args.sign_key)
    print(
        f"{summary['nights_run']} nights from {summary['from']} to {summary['to']}, "
        f"{summary['nights_blocked']} fully blocked, {len(summary['findings'])} findings; "
        f"report: {path}"
    )
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    from .report.manifest import keygen

    private, public = keygen(args.out)
    print(f"private key: {private} (keep it secret; set PRODWALL_SIGNING_KEY or --sign-key)")
    print(f"public key:  {public} (give it to whoever verifies: prodwall verify --public-key)")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .report.manifest import verify

    result = verify(args.folder, args.public_key)
    for name in result.changed:
        print(f"CHANGED  {name}")
    for name in result.missing:
        print(f"MISSING  {name}")
    for name in result.unlisted:
        print(f"UNLISTED {name}")
    print(f"signature: {result.signature}")
    print("intact" if result.ok else "NOT intact")
    return EXIT_OK if result.ok else 1


def cmd_lab(args: argparse.Namespace) -> int:
    from .lab import manager

    def say(message: str) -> None:
        print(f"lab: {message}", file=sys.stderr)

    if args.lab_command == "up":
        state = manager.up(args.profile, say)
    elif args.lab_command == "down":
        manager.down(say)
        return EXIT_OK
    else:
        manager.require_root()
        state = manager.status()
    if not state.up:
        print("lab: down")
        return EXIT_OK
    print(f"lab: up, profile {state.profile}, {'healthy' if state.healthy else 'DEGRADED'}")
    print(f"  namespaces: {', '.join(sorted(state.namespaces))}")
    for name, ok in sorted(state.services.items()):
        print(f"  {'ok  ' if ok else 'DOWN'} {name}")
    return EXIT_OK if state.healthy else 3


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

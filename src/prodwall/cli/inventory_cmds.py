"""validate, plan and schema: the commands that read an inventory and send nothing."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prodwall.cli.output import UsageError, _emit
from prodwall.errors import EXIT_OK, InputError, Problem, ProdwallError
from prodwall.inventory import advice, load_inventory
from prodwall.inventory.loader import LoadedInventory
from prodwall.inventory.model import Inventory
from prodwall.plan import Plan
from prodwall.planning import RUNNER, build_plan, runner_plan
from prodwall.scope import effective


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
        refused = _plan_refusals(loaded, today)
        if refused:  # what `plan` and `run` would refuse is refused here: one code path
            problems.extend(refused)
            continue
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


def _plan_refusals(loaded: LoadedInventory, today: Any) -> list[Problem]:
    """Each vantage's plan (and the runner's) through the scope guard, as `plan` builds
    it: a refusal is a problem at that vantage's line, so a PR check fails as the
    nightly run would."""
    from prodwall.errors import ScopeError
    from prodwall.yaml_source import parse_yaml

    inv = loaded.inventory
    out: list[tuple[tuple[str, ...], str]] = []
    for name in [*inv.vantages, *([None] if inv.aws is not None else [])]:
        loc = ("vantages", name) if name is not None else ("aws",)
        try:
            if name is None:
                runner_plan(inv, today)  # what `prodwall cloud` reads from the runner
            else:
                build_plan(inv, name, today)
        except ScopeError as exc:
            out += [(loc, r) for r in exc.refusals]
    if not out:
        return []
    doc = parse_yaml(loaded.raw, str(loaded.path))  # for the lines only
    return [
        Problem(str(loaded.path), doc.line_of(loc), ".".join(loc),
                f"the scope guard would refuse the plan: {refusal}",
                "correct the inventory so that `prodwall plan` accepts it")
        for loc, refusal in out
    ]  # fmt: skip


def _known_controls(checks: Path | None = None) -> dict[str, object] | None:
    """The catalogue's control ids, to check waivers against; None when no catalogue is here."""
    from prodwall.controls import load_catalogue
    from prodwall.runner import find_checks

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
    today = datetime.now(UTC).date()
    if getattr(args, "from_runner", False):
        if args.vantage:
            raise UsageError("give --vantage NAME or --from-runner, not both")
        return runner_plan(loaded.inventory, today)
    if not args.vantage:
        raise UsageError("give --vantage NAME (a vantage of the inventory), or --from-runner")
    return build_plan(loaded.inventory, args.vantage, today, args.max_probes)


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
    warnings = advice.warnings(loaded.inventory, plan.planned_on, args.vantage or "")
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
    where = (
        "the runner itself (read-only AWS API calls through each account's audit role)"
        if plan.vantage_name == RUNNER
        else f"vantage {plan.vantage_name} ({v.location}, environment {v.environment})"
    )
    out.write(f"Plan for '{plan.inventory_name}' from {where}. Nothing is sent by `plan`.\n\n")
    wide = max((len(k) for k in plan.counts), default=4) + 2
    out.write(f"{'kind':<{wide}}{'probes':>12}\n")
    for kind, count in plan.counts.items():
        out.write(f"{kind:<{wide}}{count:>12,}\n")
    out.write(f"{'total':<{wide}}{plan.total:>12,}\n")
    if plan.vantage_name == RUNNER:
        unported = []  # no packets from the runner: API reads only
    else:
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
    kw = max((len(p.kind) for p in plan.probes), default=4) + 2
    tw = min(max((len(p.target) for p in plan.probes), default=6), 72) + 2
    out.write(f"{'kind':<{kw}}{'target':<{tw}}{'proto/ports':<22}{'count':>9}  {'expect':<8}why\n")
    for p in plan.probes:
        ports = f"{p.protocol}/{p.ports}" if p.ports else (p.protocol or "-")
        if len(ports) > 21:
            ports = ports[:18] + "..."
        target = p.target if len(p.target) <= tw - 2 else p.target[: tw - 5] + "..."
        out.write(f"{p.kind:<{kw}}{target:<{tw}}{ports:<22}{p.count:>9,}  {p.expect:<8}{p.why}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    schema = Inventory.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "prodwall inventory"
    json.dump(schema, sys.stdout, indent=1)
    print()
    return EXIT_OK

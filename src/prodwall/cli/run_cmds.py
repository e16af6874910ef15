"""run, hosts and cloud: the commands that probe, and write the whole bundle."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from prodwall.cli.inventory_cmds import _load, _plan
from prodwall.cli.output import _emit
from prodwall.errors import InputError, Problem
from prodwall.inventory import advice
from prodwall.inventory.loader import LoadedInventory
from prodwall.runner import HostsRun, RunnerRun, run_checks


def cmd_hosts(args: argparse.Namespace) -> int:
    """The host checks across testinfra's hosts; the same bundle as `run`."""
    loaded = _load(args)
    hosts = HostsRun(
        args.hosts,
        args.ansible_inventory,
        args.ssh_config,
        args.ssh_identity_file,
        args.sudo,
        args.workers,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-hosts"
    return _run_and_report(args, loaded, "", out, hosts)


def cmd_cloud(args: argparse.Namespace) -> int:
    """The cloud configuration proof from the runner; the same bundle as `run`."""
    from prodwall.planning import runner_plan

    loaded = _load(args)
    plan = runner_plan(loaded.inventory, datetime.now(UTC).date())
    if not plan.probes:
        raise InputError([Problem(
            str(loaded.path), None, "environments.*.cloud.aws_accounts",
            "no environment lists an AWS account: there is no estate to read",
            "list each environment's accounts under cloud.aws_accounts")])
    if not loaded.inventory.aws.audit_role:
        raise InputError([Problem(
            str(loaded.path), None, "aws.audit_role",
            "not set: the configuration proof reads every account through a read-only role",
            "name the role prodwall assumes in each listed account, e.g. "
            "aws: {audit_role: prodwall-audit}")])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-cloud"
    return _run_and_report(args, loaded, "", out, RunnerRun())


def cmd_run(args: argparse.Namespace) -> int:
    from prodwall.report.manifest import signer_fingerprint, signing_key_path

    loaded = _load(args)  # read once, here; pytest gets these very bytes
    plan = _plan(args, loaded)  # validate and scope-guard before pytest starts: nothing half-runs
    signer_fingerprint(signing_key_path(args.sign_key))  # a bad key is found before probing
    if not args.quiet:
        for warning in advice.warnings(loaded.inventory, plan.planned_on, args.vantage):
            print(f"prodwall: {warning}", file=sys.stderr)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or Path("reports") / f"{stamp}-{args.vantage}"
    return _run_and_report(args, loaded, args.vantage, out, None)


def _run_and_report(
    args: argparse.Namespace,
    loaded: LoadedInventory,
    vantage: str,
    out: Path,
    hosts: HostsRun | RunnerRun | None,
) -> int:
    from prodwall.report.bundle import write_bundle
    from prodwall.report.bundlefs import check_out, staged
    from prodwall.report.combined import Combined
    from prodwall.report.manifest import sha256_file, signer_fingerprint, signing_key_path
    from prodwall.vantages import via

    sign_key = signing_key_path(args.sign_key)
    signer_fingerprint(sign_key)  # a bad key is found now, not after the probes
    check_out(out, getattr(args, "force", False))  # so is an --out that would be refused
    # the way to the vantage (or testinfra's hosts), as declared: entered, or refused
    # before anything is sent
    declared = loaded.inventory.vantages.get(vantage)
    if isinstance(hosts, HostsRun):
        way = via.for_hosts(loaded.inventory.vantages, hosts.hosts, args.via)
        inside = via.wrapper(f"--hosts {hosts.hosts}", way)
    elif declared is not None:
        inside = via.for_run(vantage, declared.location, declared.via)
    else:
        inside = ()
    extra = list(args.pytest_args) + ["-v"] * args.verbose
    if getattr(args, "rate_share", 1) > 1:
        extra += ["--rate-share", str(args.rate_share)]
    # the run writes into a private folder beside --out, renamed into place only when its
    # bundle is whole: an interrupted run leaves nothing that looks like evidence
    with staged(out, getattr(args, "force", False)) as stage:
        results = run_checks(
            loaded,
            vantage,
            stage,
            args.checks,
            extra,
            getattr(args, "max_probes", None),
            quiet=bool(args.quiet) or args.format == "json",
            inside=inside,
            hosts=hosts,
        )
        write_bundle(Combined((results,)), stage, signing_key=sign_key)
    report = out / "report.html"
    summary = ", ".join(f"{n} {k}" for k, n in results.summary().items() if n)
    coverage = results.coverage()
    doc = {
        "overall": results.overall.value,
        "coverage": {"partial": coverage.partial, "missing": coverage.missing()},
        "exit_code": results.exit_code(),
        "summary": results.summary(),
        "folder": str(out),
        "results": str(out / "results.json"),
        "report": str(report),
        "signed": sign_key is not None,
        # what `prodwall fleet` checks the fetched copy against
        "manifest_sha256": sha256_file(out / "manifest.json"),
        "notices": list(results.notices),
    }
    headline = (
        "PARTIAL"
        if results.exit_code() == 3 and coverage.partial
        else (results.overall.value.upper())
    )
    text = f"\nprodwall: {headline} ({summary}); report: {report}"
    if coverage.partial:
        text += f"\n  not covered: {coverage.missing()}"
    text += "".join(f"\n  notice: {note}" for note in results.notices)
    _emit(args, doc, text)
    return results.exit_code()

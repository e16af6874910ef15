"""The command line's shape: every command, its options and its exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path

from prodwall import __version__
from prodwall.cli.arguments import (
    _common,
    _force_arg,
    _inv_args,
    _inventory_arg,
    _positive,
    _report_out_args,
    _trust_args,
    _via,
)
from prodwall.cli.exit_codes import EPILOG, EXITS
from prodwall.cli.fleet_cmds import cmd_ci, cmd_fleet, cmd_zipapp
from prodwall.cli.inventory_cmds import cmd_plan, cmd_schema, cmd_validate
from prodwall.cli.lab_cmds import cmd_demo, cmd_fingerprint, cmd_lab
from prodwall.cli.output import _Parser
from prodwall.cli.report_cmds import cmd_diff, cmd_history, cmd_keygen, cmd_report, cmd_verify
from prodwall.cli.run_cmds import cmd_cloud, cmd_hosts, cmd_run


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
    _inv_args(pl, vantage_required=False)
    pl.add_argument(
        "--from-runner",
        action="store_true",
        help="the proofs `prodwall cloud` reads from the runner (instead of --vantage)",
    )
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
    r.add_argument("--checks", type=Path, help="folder of checks (default: the built-in ones)")
    r.add_argument(
        "--sign-key",
        type=Path,
        help="Ed25519 key to sign the manifest (default $PRODWALL_SIGNING_KEY)",
    )
    r.add_argument(
        "--rate-share",
        type=_positive,
        default=1,
        help="this run is one of N vantages sending at once (set by `prodwall fleet`): "
        "with probing.rate_scope: shared, it sends at rate/N",
    )
    _force_arg(r)
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    r.set_defaults(func=cmd_run)

    h = command(
        "hosts",
        "run the host checks across hosts (testinfra's --hosts: ssh://, paramiko://, "
        "ansible://GROUP with --ansible-inventory), in parallel with -n, and write the bundle",
    )
    _inventory_arg(h)
    h.add_argument(
        "--hosts",
        required=True,
        help="testinfra host spec: ssh://user@host,paramiko://host or ansible://GROUP",
    )
    h.add_argument("--ansible-inventory", help="the Ansible inventory for ansible:// hosts")
    h.add_argument("--ssh-config", help="ssh_config for ssh:// and paramiko:// hosts")
    h.add_argument("--ssh-identity-file", help="the key for ssh:// and paramiko:// hosts")
    h.add_argument("--sudo", action="store_true", help="read the hosts with sudo -n")
    h.add_argument(
        "--via",
        type=_via,
        metavar="netns:NAME",
        help="reach the hosts only from inside this network namespace (default: the `via` of "
        "the inventory vantages that are these hosts)",
    )
    h.add_argument(
        "-n", "--workers", type=_positive, default=1, help="hosts checked in parallel (xdist)"
    )
    h.add_argument("--out", "-o", type=Path, help="output folder (default reports/UTC-hosts)")
    h.add_argument("--checks", type=Path, help="folder of checks (default: the built-in ones)")
    h.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")
    _force_arg(h)
    h.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    h.set_defaults(func=cmd_hosts)

    c = command(
        "cloud",
        "read the AWS estate from the runner through each account's read-only audit role "
        "(network paths, trust, stored strings) and write the bundle",
    )
    _inventory_arg(c)
    c.add_argument("--out", "-o", type=Path, help="output folder (default reports/UTC-cloud)")
    c.add_argument("--checks", type=Path, help="folder of checks (default: the built-in ones)")
    c.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")
    _force_arg(c)
    c.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    c.set_defaults(func=cmd_cloud)

    f = command(
        "fleet",
        "run the suite on every host of an Ansible inventory as its own vantage (prodwall "
        "copied there as one file), verify each bundle, merge them into one report",
    )
    _inventory_arg(f)
    f.add_argument("--hosts", required=True, metavar="ANSIBLE_INVENTORY",
                   help="the Ansible inventory of the vantage hosts")  # fmt: skip
    f.add_argument("--limit", "-l", help="an Ansible host pattern (a group, say)")
    f.add_argument(
        "--forks",
        type=_positive,
        help="hosts run at once (default: Ansible's own setting, ansible.cfg or ANSIBLE_FORKS)",
    )
    f.add_argument("--zipapp", type=Path, help="a prodwall.pyz to ship (default: build one)")
    f.add_argument(
        "--pyz-cache", help="where hosts unpack prodwall.pyz (default /var/tmp/prodwall-UID)"
    )
    f.add_argument("--out", "-o", type=Path, help="output folder (default reports/UTC-fleet)")
    f.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")
    _force_arg(f)
    f.set_defaults(func=cmd_fleet)

    z = command("zipapp", "write prodwall as one runnable file (prodwall.pyz) for vantage hosts")
    z.add_argument("--out", "-o", type=Path, default=Path("prodwall.pyz"))
    z.set_defaults(func=cmd_zipapp)

    ci = command(
        "ci",
        "judge tonight's results against last night's for a CI job: fail on newly reachable "
        "findings, expired waivers and lost coverage",
    )
    ci.set_defaults(format="text")
    for option in ci._actions:
        if option.dest == "format":
            option.choices = ["text", "json", "github"]
            option.help = "json: one document; github: workflow annotations and a job summary"
    ci.add_argument("results", type=Path, help="tonight's run or merged folder (or its json)")
    ci.add_argument("--previous", type=Path, help="last night's (a missing path: first night)")
    ci.add_argument(
        "--fail-on",
        choices=["new", "any"],
        default="new",
        help="new: only what last night did not have (default); any: every reachable "
        "finding and every inconclusive verdict",
    )
    ci.add_argument("--summary", type=Path, help="append a Markdown summary here")
    ci.add_argument(
        "--max-age",
        type=_positive,
        default=36,
        metavar="HOURS",
        help="refuse tonight's results if their run finished longer ago than this (default 36)",
    )
    _trust_args(ci)
    ci.set_defaults(func=cmd_ci)

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
    _trust_args(df)
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
        action="append",
        type=Path,
        dest="trusted_keys",
        help="the same as --trusted-keys",
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
    kg.add_argument("--name", default="", help="who holds the key (stated in every manifest)")
    kg.add_argument("--role", default="", help="the holder's role, e.g. 'nightly CI signer'")
    kg.set_defaults(func=cmd_keygen)

    vf = command("verify", "check a report folder's hashes and signature")
    vf.add_argument("folder", type=Path)
    _trust_args(vf, allow=False)
    vf.add_argument(
        "--public-key",
        action="append",
        type=Path,
        dest="trusted_keys",
        help="the signer's public key you trust (the same as --trusted-keys)",
    )
    vf.set_defaults(func=cmd_verify)

    f = command(
        "fingerprint",
        "HMAC-SHA-256 fingerprint of a secret read from stdin, for the inventory's secrets",
        formats=False,
    )
    f.add_argument("--key-file", help="key file (default: $PRODWALL_FINGERPRINT_KEY)")
    f.set_defaults(func=cmd_fingerprint)
    return p

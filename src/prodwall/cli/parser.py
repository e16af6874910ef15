"""The command line's shape: every command, its options and its exit codes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .. import __version__
from .fleet_cmds import cmd_ci, cmd_fleet, cmd_zipapp
from .inventory_cmds import cmd_cloud, cmd_hosts, cmd_plan, cmd_run, cmd_schema, cmd_validate
from .lab_cmds import cmd_demo, cmd_fingerprint, cmd_lab
from .output import _Parser
from .report_cmds import cmd_diff, cmd_history, cmd_keygen, cmd_report, cmd_verify

EPILOG = "exit codes: 0 all blocked, 1 something reachable, 2 bad input or usage, 3 inconclusive"
RESULTS_EPILOG = (
    "exit codes: 0 every reviewed check blocked (or waived) and nothing left uncovered, "
    "1 something reachable, 2 bad input or usage, 3 inconclusive, nothing reviewed, or "
    "partial (a planned family not run, a mapped requirement without a reviewed check)"
)
EXITS = {
    "validate": "exit codes: 0 every inventory is valid, 2 a problem (each named with file, "
    "line, field and fix)",
    "plan": "exit codes: 0 the plan was printed (nothing is sent), 2 bad input, an unknown "
    "vantage or a scope-guard refusal",
    "schema": "exit codes: 0",
    "run": RESULTS_EPILOG,
    "hosts": RESULTS_EPILOG,
    "cloud": RESULTS_EPILOG,
    "fleet": RESULTS_EPILOG + " (over every intended vantage: one that returned no verified "
    "run is inconclusive, so 3 unless something is reachable)",
    "zipapp": "exit codes: 0 written, 2 usage",
    "ci": "exit codes: 0 nothing newly reachable, no expired waiver, no coverage lost; "
    "1 a newly reachable finding or an expired waiver (--fail-on any: any reachable "
    "finding); 3 coverage lost: a check newly inconclusive or no longer run, or a fleet "
    "vantage not covered (--fail-on any: any inconclusive verdict); 2 usage",
    "report": RESULTS_EPILOG + " (judged from the results given)",
    "merge": RESULTS_EPILOG + " (judged from all results given)",
    "history": "exit codes: the last night decides: 0 all blocked, 1 something reachable, "
    "3 inconclusive or nothing reviewed; 3 also when the last night is flagged (a vantage "
    "missing, a duplicate run) or any night's files were tampered with; 2 usage",
    "diff": "exit codes: 0 nothing newly reachable, inconclusive or unchecked; 1 something "
    "became reachable (a new check that is reachable included); 3 something became "
    "inconclusive or is no longer checked; 2 usage",
    "verify": "exit codes: 0 intact and signed by a trusted key (each copied run too, by a "
    "trusted key or one the trusted signer vouched for); 1 a file changed, vanished or "
    "appeared, a link or special file, a cited capture missing, a report that does not "
    "render these results, a missing manifest, or a signature that is absent, invalid or "
    "by an untrusted key when a trusted key was given; 3 the files are intact but no "
    "trusted key was given to check who signed them; 2 usage or unreadable input",
    "keygen": "exit codes: 0 written, 2 usage (an existing key is never overwritten)",
    "fingerprint": "exit codes: 0 printed, 2 no key or no secret",
    "lab": "exit codes: 0 done (status: healthy or down), 2 usage (e.g. not root), "
    "3 status: the lab is up but degraded",
    "demo": "exit codes: 0 sealed lab proven and every checkable planted leak found, "
    "1 otherwise, 2 usage (e.g. not root)",
}


# Commands where `-v NAME` used to mean the vantage (now --vantage; -v is verbose).
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


def _report_out_args(p: argparse.ArgumentParser) -> None:
    """Where a report goes and the key that signs its manifest."""
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder (new or empty)")
    p.add_argument("--sign-key", type=Path, help="Ed25519 key (default $PRODWALL_SIGNING_KEY)")
    _force_arg(p)
    _trust_args(p)


def _force_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a non-empty --out whole (it is otherwise refused)",
    )


def _trust_args(p: argparse.ArgumentParser, allow: bool = True) -> None:
    """The keys whose signatures make an input bundle evidence."""
    p.add_argument(
        "--trusted-keys",
        action="append",
        type=Path,
        default=[],
        metavar="KEY.pub",
        help="a public key file (or a folder of *.pub) whose signatures you trust; "
        "repeatable; also $PRODWALL_TRUSTED_KEYS and the public half of --sign-key",
    )
    if allow:
        p.add_argument(
            "--allow-unverified",
            action="store_true",
            help="read inputs that do not verify against a trusted key, marked UNVERIFIED "
            "on the report's first screen (exit at least 3)",
        )


def _inventory_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--inventory", "-i", required=True, help="inventory YAML file, or - for standard input"
    )


def _inv_args(p: argparse.ArgumentParser, vantage_required: bool = True) -> None:
    _inventory_arg(p)
    p.add_argument(
        "--vantage",
        required=vantage_required,
        help="vantage name from the inventory (`-v NAME` still works, deprecated)",
    )
    p.add_argument(
        "--max-probes",
        type=_positive,
        help="the most probes this run may send (the inventory's scope.max_probes still "
        "applies; above 10,000,000 only this flag allows it)",
    )


def _via(text: str) -> str:
    if not re.fullmatch(r"netns:[A-Za-z0-9_.-]{1,64}", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not netns:NAME")
    return text


def _positive(text: str) -> int:
    """A probe count: a whole number of at least 1 (argparse turns the error into exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a probe count: give 1 or more")
    return value

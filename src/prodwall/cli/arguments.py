"""The options commands share, and the argument types they check."""

from __future__ import annotations

import argparse
import re
from pathlib import Path


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

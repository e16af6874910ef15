"""What every command shares: usage errors that can be JSON, and one way to print a result."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from prodwall.errors import ProdwallError
from prodwall.textsafe import escaped


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors can be JSON under --format json."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(ProdwallError):
    pass


def escape_for_terminal(text: str, keep_newlines: bool = True) -> str:
    """Text for a terminal or a CI log: control characters escaped (textsafe.py); newlines
    are kept only where prodwall itself put them."""
    return escaped(text, keep_newlines)


def one_line(text: object) -> str:
    """A value from a bundle or a host, on one line: it can start no line of its own."""
    return escape_for_terminal(str(text), keep_newlines=False)


def _emit(args: argparse.Namespace, doc: dict[str, Any], text: str) -> None:
    """One result, as JSON (one document on stdout) or as text (control characters
    escaped: names and findings come from inventories, hosts and bundles)."""
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=1, default=str)
        print()
    elif text:
        text = escape_for_terminal(text)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")

"""What every command shares: usage errors that can be JSON, and one way to print a result."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, NoReturn

from ..errors import ProdwallError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors can be JSON under --format json."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(ProdwallError):
    pass


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def escape_for_terminal(text: str, keep_newlines: bool = True) -> str:
    """Text for a terminal or a CI log: every control character (ESC for screen
    clearing and window titles, CR for overwriting a line, C1 controls) as a visible
    \\xNN escape. Newlines are kept only where prodwall itself put them."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return out if keep_newlines else out.replace("\n", "\\x0a")


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

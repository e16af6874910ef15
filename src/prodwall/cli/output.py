"""What every command shares: usage errors that can be JSON, and one way to print a result."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from ..errors import ProdwallError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors can be JSON under --format json."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(ProdwallError):
    pass


def _emit(args: argparse.Namespace, doc: dict[str, Any], text: str) -> None:
    """One result, as JSON (one document on stdout) or as text."""
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=1, default=str)
        print()
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")

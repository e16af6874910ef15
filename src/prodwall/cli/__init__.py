"""The `prodwall` command.

Exit codes, per command, are in each command's --help, in the README and in docs/report.md:
`run`, `report`, `merge` and `history` share one table (0 all blocked, 1 something
reachable, 2 bad input or usage, 3 inconclusive, nothing reviewed or partial); `diff`,
`verify`, `validate`, `plan`, `lab` and `demo` say what theirs mean.
Every command that prints results takes `--format json`; errors are JSON then too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from prodwall.cli.output import UsageError, escape_for_terminal
from prodwall.cli.parser import _parser
from prodwall.errors import EXIT_OK, EXIT_USAGE, ProdwallError

_VANTAGE_COMMANDS = ("plan", "run")
# Commands that read bundles someone else wrote: whatever those hold, they end in a
# clear error (exit 2), never a traceback and never exit 1 ("something reachable").
_READERS = ("report", "merge", "diff", "history", "ci", "verify")
_MALFORMED = (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    try:
        argv = _deprecated_vantage_flag(argv)
        args = _parser().parse_args(argv)
        try:
            code: int = args.func(args)
        except OSError as exc:  # a path given cannot be read or written: say which
            where = f": {exc.filename}" if exc.filename else ""
            raise UsageError(
                f"{args.command}: {exc.strerror or exc}{where} (check the paths given)"
            ) from None
        except _MALFORMED as exc:
            if args.command not in _READERS:
                raise
            raise MalformedInput(
                f"{args.command}: the input is malformed and was not used "
                f"({type(exc).__name__}: {_brief(exc)}); re-create it with prodwall"
            ) from None
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


class MalformedInput(ProdwallError):
    """A results, manifest or bundle file that cannot be what prodwall wrote."""


def _brief(exc: BaseException) -> str:
    text = "maximum nesting exceeded" if isinstance(exc, RecursionError) else str(exc)
    return escape_for_terminal(" ".join(text.split()))[:300]


def _wants_json(argv: list[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairs)


def _error(exc: ProdwallError, as_json: bool) -> None:
    if not as_json:
        print(f"prodwall: {escape_for_terminal(str(exc), keep_newlines=True)}", file=sys.stderr)
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

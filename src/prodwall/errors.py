"""prodwall's exception tree.

Every error a user can cause names the object it is about and the fix, and
carries a CLI exit code, so the CLI can stop cleanly without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_REACHABLE = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, which field, what, and the fix."""

    file: str
    line: int | None
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        end = "" if self.message.endswith((".", "?")) else "."
        return f"{where}:{field} {self.message}{end}{fix}"


class ProdwallError(Exception):
    """Base of every error prodwall raises on purpose."""

    exit_code = EXIT_USAGE


class InputError(ProdwallError):
    """Bad input (inventory, controls catalogue, options): nothing was run."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found, nothing was run"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InventoryError(InputError):
    """The inventory cannot be loaded or is inconsistent."""


class ControlsError(InputError):
    """The controls catalogue or the checks' control markers are inconsistent."""


class ScopeError(ProdwallError):
    """The scope guard refused the plan: a probe would leave the declared production scope."""

    def __init__(self, refusals: list[str] | tuple[str, ...]) -> None:
        self.refusals = tuple(refusals)
        super().__init__(
            "scope guard refused the plan, nothing was sent:\n"
            + "\n".join(f"  {r}" for r in self.refusals)
        )


class VantageError(ProdwallError):
    """The vantage is unknown or cannot be used from here."""

"""What a body of results did not cover: planned probe kinds no family ran, and framework
requirements the catalogue maps with no reviewed check. Coverage comes first: a run whose
reviewed checks are all blocked but which left these out is `partial`, never green, in
its headline, its exit code and its JUnit alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prodwall.verdicts import Outcome, Verdict


@dataclass(frozen=True)
class Coverage:
    not_run: tuple[str, ...]  # planned probe kinds with no family to run them
    uncovered: tuple[tuple[str, str, str], ...]  # (framework, requirement, title), no check
    unreviewed_controls: tuple[str, ...]  # catalogue controls with no reviewed verdict

    @property
    def partial(self) -> bool:
        return bool(self.not_run or self.uncovered)

    def missing(self, limit: int = 6) -> str:
        """What is missing, in one clause for the headline."""
        parts = []
        if self.not_run:
            parts.append(f"planned probes no family ran ({', '.join(self.not_run)})")
        if self.uncovered:
            named = ", ".join(f"{r}" for _, r, _ in self.uncovered[:limit])
            more = f" and {len(self.uncovered) - limit} more" if len(self.uncovered) > limit else ""
            parts.append(
                f"{len(self.uncovered)} mapped requirement(s) without a reviewed check "
                f"({named}{more})"
            )
        if self.unreviewed_controls:
            parts.append(f"controls not reviewed: {', '.join(self.unreviewed_controls)}")
        return "; ".join(parts)


def coverage_of(
    verdicts: Iterable[Verdict], catalogue: dict[str, Any], not_run: Iterable[str]
) -> Coverage:
    reviewed = {
        cid for v in verdicts if v.outcome is not Outcome.NOT_REVIEWED for cid in v.controls
    }
    uncovered: dict[tuple[str, str], str] = {}
    covered: set[tuple[str, str]] = set()
    for cid, control in catalogue.items():
        titles = control.get("titles", {})
        for fw, refs in control.get("references", {}).items():
            for ref in refs:
                key = (fw, ref)
                if cid in reviewed:
                    covered.add(key)
                else:
                    uncovered.setdefault(key, titles.get(f"{fw} {ref}", ""))
    gaps = sorted(
        ((fw, ref, title) for (fw, ref), title in uncovered.items() if (fw, ref) not in covered),
        key=lambda t: (t[0], _natural(t[1])),
    )
    return Coverage(
        tuple(sorted(set(not_run))),
        tuple(gaps),
        tuple(sorted(cid for cid in catalogue if cid not in reviewed)),
    )


def _natural(ref: str) -> list[tuple[int, int, str]]:
    """Requirement ids in reading order (1.2.10 after 1.2.9); numbers and words never
    compared with each other (CC6.1 beside CC6.x)."""
    parts = ref.replace("(", ".").replace(")", "").replace("-", ".").split(".")
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]

"""Findings by cause: the reachable (and waived) verdicts grouped by what one fix would
close, most severe first, each with why it matters and the catalogue's remediation.

A cause is one path (a vantage to a production network or domain: every protocol
through it), one leaked secret (its fingerprint, wherever it was found), or one host's
guardrail. The grouping only reads the results; it never recomputes a verdict."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from prodwall.verdicts import Outcome, Verdict

SEVERITY = ("critical", "high", "medium", "low", "")
_FINGERPRINT = re.compile(r"fingerprint ([0-9a-f]{16})")


@dataclass
class Finding:
    key: str
    title: str
    severity: str
    why: str
    remediation: str
    where: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def waived_only(self) -> bool:
        return all(v.outcome is Outcome.WAIVED for v in self.verdicts)


def by_cause(verdicts: tuple[Verdict, ...], catalogue: dict[str, Any]) -> list[Finding]:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    where: dict[str, str] = {}
    for v in verdicts:
        if v.outcome not in (Outcome.REACHABLE, Outcome.WAIVED):
            continue
        key, place = _cause(v, catalogue)
        groups[key].append(v)
        where.setdefault(key, place)
    out = []
    for key, vs in groups.items():
        controls = [catalogue.get(c, {}) | {"id": c} for v in vs for c in v.controls]
        main = min(controls, key=lambda c: SEVERITY.index(c.get("severity", "")))
        out.append(
            Finding(
                key,
                str(main.get("title", main["id"])),
                str(main.get("severity", "")),
                str(main.get("why", "")),
                " ".join(
                    dict.fromkeys(
                        str(c.get("remediation", "")) for c in controls if c.get("remediation")
                    )
                ),
                where[key],
                vs,
            )
        )
    return sorted(
        out,
        key=lambda f: (f.waived_only, SEVERITY.index(f.severity), -len(f.verdicts), f.key),
    )


def _cause(v: Verdict, catalogue: dict[str, Any]) -> tuple[str, str]:
    """The control's catalogue entry says what one cause of it is (`cause:`)."""
    entry: dict[str, Any] = next((catalogue.get(c, {}) for c in v.controls), {})
    family, cause = str(entry.get("family", "")), str(entry.get("cause", "check"))
    if cause == "path":
        return f"path {v.vantage} -> {v.group}", f"from {v.vantage} to {v.group}"
    prints = sorted({m for f in v.findings for m in _FINGERPRINT.findall(f)})
    if cause == "secret" and prints:
        return f"secret {'+'.join(prints)}", f"a secret (fingerprint {', '.join(prints)})"
    return f"{family} {v.vantage} {v.group}", f"{v.vantage}: {v.group}"


def open_first(findings: tuple[str, ...]) -> list[str]:
    """A check's findings with what answered (open services) before refusals and ranges."""
    return sorted(findings, key=lambda f: " open" not in f and "open (" not in f)

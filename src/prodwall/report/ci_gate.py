"""`prodwall ci`: tonight's results against last night's, as a CI job wants them judged.

The job fails (exit 1) on what is new and bad: a reachable finding that last night did
not have (a check that became reachable, or a reachable check with a finding it did not
have), or a waiver that has expired. It fails with 3 when coverage went backwards
(a check became inconclusive or vanished, a fleet vantage returned no verified run).
`strict` fails on every reachable finding and every inconclusive verdict instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from prodwall.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_REACHABLE
from prodwall.report.combined import Combined
from prodwall.report.compare import diff
from prodwall.textsafe import escaped
from prodwall.verdicts import Outcome, Verdict


@dataclass(frozen=True)
class Finding:
    vantage: str
    check: str
    controls: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Gate:
    new_reachable: tuple[Finding, ...]
    known_reachable: tuple[Finding, ...]
    expired_waivers: tuple[dict[str, Any], ...]
    regressions: tuple[str, ...]  # became inconclusive, no longer checked, vantage not covered
    inconclusive: tuple[Finding, ...]
    first_night: bool

    def exit_code(self, strict: bool = False) -> int:
        if self.new_reachable or self.expired_waivers or (strict and self.known_reachable):
            return EXIT_REACHABLE
        if self.regressions or (strict and self.inconclusive):
            return EXIT_INCONCLUSIVE
        return EXIT_OK


def _reachable(v: Verdict) -> bool:
    return v.outcome is Outcome.REACHABLE


def _one_line(text: object) -> str:
    """What a host, a probe or a bundle said, on one line with every control character
    shown as \\xNN: it cannot start a line of its own (a CI log reads a line that
    starts with `::` as a command) nor drive the terminal."""
    return escaped(str(text))


def _findings(v: Verdict) -> list[Finding]:
    lines = list(v.findings) or [v.reason]
    controls = tuple(_one_line(c) for c in v.controls)
    return [Finding(_one_line(v.vantage), _one_line(v.check), controls, _one_line(line))
            for line in lines]  # fmt: skip


def expired_waivers(c: Combined, today: date) -> list[dict[str, Any]]:
    """Waivers expired as of `today`, recomputed: a run's own word ("active") is what
    was true the night it ran, not tonight."""
    out = []
    for w in c.waivers:
        try:
            ends = date.fromisoformat(str(w.get("expires", ""))[:10])
        except ValueError:
            ends = None  # an unreadable expiry cannot keep a waiver alive
        if w.get("state") == "expired" or ends is None or ends < today:
            out.append(w)
    return out


def gate(current: Combined, previous: Combined | None, today: date | None = None) -> Gate:
    today = today or datetime.now(UTC).date()
    before = {(v.vantage, v.check): v for v in previous.verdicts} if previous else {}
    new: list[Finding] = []
    known: list[Finding] = []
    for v in current.verdicts:
        if not _reachable(v):
            continue
        old = before.get((v.vantage, v.check))
        was_reachable = old is not None and _reachable(old)
        seen = set(old.findings) if old is not None and was_reachable else set()
        for f in _findings(v):
            # a finding line seen last night is known; a check reachable both nights
            # without finding lines is compared as a whole
            is_known = was_reachable and (f.text in seen or not v.findings)
            (known if is_known else new).append(f)
    regressions = []
    if previous is not None:
        for ch in diff(previous, current):
            if ch.kind in ("became-inconclusive", "gone"):
                regressions.append(_one_line(f"{ch.kind}: {ch.vantage} {ch.check} ({ch.reason})"))
    fleet = current.fleet or {}
    for row in fleet.get("vantages", []):
        if not row.get("covered"):
            error = str(row.get("error", "") or "")
            regressions.append(_one_line(
                f"vantage not covered: {row.get('host')} ({row.get('stage')}): "
                f"{error.splitlines()[0][:300] if error.strip() else ''}"
            ))  # fmt: skip
    expired = tuple(
        {k: _one_line(x) for k, x in w.items()} for w in expired_waivers(current, today)
    )
    inconclusive = tuple(
        f for v in current.verdicts if v.outcome is Outcome.INCONCLUSIVE for f in _findings(v)
    )
    return Gate(
        tuple(new), tuple(known), expired, tuple(dict.fromkeys(regressions)), inconclusive,
        previous is None,
    )  # fmt: skip


def github_annotations(g: Gate) -> list[str]:
    """GitHub Actions workflow commands: one annotation per thing that fails the job."""

    out = [
        f"::error title={gh_property(f'prodwall: newly reachable ({f.vantage})')}::"
        f"{gh_data(f'{f.check} [{chr(44).join(f.controls)}]: {f.text}')}"
        for f in g.new_reachable
    ]
    for w in g.expired_waivers:
        title = gh_property(f"prodwall: expired waiver {w.get('id')}")
        out.append(f"::error title={title}::{gh_data(str(w.get('ticket', '')))} expired "
                   f"{gh_data(str(w.get('expires', '')))}")  # fmt: skip
    out += [f"::warning title={gh_property('prodwall: coverage lost')}::{gh_data(r)}"
            for r in g.regressions]  # fmt: skip
    return out


def gh_data(text: str) -> str:
    """A workflow command's message, as GitHub's toolkit escapes it (escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: str) -> str:
    """A workflow command's property value (escapeProperty): ':' and ',' too."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown(g: Gate, code: int, report: str) -> str:
    """The job summary (GitHub's $GITHUB_STEP_SUMMARY; readable anywhere)."""
    lines = [
        "## prodwall nightly isolation check",
        "",
        f"**{_headline(code)}**" + (" (first night: no previous results)" * g.first_night),
        "",
        "| | count |",
        "|---|---|",
        f"| newly reachable findings | {len(g.new_reachable)} |",
        f"| expired waivers | {len(g.expired_waivers)} |",
        f"| coverage lost | {len(g.regressions)} |",
        f"| still reachable (known) | {len(g.known_reachable)} |",
        f"| inconclusive | {len(g.inconclusive)} |",
        "",
    ]
    for f in g.new_reachable:
        lines.append(f"- NEW reachable from `{f.vantage}`: {f.check}: {f.text}")
    for w in g.expired_waivers:
        lines.append(f"- expired waiver `{w.get('id')}` ({w.get('ticket')}, {w.get('expires')})")
    for r in g.regressions:
        lines.append(f"- {r}")
    if report:
        lines += ["", f"Report: {report}"]
    return "\n".join(lines) + "\n"


def _headline(code: int) -> str:
    return {
        EXIT_OK: "PASS: nothing newly reachable, no expired waiver, no coverage lost",
        EXIT_REACHABLE: "FAIL: newly reachable findings or expired waivers",
        EXIT_INCONCLUSIVE: "FAIL: coverage lost (newly inconclusive, unchecked or uncovered)",
    }.get(code, f"exit {code}")


def text(g: Gate, code: int) -> str:
    out = [_headline(code)]
    if g.first_night:
        out.append("  (no previous results: every reachable finding counts as new)")
    out += [f"  NEW reachable  {f.vantage}: {f.check}: {f.text}" for f in g.new_reachable]
    out += [
        f"  expired waiver {w.get('id')} ({w.get('ticket')}, expired {w.get('expires')})"
        for w in g.expired_waivers
    ]
    out += [f"  coverage lost  {r}" for r in g.regressions]
    out += [f"  still reachable {f.vantage}: {f.check}: {f.text}" for f in g.known_reachable]
    out.append(
        f"{len(g.new_reachable)} newly reachable, {len(g.expired_waivers)} expired waivers, "
        f"{len(g.regressions)} coverage lost, {len(g.known_reachable)} still reachable, "
        f"{len(g.inconclusive)} inconclusive"
    )
    return "\n".join(out)

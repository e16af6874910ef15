"""The report's findings by cause (first screen after the headline), its report id and
its sign-off block."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from prodwall.report.combined import Combined
from prodwall.report.findings import by_cause, open_first
from prodwall.report.htmlbits import badge, e

METHOD = (
    "prodwall sends crafted probes only from the vantages named in the attestation toward "
    "the production addresses, names and services the inventory declares, reads the hosts "
    "it is given, and judges each check fail closed: silence counts as blocked only where a "
    "positive control in the same run showed an answer would have been seen; anything it "
    "could not tell is inconclusive. Each verdict carries its evidence; capture files and "
    "the results JSON are listed with their sha256 in the bundle's manifest (signed when "
    "the integrity note above says so)."
)


def results_hash(c: Combined) -> str:
    """sha256 of the results this report renders (canonical JSON of every run)."""
    body = json.dumps([asdict(r) for r in c.runs], sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()


def report_id(c: Combined) -> str:
    """Derived from the content: the same verdicts and attestation give the same id."""
    return "PW-" + results_hash(c)[:16].upper()


def findings_section(c: Combined, rows: dict[int, str]) -> str:
    found = by_cause(c.verdicts, c.catalogue)
    if not found:
        return (
            "<h2 id=findings>Findings</h2><p>No check reached production.</p>"
            f"<p class=muted>Method: {e(METHOD)}</p>"
        )
    items = []
    for n, f in enumerate(found, 1):
        checks = " ".join(
            f"<a href='#{rows[id(v)]}'>{e(' '.join(v.controls))} {e(v.vantage)}</a>"
            for v in f.verdicts
        )
        evidence = open_first(tuple(x for v in f.verdicts for x in v.findings))[:5]
        items.append(
            f"<div class=finding id=f{n}><h3>{n}. <span class='sev {e(f.severity)}'>"
            f"{e(f.severity)}</span> {e(f.title)} "
            f"{badge(f.verdicts[0].outcome) if f.waived_only else ''}</h3>"
            f"<p><b>Where:</b> {e(f.where)}; seen by {len(f.verdicts)} check"
            f"{'s' if len(f.verdicts) != 1 else ''}: {checks}</p>"
            f"<p><b>Why it matters:</b> {e(f.why)}</p>"
            f"<p><b>Evidence:</b></p><ul>{''.join(f'<li>{e(x)}</li>' for x in evidence)}</ul>"
            f"<p><b>Remediation:</b> {e(f.remediation)}</p></div>"
        )
    return (
        f"<h2 id=findings>Findings by cause ({len(found)})</h2><p class=muted>Reachable "
        "checks grouped by what one fix closes (one path, one secret, one host guardrail), "
        f"most severe first. Method: {e(METHOD)}</p>" + "".join(items)
    )


def signoff_section() -> str:
    return (
        "<h2 id=signoff>Sign-off</h2><table class=signoff><tbody>"
        + "".join(
            f"<tr><th>{label}</th><td>&nbsp;</td></tr>"
            for label in ("Reviewed by (name)", "Role", "Date", "Signature", "Comments")
        )
        + "</tbody></table>"
    )

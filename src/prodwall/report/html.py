"""The HTML report: one self-contained file, readable without JavaScript, printable.

Everything is rendered on the server side from the results JSON (the report
never recomputes a verdict): the attestation header, the requirement-first
view, the reachability matrix, every check with its evidence, the waivers, and
a trend chart when history is given. A few lines of inline JavaScript add
search and filters; without them every row is still there.
"""

from __future__ import annotations

from typing import Any

from prodwall.report.assets import CSS, JS, page_css
from prodwall.report.combined import Combined
from prodwall.report.findings_section import (
    findings_section,
    report_id,
    results_hash,
    signoff_section,
)
from prodwall.report.fleet_section import fleet_section
from prodwall.report.html_checks import _checks, _matrix, row_ids
from prodwall.report.htmlbits import LABEL, e
from prodwall.report.scope_section import scope_section
from prodwall.report.sections import (
    artifacts_section,
    history_section,
    requirements_section,
    waivers_section,
)
from prodwall.verdicts import Outcome


def sentence(c: Combined) -> str:
    s = c.summary()
    vantages = sorted({v.vantage for v in c.verdicts})
    head = (
        f"From {len(vantages)} vantage{'s' if len(vantages) != 1 else ''} "
        f"({', '.join(vantages)}), {len(c.verdicts)} checks: "
        + ", ".join(f"{n} {LABEL[Outcome(k)]}" for k, n in s.items() if n)
        + ". "
    )
    overall = c.overall
    if overall is Outcome.REACHABLE:
        return head + (f"Production is NOT isolated: {s['reachable']} checks reached production.")
    if overall is Outcome.INCONCLUSIVE:
        return head + (
            f"Isolation is NOT proven: {s['inconclusive']} checks could not tell; "
            "nothing reached production."
        )
    if overall is Outcome.NOT_REVIEWED:
        return head + "Nothing was reviewed: this run proves nothing."
    cov = c.coverage()
    if cov.partial:
        return head + (
            "PARTIAL: no reviewed check reached production"
            + (f" ({s['waived']} waived)" if s["waived"] else "")
            + f", but isolation is not proven for what was not covered: {cov.missing()}."
        )
    if overall is Outcome.WAIVED:
        return head + (
            f"No unwaived path reached production; {s['waived']} reachable findings "
            "are covered by valid waivers."
        )
    return head + "Every reviewed check is blocked: no path to production was found."


def headline_class(c: Combined) -> str:
    """The headline's colour: never green while coverage is partial."""
    if c.overall in (Outcome.BLOCKED, Outcome.WAIVED) and c.coverage().partial:
        return "partial"
    return c.overall.value


def render(
    c: Combined,
    history: dict[str, Any] | None = None,
    title: str = "",
    artifacts: dict[str, str] | None = None,
    signer: str = "",
    prefixes: dict[str, str] | None = None,
) -> str:
    title = title or f"prodwall isolation report: {c.runs[0].meta.inventory_name}"
    rows = row_ids(c)
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{CSS}{page_css(report_id(c), results_hash(c))}"
        "</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="verdict {headline_class(c)}" id=summary>{e(sentence(c))}</p>',
        _report_id(c),
        _integrity(signer),
        _unverified(c),
        findings_section(c, rows),
        fleet_section(c),
        _attestation(c),
        _notices(c),
        scope_section(c),
        _matrix(c, rows),
        requirements_section(c, rows),
        waivers_section(c),
    ]
    if history:
        parts.append(history_section(history))
    parts += [
        _checks(c, rows, prefixes or {}),
        artifacts_section(artifacts or {}),
        signoff_section(),
        f"<script>{JS}</script></body></html>",
    ]
    return "\n".join(parts)


def _unverified(c: Combined) -> str:
    """Inputs read with --allow-unverified: said before anything they contributed."""
    if not c.unverified:
        return ""
    items = "".join(f"<li>{e(x)}</li>" for x in c.unverified)
    return (
        "<div id=unverified class=unverified><p><b>UNVERIFIED INPUT:</b> these results were "
        "read although they did not verify against a trusted key; nothing below proves "
        "they are what was measured, and this report cannot pass.</p><ul>" + items + "</ul></div>"
    )


def _integrity(signer: str) -> str:
    """Said on the first screen: whether anyone can vouch for this folder's files."""
    if signer:
        return (
            f"<p id=integrity class=signed>Signed: manifest.json lists the sha256 of every file "
            f"of this report folder and is signed by <code>{e(signer)}</code> (Ed25519 key "
            "fingerprint, then the name and role its holder gave at keygen). "
            "Check it with <code>prodwall verify FOLDER --trusted-keys KEY.pub</code> using the "
            "public key you were given; a key shipped inside the folder proves nothing.</p>"
        )
    return (
        "<p id=integrity class=unsigned>NOT signed: manifest.json lists the sha256 of every "
        "file, but anyone who can change the files can rewrite it. Ask for a signed bundle "
        "(<code>--sign-key</code>) if this report is evidence.</p>"
    )


def _report_id(c: Combined) -> str:
    starts = sorted(r.meta.started_utc for r in c.runs)
    ends = sorted(r.meta.finished_utc for r in c.runs)
    return (
        f"<p id=report-id class=mono>Report {e(report_id(c))} &middot; results sha256 "
        f"{e(results_hash(c))} &middot; assessment period "
        f"{e(starts[0])} to {e(ends[-1])} (UTC) &middot; {len(c.runs)} run"
        f"{'s' if len(c.runs) != 1 else ''}</p>"
    )


def _who(run_by: dict[str, str]) -> str:
    """A person or a CI job, said as such; the raw variables follow."""
    ci = run_by.get("ci_system")
    if ci == "github":
        lead = (
            f"CI: GitHub Actions {run_by.get('GITHUB_REPOSITORY', '')} "
            f"{run_by.get('GITHUB_WORKFLOW', '')}, run {run_by.get('GITHUB_RUN_ID', '?')}"
        )
    elif ci == "gitlab":
        lead = (
            f"CI: GitLab {run_by.get('CI_PROJECT_PATH', '')} pipeline "
            f"{run_by.get('CI_PIPELINE_ID', '?')}, job {run_by.get('CI_JOB_ID', '?')}"
        )
    elif run_by.get("operator"):
        lead = f"operator: {run_by['operator']} ({run_by.get('user')}@{run_by.get('host')})"
    else:
        lead = (
            f"account {run_by.get('user')}@{run_by.get('host')} (no operator named: set "
            "PRODWALL_OPERATOR, or run from CI)"
        )
    rest = ", ".join(f"{k}={v}" for k, v in sorted(run_by.items()))
    return f"<b>{e(lead)}</b><br><span class=muted>{e(rest)}</span>"  # fmt: skip


def _attestation(c: Combined) -> str:
    rows = []
    for r in c.runs:
        m = r.meta
        addrs = ", ".join(m.vantage.addresses) or m.vantage.addresses_note or "-"
        rev = m.git_revision
        dirty = " <b class='o reachable'>uncommitted changes</b>" if rev.endswith("+dirty") else ""
        rows.append(
            f"<tr><td>{e(m.vantage.name)}</td><td class=mono>{e(m.vantage.location)}</td>"
            f"<td>{e(m.vantage.environment)}</td><td class=mono>{e(addrs)}</td>"
            f"<td class=mono>{e(m.started_utc)}<br>{e(m.finished_utc)}</td>"
            f"<td>{_who(m.run_by)}</td>"
            f"<td class='mono wrap'>{e(m.prodwall_version)}<br>{e(rev)}{dirty}</td>"
            f"<td class='mono wrap' title='{e(m.inventory_path)}'>{e(m.inventory_sha256)}</td>"
            "</tr>"
        )
    scope_rows = []
    for name, env in sorted(c.scope.items(), key=lambda kv: kv[1].get("tier") != "production"):
        scope_rows.append(
            f"<tr><td>{e(name)}</td><td>{e(env.get('tier'))}</td>"
            f"<td class=mono>{e(', '.join(env.get('networks', [])))}</td>"
            f"<td>{e(', '.join(env.get('dns_domains', [])))}</td>"
            f"<td>{len(env.get('hosts', []))}</td>"
            f"<td class=mono>{e(', '.join(env.get('aws_accounts', [])))}</td></tr>"
        )
    return (
        "<h2 id=attestation>Attestation</h2>"
        "<table><thead><tr><th>vantage</th><th>location</th><th>environment</th>"
        "<th>addresses</th><th>UTC start / end</th><th>run by</th><th>prodwall / git</th>"
        "<th>inventory sha256</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        "<h3>Scope</h3><table><thead><tr><th>environment</th><th>tier</th><th>networks</th>"
        "<th>DNS domains</th><th>hosts</th><th>AWS accounts</th></tr></thead><tbody>"
        + "".join(scope_rows)
        + "</tbody></table>"
    )


def _notices(c: Combined) -> str:
    notes = c.notices
    if not notes:
        return ""
    return "<h2 id=notices>Notices</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"

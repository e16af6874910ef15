"""The HTML report: one self-contained file, readable without JavaScript, printable.

Everything is rendered on the server side from the results JSON (the report
never recomputes a verdict): the attestation header, the requirement-first
view, the reachability matrix, every check with its evidence, the waivers, and
a trend chart when history is given. A few lines of inline JavaScript add
search and filters; without them every row is still there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from ..verdicts import Outcome, Verdict
from .assets import CSS, JS, page_css
from .citations import capture_refs
from .combined import Combined, address_family, column_of
from .findings import open_first
from .findings_section import findings_section, report_id, results_hash, signoff_section
from .fleet_section import fleet_section
from .htmlbits import LABEL, MAX_ITEMS, ORDER, badge, e, worst
from .scope_section import scope_section
from .sections import artifacts_section, history_section, requirements_section, waivers_section


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


def ordered(c: Combined) -> list[Verdict]:
    """The checks list's order: worst outcome first, then the most severe control."""
    severity = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    cat = c.catalogue

    def rank(v: Verdict) -> int:
        return min((severity.get(cat.get(x, {}).get("severity", ""), 4) for x in v.controls),
                   default=4)  # fmt: skip

    return sorted(c.verdicts, key=lambda v: (ORDER.index(v.outcome), rank(v), v.vantage, v.check))


def row_ids(c: Combined) -> dict[int, str]:
    """id(verdict) -> the anchor of its row in the checks list (links work without JS)."""
    return {id(v): f"c{i}" for i, v in enumerate(ordered(c))}


def _matrix(c: Combined, rows: dict[int, str]) -> str:
    cells: dict[tuple[str, str, str], list[Verdict]] = defaultdict(list)
    catalogue = c.catalogue
    for v in c.verdicts:
        col = f"{column_of(v, catalogue)} {address_family(v.group)}"
        cells[(v.vantage, c.zone_of(v.group), col)].append(v)
    vantages = sorted({k[0] for k in cells})
    cols = sorted({(k[1], k[2]) for k in cells})
    head = "".join(f"<th>{e(z)}<br><span class=muted>{e(col)}</span></th>" for z, col in cols)
    body = []
    for vantage in vantages:
        tds = []
        for zone, col in cols:
            vs = cells.get((vantage, zone, col), [])
            w = worst(v.outcome for v in vs)
            if w is None:
                tds.append("<td class=muted>-</td>")
                continue
            # the cell links to its worst check's row: an anchor that exists, script or not
            first = next(v for v in sorted(vs, key=lambda v: ORDER.index(v.outcome)))
            tds.append(
                f"<td><a href='#{rows[id(first)]}'>{badge(w)}</a> "
                f"<span class=muted>{len(vs)} check{'s' if len(vs) != 1 else ''}</span></td>"
            )
        body.append(f"<tr><th>{e(vantage)}</th>{''.join(tds)}</tr>")
    return (
        "<h2 id=matrix>Reachability matrix</h2><p class=muted>vantages &times; production zones "
        "&times; protocol families; each cell is the worst outcome of its checks and links to "
        "the worst of them.</p><div class=scroll><table class=matrix><thead><tr><th>vantage</th>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _options(values: Iterable[str]) -> str:
    return "".join(f"<option>{e(v)}</option>" for v in sorted(set(values)))


def _checks(c: Combined, ids: dict[int, str], prefixes: dict[str, str]) -> str:
    verdicts = ordered(c)
    filters = (
        "<div id=filters><input id=q type=search placeholder='search checks, targets, "
        "findings…' aria-label=search><select id=fo aria-label=outcome><option value=''>"
        f"any outcome</option>{_options(v.outcome.value for v in verdicts)}</select>"
        "<select id=fc aria-label=control><option value=''>any control</option>"
        f"{_options(cid for v in verdicts for cid in v.controls)}</select><select id=fv "
        f"aria-label=vantage><option value=''>any vantage</option>"
        f"{_options(v.vantage for v in verdicts)}</select><span><b id=shown>{len(verdicts)}"
        f"</b> shown</span></div>"
    )
    rows = [
        _row(v, int(ids[id(v)][1:]), c.catalogue, prefixes.get(v.vantage, "")) for v in verdicts
    ]
    # A grid of plain blocks, not a <table>: chunks of 200 rows with content-visibility
    # are skipped by layout until scrolled to (containment does not apply inside tables),
    # which keeps a report of 20,000 checks interactive within about a second.
    chunks = "".join(
        "<div class=k>" + "".join(rows[i : i + 200]) + "</div>" for i in range(0, len(rows), 200)
    )
    return (
        f"<h2 id=checks-h>Checks ({len(verdicts)})</h2>{filters}<div id=checks role=table>"
        "<div class='r h' role=row><span>outcome</span><span>control</span>"
        "<span>vantage</span><span>target</span><span>reason and evidence</span></div>"
        + chunks
        + "</div>"
    )


def _row(v: Verdict, i: int, catalogue: dict[str, Any], prefix: str = "") -> str:
    titles = "; ".join(
        f"{catalogue.get(x, {}).get('severity', '')}: {catalogue.get(x, {}).get('title', '')}"
        for x in v.controls
    )
    return (
        f"<div id=c{i} class=r data-o={v.outcome.value} role=row><span>{badge(v.outcome)}"
        f"</span><span title='{e(titles)}'>{e(' '.join(v.controls))}</span>"
        f"<span>{e(v.vantage)}</span><span class=mono>{e(v.group)}</span>"
        f"<span>{e(v.reason)}{_evidence(v, i, prefix)}</span></div>"
    )


def _evidence(v: Verdict, i: int, prefix: str = "") -> str:
    """The evidence as one preformatted text block, collapsed until its link is followed.

    Not <details>: each of those carries a shadow tree, and 20,000 of them made the
    report take seconds to parse; a hidden <pre> opened by CSS :target costs nothing.
    """
    ev = v.evidence
    lines: list[str] = []
    if v.counts:
        lines.append("probes by outcome: " + ", ".join(f"{n:,} {k}" for k, n in v.counts.items()))
    if v.findings:
        lines.append("reached production (what answered first):")
        lines += [f"  - {f}" for f in open_first(v.findings)[:MAX_ITEMS]]
        if len(v.findings) > MAX_ITEMS:
            lines.append(f"  and {len(v.findings) - MAX_ITEMS:,} more in the results JSON")
    if v.inconclusive_items:
        lines.append("could not tell:")
        lines += [f"  - {f}" for f in v.inconclusive_items[:MAX_ITEMS]]
    for w in v.waivers:
        lines.append(
            f"waiver {w.id}: ticket {w.ticket}, approved by {w.approver}, expires "
            f"{w.expires}: {w.justification}"
        )
    pc = ev.get("positive_controls")
    if pc:
        state = "passed" if pc.get("passed") else f"FAILED: {pc.get('why_not', '')}"
        lines.append(f"positive controls: {state}")
        lines += [f"  - {x}" for x in pc["controls"]]
    if ev.get("by_detail"):
        lines.append("what was seen:")
        lines += [f"  {n:,} x {d}" for d, n in list(ev["by_detail"].items())[:10]]
    if ev.get("responders"):
        lines.append(
            "who answered: "
            + ", ".join(f"{r} ({n:,})" for r, n in list(ev["responders"].items())[:10])
        )
    if ev.get("last_hops"):
        lines.append(
            "last hop that answered: "
            + ", ".join(f"{t} -> {h}" for t, h in list(ev["last_hops"].items())[:10])
        )
    if ev.get("methods"):
        lines.append("method: " + ", ".join(ev["methods"]))
    if ev.get("packets"):
        lines.append("captured packets (a decoded sample of the capture file):")
        lines += [f"  {line}" for line in ev["packets"]]
    # each capture as a link to its file inside this bundle (under runs/ when merged)
    links = [
        f"capture: <a href=\"{e(quote(path))}\">{e(path)}</a> sha256 {e(digest)}"
        for path, digest in capture_refs(ev, prefix)
    ]
    if not lines and not links:
        return ""
    body = "\n".join([*map(e, lines), *links])
    return f" <a href=#c{i}>evidence</a><pre>{body}</pre>"

"""The HTML report: one self-contained file, readable without JavaScript, printable.

Everything is rendered on the server side from the results JSON (the report
never recomputes a verdict): the attestation header, the requirement-first
view, the reachability matrix, every check with its evidence, the waivers, and
a trend chart when history is given. A few lines of inline JavaScript add
search and filters; without them every row is still there.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ..verdicts import Outcome, Verdict
from .combined import Combined, address_family, column_of

FRAMEWORKS = {
    "pci-dss-4.0.1": "PCI DSS 4.0.1",
    "iso27001-2022": "ISO/IEC 27001:2022 Annex A",
    "nist-800-53r5": "NIST SP 800-53 Rev. 5",
    "soc2": "SOC 2 (TSC 2017)",
}
ORDER = [
    Outcome.REACHABLE,
    Outcome.INCONCLUSIVE,
    Outcome.WAIVED,
    Outcome.NOT_REVIEWED,
    Outcome.BLOCKED,
]
LABEL = {
    Outcome.BLOCKED: "blocked",
    Outcome.REACHABLE: "REACHABLE",
    Outcome.INCONCLUSIVE: "inconclusive",
    Outcome.WAIVED: "waived (reachable)",
    Outcome.NOT_REVIEWED: "not reviewed",
}
MAX_ITEMS = 25  # findings shown per check; the full lists stay in the results JSON

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:1em 2em;color:#1b1f24}
h1{font-size:1.6em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #d0d7de;
padding-bottom:.2em}table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}.o{font-weight:600;white-space:nowrap;border-radius:3px;padding:0 .3em}
.blocked{background:#dafbe1;color:#116329}.reachable{background:#ffebe9;color:#a40e26}
.inconclusive{background:#fff8c5;color:#7d4e00}.waived{background:#ddf4ff;color:#0a3069}
.not-reviewed{background:#eaeef2;color:#57606a}.verdict{font-size:1.15em;padding:.6em .8em;
border-left:6px solid #57606a;background:#f6f8fa}.verdict.reachable{border-color:#cf222e}
.verdict.blocked{border-color:#1a7f37}.verdict.inconclusive{border-color:#bf8700}
#integrity{padding:.4em .8em;border-left:6px solid #1a7f37}#integrity.unsigned{border-color:#bf8700}
.verdict.waived{border-color:#0969da}.verdict.not-reviewed{border-color:#57606a}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em}dt{font-weight:600}
dd{margin:0;word-break:break-all}
pre{white-space:pre-wrap;margin:.3em 0;font-size:.9em}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
#checks .r{display:grid;grid-template-columns:10em 9em 6em 13em minmax(0,1fr);
border-bottom:1px solid #d0d7de;scroll-margin-top:3em}
#checks .r>*{padding:.25em .4em;overflow-wrap:anywhere}
#checks .h{font-weight:600;background:#f6f8fa}#checks pre{display:none}
#checks .r:target pre,#checks .r.open pre{display:block}#checks .r:target{outline:2px solid #0969da}
#checks .k{content-visibility:auto;contain-intrinsic-size:auto 6000px}
.scroll{overflow-x:auto}.scroll th,.scroll td{white-space:nowrap}
#filters{position:sticky;top:0;z-index:1;background:#fff;padding:.4em 0;display:none;gap:.5em}
#filters input{flex:1;padding:.3em}.hidden{display:none}.muted{color:#57606a}
@media print{#filters{display:none!important}#checks pre{display:block}a{color:inherit}
#checks .k{content-visibility:visible}}
"""

JS = """
(function(){var f=document.getElementById('filters');f.style.display='flex';
var q=document.getElementById('q'),o=document.getElementById('fo'),c=document.getElementById('fc'),
v=document.getElementById('fv'),n=document.getElementById('shown'),
rows=Array.prototype.slice.call(document.querySelectorAll('#checks .k>.r'));
var text=null;
function apply(){var s=q.value.toLowerCase(),k=0;
if(s&&!text){text=rows.map(function(r){return r.textContent.toLowerCase()})}
for(var i=0;i<rows.length;i++){var r=rows[i];
var ok=(!s||text[i].indexOf(s)>=0)&&(!o.value||r.dataset.o===o.value)&&
(!c.value||(' '+r.children[1].textContent+' ').indexOf(' '+c.value+' ')>=0)&&
(!v.value||r.children[2].textContent===v.value);
r.classList.toggle('hidden',!ok);if(ok)k++}n.textContent=k}
var t;function later(){clearTimeout(t);t=setTimeout(apply,120)}
q.addEventListener('input',later);[o,c,v].forEach(function(e){e.addEventListener('change',apply)});
if(location.hash.indexOf('#q=')===0){q.value=decodeURIComponent(location.hash.slice(3));apply()}
window.addEventListener('hashchange',function(){if(location.hash.indexOf('#q=')===0){
q.value=decodeURIComponent(location.hash.slice(3));apply()}});
document.getElementById('checks').addEventListener('click',function(ev){
var a=ev.target;if(a.tagName!=='A')return;ev.preventDefault();
a.closest('.r').classList.toggle('open')});
document.body.dataset.ready=Math.round(performance.now());
})();
"""


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge(outcome: Outcome) -> str:
    return f'<span class="o {outcome.value}">{LABEL[outcome]}</span>'


def worst(outcomes: Iterable[Outcome]) -> Outcome | None:
    present = set(outcomes)
    return next((o for o in ORDER if o in present), None)


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
    if overall is Outcome.WAIVED:
        return head + (
            f"No unwaived path reached production; {s['waived']} reachable findings "
            "are covered by valid waivers."
        )
    return head + "Every reviewed check is blocked: no path to production was found."


def render(
    c: Combined,
    history: dict[str, Any] | None = None,
    title: str = "",
    artifacts: dict[str, str] | None = None,
    signer: str = "",
) -> str:
    title = title or f"prodwall isolation report: {c.runs[0].meta.inventory_name}"
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="verdict {c.overall.value}" id=summary>{e(sentence(c))}</p>',
        _integrity(signer),
        _attestation(c),
        _notices(c),
        _matrix(c),
        _requirements(c),
        _waivers(c),
    ]
    if history:
        parts.append(_history(history))
    parts += [_checks(c), _artifacts(artifacts or {}), f"<script>{JS}</script></body></html>"]
    return "\n".join(parts)


def _integrity(signer: str) -> str:
    """Said on the first screen: whether anyone can vouch for this folder's files."""
    if signer:
        return (
            f"<p id=integrity class=signed>Signed: manifest.json lists the sha256 of every file "
            f"of this report folder and is signed with the Ed25519 key <code>{e(signer)}</code>. "
            "Check it with <code>prodwall verify FOLDER --public-key KEY.pub</code> using the "
            "public key you were given; a key shipped inside the folder proves nothing.</p>"
        )
    return (
        "<p id=integrity class=unsigned>NOT signed: manifest.json lists the sha256 of every "
        "file, but anyone who can change the files can rewrite it. Ask for a signed bundle "
        "(<code>--sign-key</code>) if this report is evidence.</p>"
    )


def _attestation(c: Combined) -> str:
    rows = []
    for r in c.runs:
        m = r.meta
        who = ", ".join(f"{k}={v}" for k, v in sorted(m.run_by.items()))
        addrs = ", ".join(m.vantage.addresses) or m.vantage.addresses_note or "-"
        rows.append(
            f"<tr><td>{e(m.vantage.name)}</td><td class=mono>{e(m.vantage.location)}</td>"
            f"<td>{e(m.vantage.environment)}</td><td class=mono>{e(addrs)}</td>"
            f"<td class=mono>{e(m.started_utc)}<br>{e(m.finished_utc)}</td><td>{e(who)}</td>"
            f"<td class=mono>{e(m.prodwall_version)}<br>{e(m.git_revision[:19])}</td>"
            f"<td class=mono title='{e(m.inventory_path)}'>{e(m.inventory_sha256[:16])}…</td>"
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


def _matrix(c: Combined) -> str:
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
            query = f"{vantage} {col.split()[0]}"
            tds.append(
                f"<td><a href='#q={e(query)}'>{badge(w)}</a> "
                f"<span class=muted>{len(vs)}</span></td>"
            )
        body.append(f"<tr><th>{e(vantage)}</th>{''.join(tds)}</tr>")
    return (
        "<h2 id=matrix>Reachability matrix</h2><p class=muted>vantages &times; production zones "
        "&times; protocol families; each cell is the worst outcome of its checks, and links to "
        "them.</p><div class=scroll><table><thead><tr><th>vantage</th>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _requirements(c: Combined) -> str:
    by_control: dict[str, list[Verdict]] = defaultdict(list)
    for v in c.verdicts:
        for cid in v.controls:
            by_control[cid].append(v)
    out = ["<h2 id=requirements>Requirements</h2>"]
    uncovered: list[str] = []
    for fw, name in FRAMEWORKS.items():
        reqs: dict[str, list[str]] = defaultdict(list)
        for cid, ctl in c.catalogue.items():
            for ref in ctl.get("references", {}).get(fw, []):
                reqs[ref].append(cid)
        rows = []
        for ref in sorted(reqs, key=_natural):
            vs = [v for cid in reqs[ref] for v in by_control.get(cid, [])]
            reviewed = [v for v in vs if v.outcome is not Outcome.NOT_REVIEWED]
            if not reviewed:
                uncovered.append(f"{name} {ref}")
            w = worst(v.outcome for v in vs)
            counts = Counter(v.outcome.value for v in vs)
            rows.append(
                f"<tr><td>{e(ref)}</td><td>{e(', '.join(reqs[ref]))}</td>"
                f"<td>{len(vs)}</td><td>{badge(w) if w else '<span class=muted>no check'}"
                f"</td><td class=muted>{e(', '.join(f'{n} {k}' for k, n in counts.items()))}"
                "</td></tr>"
            )
        out.append(
            f"<details open><summary><b>{e(name)}</b> ({len(reqs)} requirements)"
            "</summary><table><thead><tr><th>requirement</th><th>controls</th>"
            "<th>checks</th><th>outcome</th><th>by outcome</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></details>"
        )
    out.append("<h3>Requirements without automated coverage in this run</h3>")
    out.append(
        "<p>"
        + (
            e("; ".join(uncovered))
            if uncovered
            else "None: every referenced requirement has at least one reviewed check."
        )
        + "</p><p class=muted>Only the requirements the control catalogue maps are "
        "listed; the rest of each framework needs other evidence.</p>"
    )
    return "\n".join(out)


def _natural(ref: str) -> list[Any]:
    return [
        int(p) if p.isdigit() else p
        for p in ref.replace("(", ".").replace(")", "").replace("-", ".").split(".")
    ]


def _waivers(c: Combined) -> str:
    used = {w.id for v in c.verdicts for w in v.waivers}
    if not c.waivers:
        return "<h2 id=waivers>Waivers</h2><p>The inventory declares no waivers.</p>"
    rows = []
    for w in c.waivers:
        state = w["state"] if w["id"] not in used else "active, applied"
        cls = "reachable" if w["state"] == "expired" else "waived"
        rows.append(
            f"<tr><td>{e(w['id'])}</td><td><span class='o {cls}'>{e(state)}</span></td>"
            f"<td>{e(w['target'])} {e(', '.join(w['services']) or 'all services')}</td>"
            f"<td>{e(w.get('control') or 'all')}</td><td>{e(w['ticket'])}</td>"
            f"<td>{e(w['approver'])}</td><td>{e(w['justification'])}</td>"
            f"<td>{e(w['expires'])}</td></tr>"
        )
    return (
        "<h2 id=waivers>Waivers</h2><p class=muted>A waived finding is still reported, as "
        '"waived (reachable)". An expired waiver no longer applies.</p><table><thead><tr>'
        "<th>id</th><th>state</th><th>covers</th><th>control</th><th>ticket</th>"
        "<th>approver</th><th>justification</th><th>expires</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _history(h: dict[str, Any]) -> str:
    nights = h["nights"]
    width, height, pad = 720, 160, 24
    n = max(len(nights), 1)
    step = (width - 2 * pad) / max(n - 1, 1)
    top = max((x["total"] for x in nights), default=1) or 1
    bars = []
    for i, night in enumerate(nights):
        x = pad + i * step
        for key, color, offset in (
            ("blocked", "#1a7f37", 0),
            ("reachable", "#cf222e", 1),
            ("inconclusive", "#bf8700", 2),
        ):
            hgt = (height - 2 * pad) * night[key] / top
            bars.append(
                f"<rect x='{x - 3 + offset * 2:.1f}' y='{height - pad - hgt:.1f}' "
                f"width='2' height='{hgt:.1f}' fill='{color}'><title>{e(night['date'])}:"
                f" {night[key]} {key}</title></rect>"
            )
    svg = (
        f"<svg role=img aria-label='checks per night' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' style='border:1px solid #d0d7de'>"
        + "".join(bars)
        + "</svg>"
    )
    rows = "".join(
        f"<tr><td>{e(f['finding'])}</td><td>{e(f['first'])}</td><td>{e(f['last'])}"
        f"</td><td>{f['nights']}</td></tr>"
        for f in h["findings"]
    )
    flags = "".join(f"<li>{e(f)}</li>" for f in h.get("flags", []))
    flagged = (
        f"<div id=history-flags class=notices><p><strong>Nights that cannot be trusted as they "
        f"stand</strong> (tampered files, missing vantages, duplicate runs):</p><ul>{flags}</ul>"
        "</div>"
        if flags
        else "<p id=history-flags>Every night's files match its manifest; every vantage ran "
        "every night.</p>"
    )
    return (
        f"<h2 id=history>History</h2>{flagged}<p>{h['nights_run']} nights run, "
        f"{h['nights_blocked']} fully blocked, from {e(h['from'])} to {e(h['to'])}.</p>"
        f"{svg}<p class=muted>green blocked, red reachable, amber inconclusive, per night"
        "</p><table><thead><tr><th>finding</th><th>first failure</th><th>last failure</th>"
        "<th>nights failing</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _artifacts(files: dict[str, str]) -> str:
    if not files:
        return ""
    rows = "".join(
        f"<tr><td class=mono>{e(n)}</td><td class=mono>{e(h)}</td></tr>"
        for n, h in sorted(files.items())
    )
    return (
        "<h2 id=artifacts>Sidecar files</h2><p class=muted>The full data behind this "
        "report; manifest.json lists every file with its sha256 (and is signed when a key "
        "is set): check it with <code>prodwall verify</code>.</p><table><thead><tr>"
        "<th>file</th><th>sha256</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _options(values: Iterable[str]) -> str:
    return "".join(f"<option>{e(v)}</option>" for v in sorted(set(values)))


def _checks(c: Combined) -> str:
    verdicts = sorted(c.verdicts, key=lambda v: (ORDER.index(v.outcome), v.vantage, v.check))
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
    rows = [_row(v, i) for i, v in enumerate(verdicts)]
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


def _row(v: Verdict, i: int) -> str:
    return (
        f"<div id=c{i} class=r data-o={v.outcome.value} role=row><span>{badge(v.outcome)}"
        f"</span><span>{e(' '.join(v.controls))}</span><span>{e(v.vantage)}</span>"
        f"<span class=mono>{e(v.group)}</span><span>{e(v.reason)}{_evidence(v, i)}</span></div>"
    )


def _evidence(v: Verdict, i: int) -> str:
    """The evidence as one preformatted text block, collapsed until its link is followed.

    Not <details>: each of those carries a shadow tree, and 20,000 of them made the
    report take seconds to parse; a hidden <pre> opened by CSS :target costs nothing.
    """
    ev = v.evidence
    lines: list[str] = []
    if v.counts:
        lines.append("probes by outcome: " + ", ".join(f"{n:,} {k}" for k, n in v.counts.items()))
    if v.findings:
        lines.append("reached production:")
        lines += [f"  - {f}" for f in v.findings[:MAX_ITEMS]]
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
    lines += [f"capture: {f['file']} sha256 {f['sha256']}" for f in ev.get("files", [])]
    if ev.get("packets"):
        lines.append("captured packets (a sample, decoded; the capture holds them all):")
        lines += [f"  {line}" for line in ev["packets"]]
    if not lines:
        return ""
    return f" <a href=#c{i}>evidence</a><pre>{e(chr(10).join(lines))}</pre>"

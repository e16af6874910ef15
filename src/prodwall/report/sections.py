"""The report's reference sections: requirements by framework, waivers, history, artifacts."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from urllib.parse import quote

from prodwall.report.combined import Combined
from prodwall.report.htmlbits import FRAMEWORKS, ORDER, badge, e, worst
from prodwall.verdicts import Verdict


def requirements_section(c: Combined, rows: dict[int, str]) -> str:
    """Each mapped requirement with its title, its controls and links to its checks."""
    by_control: dict[str, list[Verdict]] = defaultdict(list)
    for v in c.verdicts:
        for cid in v.controls:
            by_control[cid].append(v)
    out = ["<h2 id=requirements>Requirements</h2>"]
    for fw, name in FRAMEWORKS.items():
        reqs: dict[str, list[str]] = defaultdict(list)
        titles: dict[str, str] = {}
        for cid, ctl in c.catalogue.items():
            for ref in ctl.get("references", {}).get(fw, []):
                reqs[ref].append(cid)
                titles[ref] = ctl.get("titles", {}).get(f"{fw} {ref}", "")
        body = []
        for ref in sorted(reqs, key=_natural):
            vs = [v for cid in reqs[ref] for v in by_control.get(cid, [])]
            w = worst(v.outcome for v in vs)
            counts = Counter(v.outcome.value for v in vs)
            worst_first = sorted(vs, key=lambda v: ORDER.index(v.outcome))
            links = " ".join(
                f"<a href='#{rows[id(v)]}'>{e(v.vantage)} {e(v.group)}</a>"
                for v in worst_first[:LINKS]
            ) + (f" <span class=muted>and {len(vs) - LINKS} more</span>" if len(vs) > LINKS else "")
            body.append(
                f"<tr id='req-{e(fw)}-{e(ref)}'><td>{e(ref)}</td><td>{e(titles[ref])}</td>"
                f"<td>{e(', '.join(reqs[ref]))}</td>"
                f"<td>{badge(w) if w else '<span class=muted>no check</span>'}"
                f"<br><span class=muted>{e(', '.join(f'{n} {k}' for k, n in counts.items()))}"
                f"</span></td><td>{links or '-'}</td></tr>"
            )
        out.append(
            f"<details open><summary><b>{e(name)}</b> ({len(reqs)} requirements)"
            "</summary><table><thead><tr><th>requirement</th><th>title</th><th>controls</th>"
            "<th>outcome</th><th>checks (worst first)</th></tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table></details>"
        )
    out.append(
        "<p class=muted>Only the requirements the control catalogue maps are listed; those "
        "without a reviewed check are named under <a href=#scope>Scope and limitations</a>; "
        "the rest of each framework needs other evidence.</p>"
    )
    return "\n".join(out)


LINKS = 5  # checks linked per requirement row, worst first


def _natural(ref: str) -> list[tuple[int, int, str]]:
    """Requirement ids in reading order (1.2.10 after 1.2.9); numbers and words never
    compared with each other (CC6.1 beside CC6.x)."""
    parts = ref.replace("(", ".").replace(")", "").replace("-", ".").split(".")
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def waivers_section(c: Combined) -> str:
    used = {w.id for v in c.verdicts for w in v.waivers}
    if not c.waivers:
        return "<h2 id=waivers>Waivers</h2><p>The inventory declares no waivers.</p>"
    rows = []
    for w in c.waivers:
        if w["state"] == "expired":
            state, cls = "expired: no longer applies", "reachable"
        elif w["id"] in used:
            state, cls = "active, applied", "waived"
        else:  # nothing it covers was found: it may be stale, or cover the wrong target
            state, cls = "active, UNUSED: review or remove", "inconclusive"
        left = w.get("days_left")
        expiry = f"{w['expires']}" + (f" ({left} days left)" if isinstance(left, int)
                                      and left >= 0 else "")  # fmt: skip
        covers = w.get("finding") and (
            f"finding {w['finding'].get('fingerprint', '')} in {w['finding'].get('path', '')}"
        )  # fmt: skip
        rows.append(
            f"<tr><td>{e(w['id'])}</td><td><span class='o wrap {cls}'>{e(state)}</span></td>"
            f"<td>{e(w.get('vantage') or 'every vantage')}</td>"
            f"<td>{e(covers or w['target'])} "
            f"{e(', '.join(w['services']) or ('' if covers else 'all services'))}</td>"
            f"<td>{e(w.get('control') or 'all')}</td><td>{e(w['ticket'])}</td>"
            f"<td>{e(w['approver'])}<br><span class=muted>approved "
            f"{e(w.get('approved') or 'date not given')}</span></td>"
            f"<td>{e(w['justification'])}</td><td>{e(expiry)}</td></tr>"
        )
    return (
        "<h2 id=waivers>Waivers</h2><p class=muted>A waived finding is still reported, as "
        '"waived (reachable)". An expired waiver no longer applies.</p><table><thead><tr>'
        "<th>id</th><th>state</th><th>vantage</th><th>covers</th><th>control</th>"
        "<th>ticket</th><th>approver</th><th>justification</th><th>expires</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
    )


def history_section(h: dict[str, Any]) -> str:
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


def artifacts_section(files: dict[str, str]) -> str:
    if not files:
        return ""
    rows = "".join(
        f"<tr><td class=mono><a href=\"{e(quote(n))}\">{e(n)}</a></td>"
        f"<td class=mono>{e(h)}</td></tr>"
        for n, h in sorted(files.items())
    )
    return (
        "<h2 id=artifacts>Sidecar files</h2><p class=muted>The full data behind this "
        "report (each copied run's own report is its runs/.../report.html); "
        "manifest.json lists every file with its sha256 (and is signed when a key "
        "is set): check it with <code>prodwall verify</code>.</p><table><thead><tr>"
        "<th>file</th><th>sha256</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )

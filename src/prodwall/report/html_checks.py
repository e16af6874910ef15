"""The report's body of checks: the reachability matrix, then every check with its
evidence, in the order an auditor reads them (worst first)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from prodwall.report.citations import capture_refs
from prodwall.report.combined import Combined, address_family, column_of
from prodwall.report.findings import open_first
from prodwall.report.htmlbits import MAX_ITEMS, ORDER, badge, e, worst
from prodwall.verdicts import Verdict


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

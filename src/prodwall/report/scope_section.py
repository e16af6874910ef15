"""The report's "Scope and limitations": what was probed and what was not, stated next to
the coverage gaps the headline names (families not run, requirements without a reviewed
check, vantages declared but absent, the probes' own limits)."""

from __future__ import annotations

from prodwall.report.combined import Combined
from prodwall.report.htmlbits import FRAMEWORKS, e


def scope_section(c: Combined) -> str:
    cov = c.coverage()
    ran = sorted({v.vantage for v in c.verdicts})
    declared = {}
    limits: dict[str, str] = {}
    planned: dict[str, int] = {}
    for r in c.runs:
        declared.update(r.scope.get("vantages", {}))
        limits.update(r.scope.get("limits", {}))
        for kind, n in r.plan_counts.items():
            planned[kind] = planned.get(kind, 0) + n
    absent = sorted(set(declared) - {r.meta.vantage.name for r in c.runs})
    items = [
        f"<li>Vantages in this report: {e(', '.join(ran) or 'none')}"
        + (
            f"; declared in the inventory but <b>not run</b>: {e(', '.join(absent))}"
            if absent
            else ""
        )
        + "</li>",
        "<li>Probes planned, by kind: "
        + e(", ".join(f"{n:,} {k}" for k, n in sorted(planned.items())) or "none")
        + "</li>",
    ]
    if cov.not_run:
        items.append(
            f"<li class=gap>Planned but <b>not run</b> (no probe family installed): "
            f"{e(', '.join(cov.not_run))}</li>"
        )
    items += [f"<li>{e(what)}: {e(text)}</li>" for what, text in sorted(limits.items())]
    gaps = "".join(
        f"<tr><td>{e(FRAMEWORKS.get(fw, fw))}</td><td id='req-{e(fw)}-{e(ref)}-gap'>{e(ref)}"
        f"</td><td>{e(title)}</td></tr>"
        for fw, ref, title in cov.uncovered
    )
    gap_table = (
        "<h3>Requirements without a reviewed check</h3><table><thead><tr><th>framework</th>"
        "<th>requirement</th><th>title</th></tr></thead><tbody>" + gaps + "</tbody></table>"
        if gaps
        else "<p>Every requirement the catalogue maps has at least one reviewed check.</p>"
    )
    not_automated = [g for r in c.runs for g in r.scope.get("not_automated", [])]
    extra = "".join(
        f"<li>{e(FRAMEWORKS.get(g['framework'], g['framework']))} {e(g['requirement'])} "
        f"({e(g['title'])}): {e(g['why'])}</li>"
        for g in {(g["framework"], g["requirement"]): g for g in not_automated}.values()
    )
    return (
        "<h2 id=scope>Scope and limitations</h2><ul>"
        + "".join(items)
        + "</ul>"
        + gap_table
        + (
            "<h3>Requirements this tool does not check yet</h3><ul>" + extra + "</ul>"
            if extra
            else ""
        )
        + "<p class=muted>Only what is listed was probed; everything else needs other "
        "evidence.</p>"
    )

"""The report's "Fleet" section (prodwall fleet): every intended vantage, whether it
returned a verified run, and for each that did not, Ansible's own error."""

from __future__ import annotations

from prodwall.report.combined import Combined
from prodwall.report.htmlbits import e


def fleet_section(c: Combined) -> str:
    fleet = c.fleet
    if not fleet:
        return ""
    rows = fleet.get("vantages", [])
    covered, intended = fleet.get("covered", 0), fleet.get("intended", len(rows))
    body = "".join(
        f"<tr class='{'covered' if r.get('covered') else 'failed'}'>"
        f"<td>{e(str(r.get('host')))}</td><td>{e(str(r.get('vantage') or '-'))}</td>"
        f"<td>{e(str(r.get('environment') or '-'))}</td>"
        f"<td>{'covered' if r.get('covered') else '<b>not covered</b>'}</td>"
        f"<td>{e(str(r.get('outcome')))}</td>"
        f"<td>{e(str(r.get('stage')) + ': ' + str(r.get('error'))) if r.get('error') else ''}"
        "</td></tr>"
        for r in rows
    )
    facts = ", ".join(
        f"{k.replace('_', ' ')} {e(str(fleet[k]))}"
        for k in ("hosts_inventory", "limit", "forks", "rate_share", "zipapp_sha256")
        if fleet.get(k) not in (None, "")
    )
    return (
        "<h2 id=fleet>Fleet</h2>"
        f"<p id=fleet-coverage>{covered} of {intended} intended vantages returned a verified "
        "run (signed with this fleet run's own key, manifest checked file by file); every "
        "other one is an inconclusive verdict below, with Ansible's error.</p>"
        f"<p class=small>{facts}</p>"
        "<table id=fleet-vantages><thead><tr><th>Ansible host</th><th>vantage</th>"
        "<th>environment</th><th>run</th><th>outcome</th><th>error</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )

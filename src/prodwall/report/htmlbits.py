"""What every part of the HTML report shares: escaping, badges, framework names."""

from __future__ import annotations

import html
from collections.abc import Iterable

from prodwall.verdicts import Outcome

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


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge(outcome: Outcome) -> str:
    return f'<span class="o {outcome.value}">{LABEL[outcome]}</span>'


def worst(outcomes: Iterable[Outcome]) -> Outcome | None:
    present = set(outcomes)
    return next((o for o in ORDER if o in present), None)

"""pytest-html, extended through its hooks: the per-run developer view of the checks.

Adds the overall outcome sentence and the attestation line to the summary, and
control, vantage, target and prodwall outcome columns to every row. The
auditor's report (report/html.py) is rendered from the results JSON instead,
because pytest-html 4 draws its rows with JavaScript.
"""

from __future__ import annotations

import html
from typing import Any

import pytest

from prodwall.session import ProdwallRun


class PytestHtmlHooks:
    def __init__(self, run: ProdwallRun) -> None:
        self.run = run

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = (
            f"prodwall checks: {self.run.loaded.inventory.name} from {self.run.vantage_name}"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        from prodwall.report.combined import Combined
        from prodwall.report.html import sentence

        results = self.run.results()
        meta = results.meta
        prefix.append(f"<p><b>{html.escape(sentence(Combined((results,))))}</b></p>")
        prefix.append(
            f"<p>vantage {html.escape(meta.vantage.name)} "
            f"({html.escape(meta.vantage.location)}), inventory sha256 "
            f"<code>{meta.inventory_sha256}</code>, started {meta.started_utc}</p>"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, "<th>Control</th>")
        cells.insert(3, "<th>Target</th>")
        cells.insert(4, "<th>prodwall outcome</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        props = dict(getattr(report, "user_properties", []))
        cells.insert(2, f"<td>{html.escape(str(props.get('control', '')))}</td>")
        cells.insert(3, f"<td>{html.escape(str(props.get('target', '')))}</td>")
        cells.insert(4, f"<td>{html.escape(str(props.get('outcome', '')))}</td>")

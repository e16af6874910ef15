"""The report in a real browser: Debian's headless Chromium, JavaScript on and off,
20,000 verdicts (root in CI, where `make test` installs chromium)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdp import Browser
from prodwall.report import html
from prodwall.report.combined import Combined
from report_data import results

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    c = Combined((results("dev", 10_000, seed=3), results("test", 10_000, seed=4)))
    path = tmp / "report.html"
    path.write_text(html.render(c))
    assert path.stat().st_size < 15 * 1024 * 1024
    return path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("PRODWALL_REQUIRE_LAB") == "1":
            pytest.fail("chromium is not installed but PRODWALL_REQUIRE_LAB=1", pytrace=False)
        pytest.skip("chromium is not installed (make test installs it as root)")
    b = Browser(chromium, tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


NAV = "performance.getEntriesByType('navigation')[0]"


def _once(expression: str, field: str) -> str:
    """JavaScript that waits (up to 5 s) until `expression` is set, then gives its `field`
    (null if it never was): measured times stay the browser's own, only reading waits."""
    return (
        "new Promise(function(done){var t0=Date.now();(function poll(){"
        f"var v={expression};"
        f"if(v){{done(v{field});}}else if(Date.now()-t0>5000){{done(null);}}"
        "else{setTimeout(poll,20);}})();})"
    )


def test_usable_with_javascript_under_three_seconds(big_report: Path, browser: Browser) -> None:
    # the browser's own clock, from the start of navigation: the first paint (summary and
    # attestation on screen) and the moment search and filters are live (our script ran).
    # Median of three loads: a 2-core CI machine has the odd scheduling hiccup.
    paints, readies = [], []
    for _ in range(3):
        browser.open(big_report.as_uri(), scripts=True)
        # the entries are read once they exist: headless Chromium may record the paint
        # after the load event that `open` waits for (a fresh machine was seen doing so)
        paints.append(
            browser.evaluate(_once("performance.getEntriesByType('paint')[0]", ".startTime"))
        )
        readies.append(browser.evaluate(_once("document.body.dataset.ready", "")))
    assert None not in paints and None not in readies, (paints, readies)
    readies = [float(r) for r in readies]
    assert sorted(paints)[1] < 1500, f"first paint at {paints} ms"
    assert sorted(readies)[1] < 3000, f"search and filters live at {readies} ms"
    assert (
        browser.evaluate("getComputedStyle(document.getElementById('filters')).display") == "flex"
    )
    assert browser.evaluate("document.querySelectorAll('#checks .k>.r').length") == 20_000
    # the search works: type a target, see only its rows
    shown = browser.evaluate(
        "(function(){var q=document.getElementById('q');q.value='tcp/1000 ';"
        "q.dispatchEvent(new Event('input'));return new Promise(function(r){"
        "setTimeout(function(){r(document.getElementById('shown').textContent)},400)})})()"
    )
    assert shown is not None
    browser.screenshot(big_report.parent / "report-js.png")
    assert (big_report.parent / "report-js.png").stat().st_size > 10_000


def test_readable_without_javascript(big_report: Path, browser: Browser) -> None:
    browser.open(big_report.as_uri(), scripts=False)
    dom = browser.outer_html()
    # DevTools can read the page's timing even with the page's own scripts off
    loaded = browser.evaluate(f"{NAV}.domContentLoadedEventEnd") / 1000
    assert "data-ready" not in dom  # the script really did not run
    assert "From 2 vantages (dev, test), 20000 checks:" in dom
    assert dom.count(' data-o="') == 20_000  # every row is there without JavaScript
    assert loaded < 3.0, f"DOMContentLoaded after {loaded:.2f} s"
    browser.screenshot(big_report.parent / "report-nojs.png")
    assert (big_report.parent / "report-nojs.png").stat().st_size > 10_000


def test_filters_hide_rows_and_matrix_links_land_on_a_row(tmp_path: Path, browser: Browser) -> None:
    """What the page does, not what it counts: after choosing an outcome, the other rows
    are not displayed; a matrix cell's link lands on a row that exists, script or not."""
    c = Combined((results("dev", 40, seed=5),))
    path = tmp_path / "small.html"
    path.write_text(html.render(c))
    reachable = sum(v.outcome.value == "reachable" for v in c.verdicts)
    assert 0 < reachable < len(c.verdicts)
    browser.open(path.as_uri(), scripts=True)
    visible = browser.evaluate(
        "(function(){var o=document.getElementById('fo');o.value='reachable';"
        "o.dispatchEvent(new Event('change'));var rows=document.querySelectorAll("
        "'#checks .k>.r');var shown=[];for(var i=0;i<rows.length;i++){if(getComputedStyle("
        "rows[i]).display!=='none'){shown.push(rows[i].dataset.o)}}return shown.join(',')})()"
    )
    assert visible.split(",") == ["reachable"] * reachable, visible
    for scripts in (True, False):
        browser.open(path.as_uri(), scripts=scripts)
        landed = browser.evaluate(
            "(function(){var a=document.querySelector('#matrix ~ div table a');"
            "if(!a){a=document.querySelector('table.matrix a')}"
            "var t=document.getElementById(a.getAttribute('href').slice(1));"
            "return t?t.className+'|'+t.dataset.o:'missing'})()"
        )
        assert landed.startswith("r|"), landed


@pytest.mark.parametrize(("paper", "width", "height"), [("A4", 8.27, 11.69), ("Letter", 8.5, 11.0)])
def test_printed_pdf_keeps_the_matrix_numbers_its_pages_and_names_the_report(
    tmp_path: Path, browser: Browser, paper: str, width: float, height: float
) -> None:
    """Print to PDF as a reader would (headless Chromium, print media): every matrix
    column is on the page, pages are numbered, each carries the report id, the
    disclosure markers do not print, the sections are bookmarks."""
    import base64 as b64

    from pypdf import PdfReader

    from prodwall.report.findings_section import report_id

    c = Combined((results("dev", 60, seed=7), results("test", 60, seed=8)))
    path = tmp_path / "print.html"
    path.write_text(html.render(c))
    browser.open(path.as_uri(), scripts=False)
    data = browser.call("Page.printToPDF", page=True, paperWidth=width, paperHeight=height,
                        printBackground=True, displayHeaderFooter=False,
                        generateTaggedPDF=True, generateDocumentOutline=True)["data"]  # fmt: skip
    pdf = tmp_path / f"report-{paper}.pdf"
    pdf.write_bytes(b64.b64decode(data))
    pages = PdfReader(str(pdf)).pages
    text = [p.extract_text() for p in pages]
    box = pages[0].mediabox
    assert abs(float(box.width) - width * 72) < 2 and abs(float(box.height) - height * 72) < 2
    assert len(pages) > 1
    for n, page in enumerate(text, 1):
        assert f"page {n} of {len(pages)}" in page, (paper, n)
        assert report_id(c) in page
    whole = "\n".join(text)
    matrix = whole.split("Reachability matrix")[1].split("Requirements")[0]
    for column in ("tcp", "udp", "dns"):
        assert column in matrix, (paper, column, matrix[:500])
    assert "▼" not in whole and "▶" not in whole

    # the sections are the PDF's bookmarks, from the page's own headings
    def titles(outline: Any) -> list[str]:
        return [t for m in outline for t in (titles(m) if isinstance(m, list) else [m.title])]

    marks = titles(PdfReader(str(pdf)).outline)
    assert {"Scope and limitations", "Sign-off", "Requirements"} <= set(marks), marks

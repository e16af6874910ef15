"""Every reference a bundle makes, opened: HTML links, OSCAL rlinks, JUnit captures."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        said = dict(attrs)
        if said.get("id"):
            self.ids.add(str(said["id"]))
        if tag == "a" and said.get("href"):
            self.hrefs.append(str(said["href"]))


def references(bundle: Path) -> dict[str, list[str]]:
    """Each view's file references (bundle-relative, as a reader's tool resolves them)."""
    out: dict[str, list[str]] = {"html": [], "oscal": [], "junit": []}
    for page in sorted(bundle.rglob("report.html")):
        links = _Links()
        links.feed(page.read_text(encoding="utf-8"))
        base = page.parent.relative_to(bundle)
        for href in links.hrefs:
            if href.startswith("#") or urlsplit(href).scheme:
                continue
            out["html"].append(str(base / unquote(href)))
    oscal = bundle / "oscal-assessment-results.json"
    if oscal.exists():
        text = oscal.read_text()
        out["oscal"] += [h for h in re.findall(r'"href": "([^"#][^"]*)"', text)]
        json.loads(text)
    junit = bundle / "junit-prodwall.xml"
    if junit.exists():
        tree = ET.parse(junit)
        out["junit"] += [p.get("value", "") for p in tree.iter("property")
                         if p.get("name") == "capture"]  # fmt: skip
    return out


def dangling(bundle: Path) -> list[str]:
    """References that do not open a regular file inside the bundle."""
    root = bundle.resolve()
    bad = []
    for view, refs in references(bundle).items():
        for ref in refs:
            target = (bundle / ref).resolve()
            if root not in target.parents or not target.is_file():
                bad.append(f"{view}: {ref}")
    return bad

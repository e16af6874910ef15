"""The README is a front door (#26) and every page it leads to is there: links resolve
(anchors too), the code's comments cite only files the repository holds."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)?(?:#([^)\s]+))?\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors: headings lowercased, punctuation dropped, spaces as dashes."""
    out = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_the_readme_is_a_front_door() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for must in ("make demo", "make test", "## Exit codes", "prodwall validate",
                 "prodwall plan", "prodwall run", "prodwall verify"):  # fmt: skip
        assert must in text, must


def test_every_link_of_the_readme_and_the_docs_resolves() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target, anchor in LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            dest = (page.parent / target).resolve() if target else page
            if not dest.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{page.name}: {target}#{anchor}")
    assert not broken, broken
    linked = {t for p in pages for t, _ in LINK.findall(p.read_text())}
    for doc in (REPO / "docs").glob("*.md"):  # every page is reachable from somewhere
        assert any(t.endswith(doc.name) for t in linked), doc.name


def test_comments_cite_only_files_the_repository_holds() -> None:
    cited = re.compile(r"\b((?:docs|checks|inventories|benchmarks)/[\w./-]+\.(?:md|yaml|py))")
    missing = []
    for path in (REPO / "src" / "prodwall").rglob("*.py"):
        for name in cited.findall(path.read_text()):
            if not (REPO / name).exists():
                missing.append(f"{path.relative_to(REPO)}: {name}")
    assert not missing, missing
    assert not [p for p in (REPO / "src").rglob("*.py") if "DESIGN.md" in p.read_text()]

"""Inventories are read with libyaml's events (part of #25: a 4 MiB inventory in about a
second) and composed in Python; PyYAML's pure-Python loader is the oracle: both must
give the same values and the same line for every key, and refuse the same files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO
from prodwall import yaml_source
from prodwall.yaml_source import YamlLoadError, parse_yaml


def _both(text: str) -> tuple[object, object]:
    def read(loader: object) -> object:
        saved = yaml_source._BoundedLoader
        yaml_source._BoundedLoader = loader  # type: ignore[assignment]
        try:
            doc = parse_yaml(text.encode(), "t.yaml")
        except YamlLoadError as exc:
            return ("refused", [p.line for p in exc.problems])
        finally:
            yaml_source._BoundedLoader = saved
        return (doc.data, doc.lines)

    assert yaml_source._BoundedLoader is not yaml_source._PyLoader  # libyaml is here
    fast = read(yaml_source._BoundedLoader)
    return fast, read(yaml_source._PyLoader)


@pytest.mark.parametrize("path", sorted((REPO / "inventories").glob("*.yaml")), ids=str)
def test_the_shipped_inventories_read_the_same(path: Path) -> None:
    fast, slow = _both(path.read_text())
    assert fast == slow


scalars = st.one_of(
    st.sampled_from(["1", "0x1f", "0o17", "1_000", "20:23", "yes", "no", "~", "null", "2024-01-02",
                     "1.5", ".inf", "'q'", '"d\\tq"', "a b", "[]", "{}", "&a x", "*a", "!!str 5",
                     "- x", "? k", "x: y: z"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3), scalars),
                max_size=8))  # fmt: skip
def test_generated_documents_read_the_same(items: list[tuple[str, int, str]]) -> None:
    text = "".join(f"{'  ' * indent}{key}: {value}\n" for key, indent, value in items)
    fast, slow = _both(text)
    assert fast == slow, text

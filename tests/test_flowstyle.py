"""The secrets agent's own YAML flow-style reader (the vantage has no PyYAML), checked
against PyYAML's safe loader on generated one-line nodes (part of #25): where PyYAML
reads a mapping or sequence, ours reads the same keys and the same values as text, and
it never reads something PyYAML refuses."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from prodwall.families.secrets import flowstyle

plain = st.sampled_from(["db.prod.example.com", "5432", "postgres://u:p@h:5432/d", "pay",
                         "h:5432", "a b", "x-1", "true", "~",
                         "198.19.0.1", "S3cr3t!pw"])  # fmt: skip
quoted = st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=10).map(
    lambda t: st.sampled_from([f"'{t.replace(chr(39), chr(39) * 2)}'", json_quote(t)])
)
keys = st.sampled_from(["host", "password", "port", "url", "user", '"host"', "'pw'"])


def json_quote(text: str) -> str:
    import json

    return json.dumps(text)


def nodes() -> st.SearchStrategy[str]:
    scalar = st.one_of(plain, quoted.flatmap(lambda s: s))
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(st.tuples(keys, inner), max_size=4).map(
                lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
            ),
        ),
        max_leaves=12,
    )


def _text(value: Any) -> Any:
    """PyYAML's typed values as the text they were written as (ours keeps text)."""
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


@settings(max_examples=400, deadline=None)
@given(nodes().filter(lambda t: t[:1] in "{["))
def test_flow_nodes_read_as_pyyaml_reads_them(text: str) -> None:
    try:
        oracle = yaml.load(text, Loader=yaml.BaseLoader)  # every scalar kept as text
    except yaml.YAMLError:
        oracle = None
    ours = flowstyle.parse(text)
    if oracle is None or not isinstance(oracle, dict | list):
        assert ours is None, text
        return
    assert ours == _text(oracle), text


def test_what_is_not_one_flow_node_is_none() -> None:
    for text in ("{a: b} trailing", "{a: [1, 2}", "{a: b", "[" * 100 + "]" * 100, "{a: 'x}",
                 "host: x", ""):  # fmt: skip
        assert flowstyle.parse(text) is None, text

"""The prefilters of the secrets scan come from one list (#26): every token a credential
pattern can match holds one of its declared anchors, so no prefilter can skip a text
that holds a credential (hypothesis generates the tokens from the patterns themselves)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodwall.families.secrets import creds, scan


@pytest.mark.parametrize("index", range(len(creds.TOKENS)))
def test_every_token_a_pattern_matches_holds_one_of_its_anchors(index: int) -> None:
    rule, anchors, pattern = creds.TOKENS[index]
    inner = pattern.pattern.removeprefix(r"\b(").removesuffix(r")\b")

    @settings(max_examples=100, deadline=None)
    @given(st.from_regex(inner, fullmatch=True))
    def holds(token: str) -> None:
        assert any(a in token for a in anchors), (rule, token)
        assert any(a in token for a in creds.TOKEN_ANCHORS)
        assert scan._anchored(f"x = {token}".lower()), (rule, token)
        if token[-1].isalnum() or token[-1] == "_":  # the pattern's closing \b needs one
            assert [c.rule for c in creds.every(f"x = {token} ")] == [rule], token

    holds()


def test_the_scan_prefilter_holds_every_credential_anchor() -> None:
    assert {a.lower() for a in creds.ANCHORS} <= set(scan.ANCHORS)

"""Untrusted bundles never crash a reader: results.json and manifest.json, mutated by
Hypothesis (any subtree replaced, removed or nested absurdly deep), go through report,
merge, diff, history, ci and verify. Every command ends with an exit code of its table,
never a traceback; a malformed file is exit 2, and exit 1 ("something reachable") only
ever comes from results that parse and hold a reachable verdict."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodwall.cli import main
from prodwall.errors import ProdwallError
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined
from prodwall.report.manifest import write_manifest
from prodwall.results import parse_results, write_results
from prodwall.verdicts import Outcome
from report_data import WAIVERS, ran_hours_ago, results

B, R = Outcome.BLOCKED, Outcome.REACHABLE
READERS = ("report", "merge", "diff", "history", "ci", "verify")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutation(draw: st.DrawFn, doc: Any) -> tuple[tuple[Any, ...], str, Any]:
    """Where and how to change `doc`: a subtree replaced, removed, or buried deep (the
    deep value is built outside, so Hypothesis never has to print it)."""
    path = draw(st.sampled_from(_paths(doc)))
    how = draw(st.sampled_from(["replace", "replace", "remove", "deep"]))
    return path, how, draw(json_values) if how == "replace" else None


SENTINEL = "\x00prodwall-fuzz-deep\x00"
DEPTH = 20_000


def apply(doc: Any, change: tuple[tuple[Any, ...], str, Any]) -> str:
    """The changed document as JSON text. A deep nesting is spliced into the text (no
    Python structure that deep can be built, printed or dumped)."""
    path, how, value = change
    doc = copy.deepcopy(doc)
    buried: Any = None
    if not path:
        buried, doc = (doc, SENTINEL) if how == "deep" else (None, value)
    else:
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if how == "remove":
            del parent[last]
        elif how == "deep":
            buried, parent[last] = parent[last], SENTINEL
        else:
            parent[last] = value
    text = json.dumps(doc)
    if how == "deep":
        text = text.replace(json.dumps(SENTINEL), "[" * DEPTH + json.dumps(buried) + "]" * DEPTH)
    return text


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed run folder of tonight, and one of last night (for --previous)."""
    root = tmp_path_factory.mktemp("fuzz")
    for name, hours in (("tonight", 2), ("last", 20)):
        r = results("dev", 4, outcomes=[R, B, B])
        r = ran_hours_ago(dataclasses.replace(r, waivers=(WAIVERS[0],)), hours)
        write_results(r, root / name / "results.json")
        write_bundle(Combined((r,)), root / name)
    return root


def _legitimately_reachable(text: str) -> bool:
    try:
        parsed = parse_results(json.loads(text), "fuzz")
    except (ProdwallError, RecursionError, ValueError):
        return False
    return any(v.outcome is Outcome.REACHABLE for v in parsed.verdicts)


def _run_all(folder: Path, last: Path, out: Path) -> dict[str, int]:
    codes = {}
    for cmd in READERS:
        target = out / cmd
        args = {
            "report": ["report", str(folder), "-o", str(target)],
            "merge": ["merge", str(folder), str(last), "-o", str(target)],
            "diff": ["diff", str(last), str(folder)],
            "history": ["history", str(folder.parent), "-o", str(target)],
            "ci": ["ci", str(folder), "--previous", str(last)],
            "verify": ["verify", str(folder)],
        }[cmd]
        # read even when it does not verify: the parser and every view must hold alone
        extra = ["--allow-unverified"] if cmd != "verify" else []
        codes[cmd] = main([*args, *extra, "--format", "json"])  # an exception fails the test
        shutil.rmtree(target, ignore_errors=True)
    return codes


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=SLOW_OK)
@given(data=st.data())
def test_mutated_results_never_crash_a_reader(
    template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """The mutated results are re-signed by the trusted key and read with
    --allow-unverified, so every reader has to parse and render them: what a compromised
    or buggy signer could hand on."""
    work = tmp_path_factory.mktemp("case")
    night = work / "nights" / "tonight"
    shutil.copytree(template / "tonight", night)
    last = template / "last"
    good = json.loads((night / "results.json").read_text())
    text = apply(good, data.draw(mutation(good)))
    (night / "results.json").write_text(text)
    write_manifest(night)  # re-signed: the content, not the signature, is under test
    codes = _run_all(night, last, work / "out")
    assert set(codes.values()) <= {0, 1, 2, 3}, codes
    if not _legitimately_reachable(text):
        assert 1 not in (codes["report"], codes["ci"]), codes  # merge reads last night too
    if codes["verify"] != 0:  # it did not verify (the report renders other data): never 0
        assert 0 not in (codes["report"], codes["merge"], codes["ci"]), codes


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_mutated_manifests_never_crash_a_reader(
    template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    work = tmp_path_factory.mktemp("case")
    night = work / "nights" / "tonight"
    shutil.copytree(template / "tonight", night)
    good = json.loads((night / "manifest.json").read_text())
    (night / "manifest.json").write_text(apply(good, data.draw(mutation(good))))
    codes = _run_all(night, template / "last", work / "out")
    # a manifest that changed is no longer the signed one
    assert codes["verify"] == 1, codes
    # read anyway (--allow-unverified), the results are intact: never a clean pass
    for cmd in ("report", "merge", "history", "ci"):
        assert codes[cmd] in (1, 3), (cmd, codes)

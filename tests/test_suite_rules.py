"""Rules of this suite itself (#26): no test asserts that something was fast (a loaded
machine is slow; timings belong in benchmarks/), and every lab test is marked so the
serial lab phase runs it."""

from __future__ import annotations

import ast
import re

from conftest import REPO

TESTS = REPO / "tests"
TIMED = re.compile(r"\b(seconds|elapsed|took|duration|perf_counter\(\)|monotonic\(\))")


def test_no_test_asserts_an_upper_bound_on_time() -> None:
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
                text = ast.unparse(node.test)
                ops = node.test.ops
                if TIMED.search(text) and any(isinstance(o, ast.Lt | ast.LtE) for o in ops):
                    found.append(f"{path.name}:{node.lineno}: {text}")
    assert not found, found


def test_the_rule_above_sees_a_timing_assertion() -> None:
    tree = ast.parse("assert took < 60\nassert elapsed >= 0.6\n")
    hits = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)
            and any(isinstance(o, ast.Lt) for o in n.test.ops)]  # type: ignore[attr-defined]
    assert len(hits) == 1


def test_lab_tests_are_marked() -> None:
    """A file named *_lab.py holds lab tests only: its module is marked `lab`."""
    for path in sorted(TESTS.glob("test_*_lab.py")):
        assert "pytestmark = pytest.mark.lab" in path.read_text(), path.name


def test_no_module_grows_past_330_lines() -> None:
    """Small modules with names that explain themselves: one past the bound is split."""
    long = {str(p.relative_to(REPO)): n for p in (REPO / "src").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 330}  # fmt: skip
    assert not long, long

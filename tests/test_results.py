"""The results JSON round-trips, maps to exit codes, and carries no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodwall.errors import InputError
from prodwall.results import SCHEMA, Results, RunMeta, VantageInfo, read_results, write_results
from prodwall.verdicts import Outcome, Verdict

META = RunMeta(
    "2026-11-27T00:00:00Z",
    "2026-11-27T00:01:00Z",
    VantageInfo("dev", "netns:dev", "dev", ("198.18.0.2/24 (eth0)",)),
    {"user": "ci"},
    "0.1.0",
    "abc",
    "inv.yaml",
    "0" * 64,
    "t",
)


def _results(*outcomes: Outcome) -> Results:
    verdicts = tuple(
        Verdict(f"c{i}", ("NET-ROUTE-01",), "dev", "g", o, "r") for i, o in enumerate(outcomes)
    )
    return Results(SCHEMA, META, verdicts, {"route": 2})


@pytest.mark.parametrize(
    ("outcomes", "overall", "code"),
    [
        ((Outcome.BLOCKED, Outcome.BLOCKED), Outcome.BLOCKED, 0),
        ((Outcome.BLOCKED, Outcome.WAIVED), Outcome.WAIVED, 0),
        ((Outcome.BLOCKED, Outcome.REACHABLE, Outcome.INCONCLUSIVE), Outcome.REACHABLE, 1),
        ((Outcome.BLOCKED, Outcome.INCONCLUSIVE), Outcome.INCONCLUSIVE, 3),
        ((Outcome.NOT_REVIEWED,), Outcome.NOT_REVIEWED, 3),
        ((), Outcome.NOT_REVIEWED, 3),
        ((Outcome.BLOCKED, Outcome.NOT_REVIEWED), Outcome.BLOCKED, 0),
    ],
)
def test_overall_outcome_and_exit_code(
    outcomes: tuple[Outcome, ...], overall: Outcome, code: int
) -> None:
    results = _results(*outcomes)
    assert results.overall is overall
    assert results.exit_code() == code


def test_round_trip(tmp_path: Path) -> None:
    results = _results(Outcome.BLOCKED, Outcome.REACHABLE)
    write_results(results, tmp_path / "r.json")
    back = read_results(tmp_path / "r.json")
    assert back == results
    raw = json.loads((tmp_path / "r.json").read_text())
    assert raw["schema"] == "prodwall.results/1"
    assert raw["verdicts"][1]["outcome"] == "reachable"


def test_tampered_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"schema": "something/9"}')
    with pytest.raises(InputError, match="not a prodwall results file"):
        read_results(path)
    write_results(_results(Outcome.BLOCKED), path)
    path.write_text(path.read_text().replace('"blocked"', '"fine"'))
    with pytest.raises(InputError, match="altered or truncated"):
        read_results(path)

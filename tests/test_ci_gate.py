"""`prodwall ci`: tonight against last night, through the CLI, every exit code."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

from conftest import run_cli
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined
from prodwall.results import Results, read_results, write_results
from prodwall.verdicts import Outcome
from report_data import WAIVERS, ran_hours_ago, results

B, R, INC = Outcome.BLOCKED, Outcome.REACHABLE, Outcome.INCONCLUSIVE
ACTIVE = (WAIVERS[0],)


_CLOCK = itertools.count()


def recent(r: Results) -> Results:
    """The run as if it ran a few hours ago: each call ten minutes later than the last, so
    nights made one after another are in that order (ci refuses an older "tonight")."""
    return ran_hours_ago(r, 30 - next(_CLOCK) / 6)  # ten minutes apart; each run lasts five


def _night(tmp: Path, name: str, outcomes: list[Outcome], **change: object) -> Path:
    r = recent(results("dev", n=len(outcomes), outcomes=outcomes))
    r = dataclasses.replace(r, waivers=change.pop("waivers", ACTIVE), **change)  # type: ignore[arg-type]
    folder = tmp / name
    folder.mkdir()
    write_results(r, folder / "results.json")
    write_bundle(Combined((r,)), folder)  # signed by the suite's key: what `run` leaves
    return folder


def _ci(*args: str) -> tuple[int, str]:
    done = run_cli("ci", *args)
    return done.returncode, done.stdout + done.stderr


def test_nothing_new_passes_and_a_new_reachable_finding_fails(tmp_path: Path) -> None:
    last = _night(tmp_path, "last", [B, B, B])
    same = _night(tmp_path, "same", [B, B, B])
    assert _ci(str(same), "--previous", str(last))[0] == 0
    worse = _night(tmp_path, "worse", [B, R, B])
    code, said = _ci(str(worse), "--previous", str(last), "--format", "github")
    assert code == 1
    assert "::error title=prodwall%3A newly reachable (dev)::" in said
    assert "198.19.0.1 tcp/1001 (db): open (SYN-ACK)" in said


def test_a_known_reachable_finding_passes_unless_strict(tmp_path: Path) -> None:
    last = _night(tmp_path, "last", [B, R, B])
    tonight = _night(tmp_path, "tonight", [B, R, B])
    code, said = _ci(str(tonight), "--previous", str(last))
    assert code == 0 and "1 still reachable" in said
    assert _ci(str(tonight), "--previous", str(last), "--fail-on", "any")[0] == 1


def test_a_new_finding_in_a_check_that_was_already_reachable_fails(tmp_path: Path) -> None:
    last = _night(tmp_path, "last", [B, R, B])
    r = read_results(last / "results.json")
    v = r.verdicts[1]
    v = dataclasses.replace(v, findings=(*v.findings, "198.19.0.7 tcp/6443 (k8s): open (SYN-ACK)"))
    r = recent(dataclasses.replace(r, verdicts=(r.verdicts[0], v, r.verdicts[2])))
    tonight = tmp_path / "tonight"
    write_results(r, tonight / "results.json")
    write_bundle(Combined((r,)), tonight)
    code, said = _ci(str(tonight), "--previous", str(last), "--format", "json")
    doc = json.loads(said)
    assert code == 1 == doc["exit_code"]
    new = [f["text"] for f in doc["new_reachable"]]
    assert new == ["198.19.0.7 tcp/6443 (k8s): open (SYN-ACK)"]
    assert len(doc["still_reachable"]) == 1


def test_an_expired_waiver_fails(tmp_path: Path) -> None:
    last = _night(tmp_path, "last", [B, B])
    tonight = _night(tmp_path, "tonight", [B, B], waivers=WAIVERS)  # W-OLD has expired
    code, said = _ci(str(tonight), "--previous", str(last), "--format", "github")
    assert code == 1 and "::error title=prodwall%3A expired waiver W-OLD::RISK-100" in said


def test_lost_coverage_is_3_and_strict_fails_on_any_inconclusive(tmp_path: Path) -> None:
    last = _night(tmp_path, "last", [B, B, B])
    tonight = _night(tmp_path, "tonight", [B, INC, B])
    code, said = _ci(str(tonight), "--previous", str(last))
    assert code == 3 and "became-inconclusive" in said
    gone = _night(tmp_path, "gone", [B, B])  # the third check no longer ran
    assert _ci(str(gone), "--previous", str(last))[0] == 3
    steady = _night(tmp_path, "steady", [B, INC, B])
    assert _ci(str(steady), "--previous", str(tonight))[0] == 0
    assert _ci(str(steady), "--previous", str(tonight), "--fail-on", "any")[0] == 3


def test_a_fleet_vantage_not_covered_is_lost_coverage(tmp_path: Path) -> None:
    night = results("dev", n=2, outcomes=[B, B])
    night = dataclasses.replace(night, waivers=ACTIVE)
    fleet = {"intended": 2, "covered": 1, "vantages": [
        {"host": "dev-ws", "covered": True},
        {"host": "test-ci", "covered": False, "stage": "unreachable: work folder",
         "error": "Failed to connect to the host via ssh: Connection refused"},
    ]}  # fmt: skip
    last = _night(tmp_path, "last", [B, B])
    folder = tmp_path / "fleet"
    write_bundle(Combined((recent(night),), fleet=fleet), folder)
    code, said = _ci(str(folder), "--previous", str(last))
    assert code == 3 and "vantage not covered: test-ci" in said and "Connection refused" in said


def test_first_night_counts_every_reachable_finding_as_new(tmp_path: Path) -> None:
    tonight = _night(tmp_path, "tonight", [R, B])
    summary = tmp_path / "summary.md"
    code, said = _ci(str(tonight), "--previous", str(tmp_path / "nothing-yet"),
                     "--summary", str(summary))  # fmt: skip
    assert code == 1 and "every reachable finding counts as new" in said
    assert "| newly reachable findings | 1 |" in summary.read_text()
    assert _ci(str(tonight))[0] == 1  # no --previous at all: the same


def test_usage_errors_are_2(tmp_path: Path) -> None:
    assert _ci(str(tmp_path / "missing"))[0] == 2
    assert _ci(str(tmp_path), "--fail-on", "sometimes")[0] == 2
    code, said = _ci(str(tmp_path / "missing"), "--format", "json")
    assert code == 2 and json.loads(said)["error"]["exit_code"] == 2




def test_what_a_host_says_cannot_steer_the_report_or_the_ci_log(tmp_path: Path) -> None:
    """A fleet host's error text and a finding's text are data: escaped in the HTML,
    and unable to start a workflow command of their own in the GitHub log."""
    from prodwall.report.html import render

    night = dataclasses.replace(results("dev", n=2, outcomes=[R, B]), waivers=ACTIVE)
    v = night.verdicts[0]
    evil = "x\n::add-mask::everything\n<script>alert(1)</script>"
    night = dataclasses.replace(night, verdicts=(dataclasses.replace(v, findings=(evil,)),
                                                 night.verdicts[1]))  # fmt: skip
    fleet = {"intended": 1, "covered": 0, "vantages": [
        {"host": "dev-ws", "covered": False, "stage": "failed: run the suite", "error": evil},
    ]}  # fmt: skip
    page = render(Combined((night,), fleet=fleet))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    folder = tmp_path / "night"
    write_bundle(Combined((recent(night),), fleet=fleet), folder)
    code, said = _ci(str(folder), "--format", "github")
    assert code == 1
    commands = [line for line in said.splitlines() if line.startswith("::")]
    assert commands and not [c for c in commands if c.startswith("::add-mask")]
    assert any(r"x\x0a::add-mask::everything\x0a<script>" in c for c in commands if "::error" in c)
    # the plain listing runs with GitHub's workflow commands stopped, then resumed
    lines = said.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].split("::")[2]
    assert lines[-1] == f"::{token}::" and len(token) == 32

"""One exit-code table, command by command, through the CLI as CI calls it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined
from prodwall.results import Results, write_results
from prodwall.verdicts import Outcome
from report_data import results

B, R, I, N = Outcome.BLOCKED, Outcome.REACHABLE, Outcome.INCONCLUSIVE, Outcome.NOT_REVIEWED  # noqa: E741


def _run_folder(
    folder: Path, outcomes: list[Outcome], vantage: str = "dev", day: str = "2026-11-27"
) -> Results:
    """What `prodwall run` leaves: results.json and its bundle."""
    r = results(vantage, len(outcomes), started=f"{day}T01:00:00Z", outcomes=outcomes)
    write_results(r, folder / "results.json")
    write_bundle(Combined((r,)), folder)
    return r


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [([B, B, B], 0), ([B, R, B], 1), ([B, I, B], 3), ([N, N, N], 3), ([B, R, I], 1)],
)
def test_report_exit_code_follows_the_results(
    tmp_path: Path, outcomes: list[Outcome], code: int
) -> None:
    _run_folder(tmp_path / "run", outcomes)
    done = run_cli("report", str(tmp_path / "run"), "-o", str(tmp_path / "out"))
    assert done.returncode == code, done.stdout + done.stderr
    assert (tmp_path / "out" / "report.html").exists()  # written whatever it says


def test_merge_exit_code_is_the_worst_of_all_inputs(tmp_path: Path) -> None:
    _run_folder(tmp_path / "a", [B, B, B])
    _run_folder(tmp_path / "b", [B, R, B], vantage="test")
    done = run_cli("merge", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "m"))
    assert done.returncode == 1
    done = run_cli("merge", str(tmp_path / "a"), "-o", str(tmp_path / "m2"), "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["overall"] == "blocked"


def _nights(
    folder: Path, spec: dict[str, list[Outcome]], vantages: tuple[str, ...] = ("dev",)
) -> None:
    for day, outcomes in spec.items():
        for vantage in vantages:
            _run_folder(folder / f"{day}-{vantage}", outcomes, vantage, day)


def test_history_exit_code_is_the_last_nights(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    _nights(fixed, {"2026-11-25": [B, R, B], "2026-11-26": [B, B, B]})
    done = run_cli("history", str(fixed), "-o", str(tmp_path / "h1"))
    assert done.returncode == 0, done.stdout  # reachable before, blocked last night
    leaking = tmp_path / "leaking"
    _nights(leaking, {"2026-11-25": [B, B, B], "2026-11-26": [B, R, B]})
    assert run_cli("history", str(leaking), "-o", str(tmp_path / "h2")).returncode == 1
    unsure = tmp_path / "unsure"
    _nights(unsure, {"2026-11-25": [B, B, B], "2026-11-26": [B, I, B]})
    assert run_cli("history", str(unsure), "-o", str(tmp_path / "h3")).returncode == 3


def test_history_flags_a_tampered_night(tmp_path: Path) -> None:
    nightly = tmp_path / "nightly"
    _nights(nightly, {"2026-11-25": [B, R, B], "2026-11-26": [B, B, B]})
    old = nightly / "2026-11-25-dev" / "results.json"
    old.write_text(old.read_text().replace('"reachable"', '"blocked"'))  # history rewritten
    done = run_cli("history", str(nightly), "-o", str(tmp_path / "h"))
    assert done.returncode == 2 and "refused: this night does not verify" in done.stderr
    assert not (tmp_path / "h").exists()  # refused before anything was written
    done = run_cli("history", str(nightly), "-o", str(tmp_path / "h"), "--allow-unverified")
    assert done.returncode == 3, done.stdout
    flagged = [x for x in done.stdout.splitlines() if x.startswith("FLAGGED  2026-11-25")]
    assert "2026-11-25-dev: TAMPERED: " in flagged[0] and "changed results.json" in flagged[0]
    page = (tmp_path / "h" / "report.html").read_text()
    # the rewritten night does not count as fully blocked: only the intact one does
    assert "changed results.json" in page and "2 nights run, 1 fully blocked" in page


def test_history_requires_signatures_when_given_a_key(tmp_path: Path) -> None:
    from prodwall.report.manifest import keygen

    _key, pub = keygen(tmp_path / "signer")
    nightly = tmp_path / "nightly"
    unsigned = {"PRODWALL_SIGNING_KEY": ""}
    _nights(nightly, {"2026-11-26": [B, B, B]})  # signed by the suite's key, not this one
    done = run_cli("history", str(nightly), "-o", str(tmp_path / "h"), "--public-key", str(pub),
                   "--allow-unverified", env=unsigned)  # fmt: skip
    assert done.returncode == 3 and "a key that is not trusted" in done.stdout
    done = run_cli("history", str(nightly), "-o", str(tmp_path / "h2"), "--public-key", str(pub),
                   env=unsigned)  # fmt: skip
    assert done.returncode == 2 and "refused" in done.stderr


def test_history_flags_a_missing_vantage_and_a_duplicate_run(tmp_path: Path) -> None:
    nightly = tmp_path / "nightly"
    _nights(nightly, {"2026-11-25": [B, B, B]}, vantages=("dev", "test"))
    _nights(nightly, {"2026-11-26": [B, B, B]}, vantages=("dev",))
    done = run_cli("history", str(nightly), "-o", str(tmp_path / "h"), "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 3  # last night blocked, but test did not run
    assert "2026-11-26: no run from vantage test" in doc["flags"]
    dup = tmp_path / "dup"
    _run_folder(dup / "a", [B, B, B])
    _run_folder(dup / "b", [B, B, B])  # the same vantage and start time twice
    done = run_cli("history", str(dup), "-o", str(tmp_path / "h2"))
    assert "2 runs of vantage dev all started at 2026-11-27T01:00:00Z" in done.stdout
    assert done.returncode == 3


def _diff(
    tmp_path: Path, old: list[Outcome], new: list[Outcome], **kw: str
) -> tuple[int, str, str]:
    _run_folder(tmp_path / "old", old)
    _run_folder(tmp_path / "new", new, vantage=kw.get("vantage", "dev"))
    done = run_cli("diff", str(tmp_path / "old"), str(tmp_path / "new"))
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("old", "new", "code", "says"),
    [
        ([B, B], [B, B], 0, "0 changes"),
        ([B, R], [B, B], 0, "1 fixed"),
        ([B, B], [B, R], 1, "1 became reachable"),
        ([B, B], [B, B, R], 1, "new check: "),  # a check that did not exist before
        ([B, B], [B, I], 3, "1 became inconclusive"),
        ([B, B], [B, B, I], 3, "1 became inconclusive"),
        ([B, B, B], [B, B], 3, "1 no longer checked"),
        ([B, I], [B, R], 1, "1 became reachable"),
    ],
)
def test_diff_exit_codes(
    tmp_path: Path, old: list[Outcome], new: list[Outcome], code: int, says: str
) -> None:
    got, out, _ = _diff(tmp_path, old, new)
    assert got == code and says in out, out


def test_diff_warns_when_the_runs_are_not_comparable(tmp_path: Path) -> None:
    _, _, err = _diff(tmp_path, [B, B], [B, B], vantage="test")
    assert "warning: the runs are from different vantages (dev vs test)" in err


def test_diff_json_holds_the_changes_and_its_exit_code(tmp_path: Path) -> None:
    _run_folder(tmp_path / "old", [B, B])
    _run_folder(tmp_path / "new", [B, R])
    done = run_cli("diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == doc["exit_code"] == 1
    assert [c["kind"] for c in doc["changes"]] == ["became-reachable"]

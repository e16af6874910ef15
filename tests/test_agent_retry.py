"""A remote vantage that cannot be reached is tried again, bounded, with backoff, before
its checks become inconclusive (#26); each retry is said in the run's notices. Only a
failure to connect (nothing ran at the vantage) is retried: an agent that ran and failed
is not run twice. The transport here is a local script standing in for ssh: it fails to
connect the first times, then runs the agent; nothing is sent anywhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from prodwall.inventory.model import Vantage
from prodwall.vantages import agent
from prodwall.vantages.backends import Launch

FLAKY = """#!/bin/sh
n=$(cat "$1" 2>/dev/null || echo 0); echo $((n + 1)) > "$1"
if [ "$n" -lt "$2" ]; then
  echo "ssh: connect to host 198.18.250.2 port 22: Connection timed out" >&2; exit "$3"
fi
shift 3; exec "$@"
"""


def _vantage() -> Vantage:
    return Vantage(location="ssh://root@198.18.250.2", environment="dev")


@pytest.fixture
def flaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    script = tmp_path / "flaky-ssh"
    script.write_text(FLAKY)
    script.chmod(0o755)
    counter = tmp_path / "count"
    monkeypatch.setattr(agent, "BACKOFF_S", (0.0, 0.0))  # the waits are not what is tested
    agent.take_connection_notes()

    def use(failures: int, code: int = 255) -> Path:
        counter.write_text("0")

        def fake(vantage: Vantage, remote: list[str]) -> Launch:
            argv = [sys.executable if p == "{python}" else p for p in remote]
            return Launch([str(script), str(counter), str(failures), str(code), *argv],
                          sys.executable)  # fmt: skip

        monkeypatch.setattr(agent, "launch", fake)
        return counter

    return use


def test_a_vantage_reached_on_the_third_attempt_runs_and_says_so(flaky: object) -> None:
    counter = flaky(2)  # type: ignore[operator]
    module = "prodwall.families.routes.vantage_agent"
    result = agent.run_agent(_vantage(), module, {"wanted": []}, 60)
    assert "lookups" in result
    assert counter.read_text().strip() == "3"
    notes = agent.take_connection_notes()
    assert len(notes) == 2 and all("Connection timed out" in n for n in notes), notes
    assert "attempt 1 of 3" in notes[0] and "attempt 2 of 3" in notes[1]


def test_a_vantage_never_reached_is_an_error_naming_the_attempts(flaky: object) -> None:
    counter = flaky(5)  # type: ignore[operator]
    with pytest.raises(agent.AgentError, match=r"Connection timed out.*after 3 attempts"):
        agent.run_agent(_vantage(), "prodwall.families.routes.vantage_agent", {"wanted": []}, 60)
    assert counter.read_text().strip() == "3"  # bounded


def test_an_agent_that_ran_and_failed_is_not_run_again(flaky: object) -> None:
    counter = flaky(1, code=1)  # type: ignore[operator]
    with pytest.raises(agent.AgentError, match="exit 1"):
        agent.run_agent(_vantage(), "prodwall.families.routes.vantage_agent", {"wanted": []}, 60)
    assert counter.read_text().strip() == "1"
    assert agent.take_connection_notes() == []


def test_a_local_vantage_is_not_retried(flaky: object) -> None:
    counter = flaky(1)  # type: ignore[operator]
    with pytest.raises(agent.AgentError):
        agent.run_agent(Vantage(location="local", environment="dev"),
                        "prodwall.families.routes.vantage_agent", {"wanted": []}, 60)  # fmt: skip
    assert counter.read_text().strip() == "1"

"""Remote vantages in the lab: prodwall runs in the runner namespace and reaches the
dev and test hosts over ssh (testinfra's ssh backend, the hosts' real sshd, the
agent shipped as one file, Debian's Python there), and must find what the
netns: vantages find, verdict for verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from labrun import _inventory, _run, _verdicts, lab

pytestmark = pytest.mark.lab

RUNNER = "pwlab-runner"
STATE = Path("/var/lib/prodwall-lab/state.json")


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with lab("leaky"):
        yield _inventory(tmp_path_factory.mktemp("ssh"))


def _from_runner(inv: Path, vantage: str, out: Path) -> tuple[int, dict[str, Any], str]:
    """`prodwall run` inside the runner namespace, as a CI job on its own host would."""
    done = subprocess.run(
        ["ip", "netns", "exec", RUNNER, sys.executable, "-m", "prodwall.cli", "run",
         "-i", str(inv), "--vantage", vantage, "-o", str(out),
         "--checks", str(REPO / "checks"), "-q", "--", "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, json.loads((out / "results.json").read_text()), done.stderr


def _outcomes(results: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {k: v["outcome"] for k, v in _verdicts(results).items()}


def test_the_management_link_gives_no_route_to_production(leaky: Path) -> None:
    for address in ("198.19.10.10", "fd00:19:10::10", "198.18.1.1"):
        looked = subprocess.run(
            ["ip", "-n", RUNNER, "route", "get", address], capture_output=True, text=True
        )
        assert looked.returncode != 0 and "unreachable" in looked.stderr, looked.stdout
    # on the dev host the management link is only its own /30: production is via the router
    via = subprocess.run(
        ["ip", "-n", "pwlab-dev", "-j", "route", "get", "198.19.10.10"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(via.stdout)[0]["dev"] == "eth0"


@pytest.mark.parametrize(("netns", "ssh"), [("dev", "dev-ssh"), ("test", "test-ssh")])
def test_ssh_vantages_find_the_same_leaks_with_the_same_verdicts(
    leaky: Path, tmp_path: Path, netns: str, ssh: str
) -> None:
    code_ns, local = _run(leaky, netns, tmp_path / netns)
    code_ssh, remote, err = _from_runner(leaky, ssh, tmp_path / ssh)
    assert _outcomes(remote) == _outcomes(local), err[-2000:]
    assert code_ssh == code_ns == 1
    assert "reachable" in _outcomes(remote).values()
    meta = remote["meta"]["vantage"]
    assert meta["location"].startswith("ssh://root@198.18.200.")
    assert any("(mgmt0)" in a for a in meta["addresses"])  # read at the host itself
    # every TCP verdict's capture was written by the runner from what the agent sent back
    assert (tmp_path / ssh / "evidence" / f"{ssh}-tcp.pcap").is_file()


def test_a_stopped_sshd_makes_the_vantage_inconclusive_not_missing(
    leaky: Path, tmp_path: Path
) -> None:
    _, normal, _ = _from_runner(leaky, "dev-ssh", tmp_path / "before")
    pid = json.loads(STATE.read_text())["pids"]["sshd-dev-ws"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    code, stopped, _ = _from_runner(leaky, "dev-ssh", tmp_path / "after")
    assert code == 3
    assert _verdicts(stopped).keys() == _verdicts(normal).keys()  # every check is there
    outcomes = set(_outcomes(stopped).values())
    assert outcomes <= {"inconclusive", "not-reviewed"} and "inconclusive" in outcomes
    tcp = _verdicts(stopped)[("NET-TCP-01", "198.19.10.0/24")]
    assert "Connection refused" in json.dumps(tcp)  # the backend's own error, named

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
from labrun import _inventory, _run, _verdicts, lab, wait_gone

pytestmark = pytest.mark.lab

RUNNER = "pwlab-runner"
STATE = Path("/var/lib/prodwall-lab/state.json")


LAB = Path("/var/lib/prodwall-lab")
# the same hosts through the other testinfra backends: paramiko, and an Ansible inventory
# (testinfra's runner picks the backend from it: ssh here), and paramiko with a known_hosts
# that does not hold the host's key (it must refuse, not warn and go on)
EXTRA_VANTAGES = """\
  dev-paramiko:
    location: paramiko://root@198.18.200.2
    environment: dev
    python: /usr/bin/python3
    ssh_config: /var/lib/prodwall-lab/ssh_config
  test-ansible:
    location: ansible://test-ci
    environment: test
    python: /usr/bin/python3
    ssh_config: /var/lib/prodwall-lab/ssh_config
    ansible_inventory: {ansible}
  test-paramiko-unknown-key:  # test-ci: dev-ws's sshd is stopped by a test below
    location: paramiko://root@198.18.200.6
    environment: test
    python: /usr/bin/python3
    ssh_config: {stranger}
"""


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("ssh")
    with lab("leaky"):
        inv = _inventory(tmp)
        ansible = tmp / "hosts.ini"
        ansible.write_text(
            "[ci]\ntest-ci ansible_host=198.18.200.6 ansible_user=root "
            f"ansible_ssh_private_key_file={LAB / 'keys' / 'client_ed25519'}\n"
        )
        (tmp / "empty_known_hosts").write_text("")
        stranger = tmp / "ssh_config"
        stranger.write_text(
            (LAB / "ssh_config")
            .read_text()
            .replace(str(LAB / "known_hosts"), str(tmp / "empty_known_hosts"))
        )
        extra = EXTRA_VANTAGES.format(ansible=ansible, stranger=stranger)
        inv.write_text(inv.read_text().replace("\nvantages:\n", "\nvantages:\n" + extra, 1))
        yield inv


@pytest.fixture(scope="module")
def from_netns(leaky: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The netns: vantages' run, once per vantage for every comparison."""
    done: dict[str, tuple[int, dict[str, Any]]] = {}

    def run(vantage: str) -> tuple[int, dict[str, Any]]:
        if vantage not in done:
            done[vantage] = _run(leaky, vantage, tmp_path_factory.mktemp(vantage))
        return done[vantage]

    return run


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


def test_a_live_connection_into_production_is_found_from_the_host(
    leaky: Path, tmp_path: Path
) -> None:
    """test-ci holds a TCP connection to prod-web over the leaky profile's forgotten direct
    link: the hosts family reads it at the host; once closed, the same check passes."""
    hold = (
        "import socket,sys,time\n"
        "s=socket.create_connection(('198.19.10.20',443),timeout=5)\n"
        "print('up',flush=True)\ntime.sleep(120)\n"
    )
    conn = subprocess.Popen(
        ["ip", "netns", "exec", "pwlab-test", sys.executable, "-c", hold],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert conn.stdout is not None and conn.stdout.readline().strip() == "up"
        _, held, _ = _from_runner(leaky, "test-ssh", tmp_path / "held")
    finally:
        conn.kill()
        conn.wait()
    live = _verdicts(held)[("HOST-LIVE-01", "live")]
    assert live["outcome"] == "reachable"
    assert "198.19.10.20:443" in json.dumps(live["findings"])
    time.sleep(0.5)
    _, closed, _ = _from_runner(leaky, "test-ssh", tmp_path / "closed")
    assert _verdicts(closed)[("HOST-LIVE-01", "live")]["outcome"] == "blocked"


ON_HOST = ("SEC-", "HOST-", "CLOUD-")  # checks of what the host itself holds


@pytest.mark.parametrize(
    ("netns", "ssh"),
    [("dev", "dev-ssh"), ("test", "test-ssh"), ("dev", "dev-paramiko"), ("test", "test-ansible")],
)
def test_remote_vantages_find_the_same_leaks_with_the_same_verdicts(
    leaky: Path, from_netns: Any, tmp_path: Path, netns: str, ssh: str
) -> None:
    code_ns, local = from_netns(netns)
    code_ssh, remote, err = _from_runner(leaky, ssh, tmp_path / ssh)
    # the network's verdicts are the same from the host as from its namespace; the secrets
    # checks read the host itself, which only the remote vantage stands for
    network = {k: v for k, v in _outcomes(remote).items() if not k[0].startswith(ON_HOST)}
    assert network == {
        k: v for k, v in _outcomes(local).items() if not k[0].startswith(ON_HOST)
    }, err[-2000:]
    secrets = {k: v for k, v in _outcomes(remote).items() if k[0].startswith(ON_HOST)}
    assert "reachable" in secrets.values(), secrets  # each lab host holds a planted leak
    assert code_ssh == code_ns == 1
    assert "reachable" in _outcomes(remote).values()
    meta = remote["meta"]["vantage"]
    assert meta["location"].split("://")[0] in ("ssh", "paramiko", "ansible")
    assert any("(mgmt0)" in a for a in meta["addresses"])  # read at the host itself
    # every TCP verdict's capture was written by the runner from what the agent sent back
    assert (tmp_path / ssh / "evidence" / f"{ssh}-sweeps.pcap").is_file()


def test_a_stopped_sshd_makes_the_vantage_inconclusive_not_missing(
    leaky: Path, tmp_path: Path
) -> None:
    _, normal, _ = _from_runner(leaky, "dev-ssh", tmp_path / "before")
    pid = json.loads(STATE.read_text())["pids"]["sshd-dev-ws"]
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    code, stopped, _ = _from_runner(leaky, "dev-ssh", tmp_path / "after")
    assert code == 3
    assert _verdicts(stopped).keys() == _verdicts(normal).keys()  # every check is there
    outcomes = set(_outcomes(stopped).values())
    assert outcomes <= {"inconclusive", "not-reviewed"} and "inconclusive" in outcomes
    tcp = _verdicts(stopped)[("NET-TCP-01", "198.19.10.0/24")]
    assert "Connection refused" in json.dumps(tcp)  # the backend's own error, named


def test_paramiko_refuses_a_host_key_it_does_not_know(leaky: Path, tmp_path: Path) -> None:
    code, results, _ = _from_runner(leaky, "test-paramiko-unknown-key", tmp_path / "out")
    assert code == 3
    outcomes = set(_outcomes(results).values())
    assert outcomes <= {"inconclusive", "not-reviewed"} and "inconclusive" in outcomes
    tcp = _verdicts(results)[("NET-TCP-01", "198.19.10.0/24")]
    assert "not found in known_hosts" in json.dumps(tcp)  # paramiko's own words

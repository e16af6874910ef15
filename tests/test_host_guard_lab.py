"""While the lab is up, nothing aimed at its addresses can leave the machine (part of
#25): `lab up` makes the lab's ranges unreachable in the host's own namespace, so the
ssh vantages run from the host (not inside pwlab-runner, as the README's commands are)
fail at once instead of following the host's default route; `lab down` removes exactly
those routes."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from labrun import _inventory, lab

pytestmark = pytest.mark.lab
LAB_ADDRESSES = ("198.18.200.2", "198.19.10.10", "fd00:18:1::10", "fd00:19:10::10")


def _route(address: str) -> str:
    done = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip()


def _ours() -> str:
    return "".join(
        subprocess.run(["ip", *family, "route", "show", "proto", "99"], capture_output=True,
                       text=True).stdout for family in ([], ["-6"])
    )  # fmt: skip


def test_the_lab_is_unreachable_from_the_host_namespace_while_up(tmp_path: Path) -> None:
    with lab("sealed"):
        for address in LAB_ADDRESSES:
            said = _route(address)
            # checked before anything is tried: without the guard the test stops here
            assert "unreachable" in said.lower() or "no route" in said.lower(), said
        # a connection from the host's namespace fails at once, locally
        for family, address in ((socket.AF_INET, "198.18.200.2"),
                                (socket.AF_INET6, "fd00:18:1::10")):  # fmt: skip
            with socket.socket(family, socket.SOCK_STREAM) as s, pytest.raises(OSError) as err:
                s.settimeout(5)
                s.connect((address, 22))
            assert err.value.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH), err.value
        # the ssh vantage, run from the host as the README's other commands are: its
        # inventory says it is reached through pwlab-runner, and run goes that way
        out = tmp_path / "out"
        inventory = str(_inventory(tmp_path))  # lab.yaml with fewer ports: a quicker run
        done = run_cli("run", "-i", inventory, "--vantage", "dev-ssh", "-o", str(out), "-q",
                       "--format", "json", timeout=900)  # fmt: skip
        # sealed: blocked, and partial (one vantage reviews no host or cloud control)
        assert done.returncode in (0, 3), done.stdout[-2000:] + done.stderr[-2000:]
        verdicts = json.loads((out / "results.json").read_text())["verdicts"]
        assert {v["outcome"] for v in verdicts} >= {"blocked"}
        assert not [v for v in verdicts if "banner" in json.dumps(v)]
        # `hosts` the same way: the host spec is dev-ssh's own address, so its `via` holds
        hosts_out = tmp_path / "hosts"
        done = run_cli("hosts", "-i", inventory, "--hosts", "ssh://root@198.18.200.2",
                       "--ssh-config", "/var/lib/prodwall-lab/ssh_config", "-o",
                       str(hosts_out), "-q", "--format", "json", timeout=900)  # fmt: skip
        assert done.returncode in (0, 3), done.stdout[-2000:] + done.stderr[-2000:]
        verdicts = json.loads((hosts_out / "results.json").read_text())["verdicts"]
        assert verdicts and {v["outcome"] for v in verdicts} == {"blocked"}, verdicts
    assert _ours() == ""  # lab down took its routes, and only its routes


def test_a_vantage_reached_through_a_namespace_is_refused_when_it_cannot_be_entered(
    tmp_path: Path,
) -> None:
    """Without the namespace (the lab down), nothing is tried: exit 2, naming the way."""
    inventory = str(REPO / "inventories" / "lab.yaml")
    done = run_cli("run", "-i", inventory, "--vantage", "dev-ssh", "-o", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "reached only from network namespace 'pwlab-runner'" in done.stderr
    # hosts: the host spec is dev-ssh's address, so dev-ssh's way holds for it too
    done = run_cli("hosts", "-i", inventory, "--hosts", "ssh://root@198.18.200.2",
                   "-o", str(tmp_path / "h"))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "reached only from network namespace 'pwlab-runner'" in done.stderr
    assert not (tmp_path / "h").exists()

"""While the lab is up, nothing aimed at its addresses can leave the machine (part of
#25): `lab up` makes the lab's ranges unreachable in the host's own namespace, so the
ssh vantages run from the host (not inside pwlab-runner, as the README's commands are)
fail at once instead of following the host's default route; `lab down` removes exactly
those routes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from labrun import lab

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
        out = tmp_path / "out"
        inventory = str(REPO / "inventories" / "lab.yaml")
        done = run_cli("run", "-i", inventory, "--vantage", "dev-ssh", "-o", str(out), "-q",
                       "--format", "json", timeout=600)  # fmt: skip
        assert done.returncode in (2, 3), done.stdout[-2000:] + done.stderr[-2000:]
        if (out / "results.json").exists():
            verdicts = json.loads((out / "results.json").read_text())["verdicts"]
            assert {v["outcome"] for v in verdicts} <= {"inconclusive", "not-reviewed"}
    assert _ours() == ""  # lab down took its routes, and only its routes

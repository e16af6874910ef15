"""The built-in lab for one test: up in a profile, a reduced-port inventory, a run, its
verdicts; always taken down again (used by the lab tests of the network family)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, run_checks

PORTS = "1-1100,5432,6443,8443"


def _inventory(tmp: Path, control_port: str = "tcp/81") -> Path:
    text = (REPO / "inventories" / "lab.yaml").read_text()
    text = text.replace("  tcp_ports: 1-65535", f'  tcp_ports: "{PORTS}"')
    text = text.replace("      service: tcp/81", f"      service: {control_port}")
    path = tmp / f"lab-{control_port.replace('/', '')}.yaml"
    path.write_text(text)
    return path


def _run(
    inv: Path, vantage: str, out: Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    done = run_checks(inv, vantage, out, env=env)
    results = json.loads((out / "results.json").read_text())
    return done.returncode, results


def _verdicts(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(v["controls"][0], v["group"]): v for v in results["verdicts"]}


@contextlib.contextmanager
def lab(profile: str) -> Iterator[None]:
    """The built-in lab in `profile`, removed again whatever happens inside."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    subprocess.run(
        [sys.executable, "-m", "prodwall.cli", "lab", "up", "--profile", profile],
        capture_output=True,
        timeout=60,
        check=True,
    )
    try:
        yield
    finally:
        subprocess.run(
            [sys.executable, "-m", "prodwall.cli", "lab", "down"], capture_output=True, timeout=60
        )


def wait_gone(pid: int, deadline_s: float = 120.0) -> None:
    """Until process `pid` has exited (readiness, not a guess at how long it takes: a
    loaded machine reaps slowly). The deadline only bounds a failure."""
    import time

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (OSError, IndexError):
            return  # gone
        if state == "Z":  # a zombie no longer serves anything
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still runs after {deadline_s:.0f} s")

"""`prodwall hosts` as a user meets it before any host is reached: its help, its usage
errors and bad inventories (exit 2, nothing run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, run_cli


def test_help_names_the_host_specs_and_the_exit_codes() -> None:
    done = run_cli("hosts", "--help")
    assert done.returncode == 0
    for word in ("ansible://GROUP", "--ansible-inventory", "-n", "exit codes: 0"):
        assert word in done.stdout


def test_usage_errors_exit_2_before_anything_runs(tmp_path: Path) -> None:
    missing = run_cli("hosts", "-i", str(REPO / "inventories" / "example.yaml"))
    assert missing.returncode == 2 and "--hosts" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nenvironments:\n  prod:\n    tier: producton\n")
    done = run_cli("hosts", "-i", str(bad), "--hosts", "ssh://nowhere.invalid", "-o",
                   str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "tier" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing half-ran


def test_the_plugin_refuses_a_vantage_and_hosts_together() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPO / "checks" / "test_hosts.py"), "-p",
         "no:cacheprovider", "--inventory", str(REPO / "inventories" / "example.yaml"),
         "--vantage", "ci-runner", "--hosts", "ssh://nowhere.invalid", "--collect-only"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 4
    assert "give one of --vantage, --hosts and --from-runner" in done.stderr

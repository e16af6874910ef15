"""The wheel is the product (#26): built from this tree, installed in a fresh venv outside
the repository and run from a folder with no checks/ in sight, it validates and plans,
its built-in checks come from inside the package, and a third-party family plugs in."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import wheelenv
from conftest import REPO

THIRD_PARTY = REPO / "tests" / "fixtures" / "thirdparty"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield wheelenv.build(tmp_path_factory.mktemp("wheel"))


def _run(bin_: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_ / "prodwall"), *args], capture_output=True, text=True,
                          cwd=cwd, env=wheelenv.clean_env(**env), timeout=300)  # fmt: skip


def test_the_installed_wheel_validates_and_plans(installed: Path, tmp_path: Path) -> None:
    inv = tmp_path / "example.yaml"
    shutil.copy(REPO / "inventories" / "example.yaml", inv)
    done = _run(installed, tmp_path, "validate", "-i", str(inv))
    assert done.returncode == 0, done.stderr
    assert "'Example Payments Ltd'" in done.stdout
    plan = _run(installed, tmp_path, "plan", "-i", str(inv), "--vantage", "ci-runner",
                "--format", "json")  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert {p["kind"] for p in json.loads(plan.stdout)["probes"]} >= {"tcp", "route"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nenvironments:\n  p:\n    tier: producton\n")
    assert _run(installed, tmp_path, "validate", "-i", str(bad)).returncode == 2


def test_the_built_in_checks_ship_inside_the_package(installed: Path, tmp_path: Path) -> None:
    """Found in site-packages, never in the working directory: a checks/ folder lying in
    the folder a run starts from is not what the run judges by."""
    decoy = tmp_path / "checks"
    decoy.mkdir()
    (decoy / "controls.yaml").write_text("{}\n")
    done = subprocess.run(
        [str(installed / "python"), "-c",
         "from prodwall.runner import find_checks; print(find_checks())"],
        capture_output=True, text=True, cwd=tmp_path, env=wheelenv.clean_env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert "site-packages" in folder.parts and folder.name == "builtin_checks", folder
    assert not folder.is_relative_to(REPO) and not folder.is_relative_to(tmp_path)
    names = {p.name for p in folder.iterdir()}
    assert {"controls.yaml", "requirements.yaml", "test_network.py", "test_dns.py"} <= names


def test_a_third_party_family_plugs_into_the_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\nname: third-party\nenvironments:\n  prod:\n    tier: production\n"
        "    networks: [198.19.1.0/24]\n    hosts:\n      bastion: {addresses: [198.19.1.1], "
        "services: [ssh]}\n  dev:\n    tier: dev\n    networks: [198.18.10.0/24]\n"
        "vantages:\n  dev: {location: local, environment: dev, secret_scan: false}\n"
        'probing: {tcp_ports: "22", udp_ports: "53", icmp: false}\n'
    )
    plan = _run(installed, tmp_path, "plan", "-i", str(inv), "--vantage", "dev", "--format",
                "json", PYTHONPATH=str(THIRD_PARTY))  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    banner = [p for p in json.loads(plan.stdout)["probes"] if p["kind"] == "ssh-banner"]
    assert [p["target"] for p in banner] == ["198.19.1.1"]
    # without the package on the path the family is simply not there
    plain = _run(installed, tmp_path, "plan", "-i", str(inv), "--vantage", "dev", "--format",
                 "json")  # fmt: skip
    assert "ssh-banner" not in plain.stdout

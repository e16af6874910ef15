"""A family from a third-party package, registered only by its entry point, is
planned, scope-guarded, run at the vantage, judged by its check and shown in
the report, with no edit to prodwall's core (tests/fixtures/thirdparty)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, Netns, run_checks, run_cli

pytestmark = pytest.mark.lab

THIRD_PARTY = REPO / "tests" / "fixtures" / "thirdparty"
SERVER = (
    "import socket\n"
    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind(('198.19.1.1',22));s.listen()\n"
    "while True:\n"
    " c,_=s.accept();c.sendall(b'SSH-2.0-prodwall-test\\r\\n');c.close()\n"
)


@pytest.fixture
def two_zones(netns: Netns) -> Iterator[str]:
    """dev (198.18.10.2) wired straight to prod (198.19.1.1), whose sshd-like server answers."""
    dev, prod = netns.add("dev"), netns.add("prod")
    netns.link(dev, "eth0", "198.18.10.2/24", prod, "eth0", "198.19.1.1/24")
    netns.ip(dev, "route", "add", "198.19.1.0/24", "dev", "eth0")
    netns.ip(prod, "route", "add", "198.18.10.0/24", "dev", "eth0")
    server = subprocess.Popen(["ip", "netns", "exec", prod, sys.executable, "-c", SERVER])
    try:
        yield dev
    finally:
        server.kill()
        server.wait(timeout=10)


def _inventory(path: Path, ns: str) -> Path:
    path.write_text(
        textwrap.dedent(f"""
        version: 1
        name: third-party
        environments:
          prod:
            tier: production
            networks: [198.19.1.0/24]
            hosts:
              bastion: {{addresses: [198.19.1.1], services: [ssh]}}
          dev:
            tier: dev
            networks: [198.18.10.0/24]
        vantages:
          dev: {{location: "netns:{ns}", environment: dev, secret_scan: false}}
        probing: {{tcp_ports: "22", udp_ports: "53", icmp: false}}
        """)
    )
    return path


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(THIRD_PARTY), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, **extra}


def test_a_third_party_family_runs_end_to_end(two_zones: str, tmp_path: Path) -> None:
    inv = _inventory(tmp_path / "inv.yaml", two_zones)
    plan = run_cli("plan", "-i", str(inv), "--vantage", "dev", "--format", "json", env=_env())
    assert plan.returncode == 0, plan.stderr
    kinds = {p["kind"]: p for p in json.loads(plan.stdout)["probes"]}
    assert kinds["ssh-banner"]["target"] == "198.19.1.1"  # planned by the family
    out = tmp_path / "out"
    done = run_checks(inv, "dev", out, timeout=180, env=_env())
    results = json.loads((out / "results.json").read_text())
    banner = [v for v in results["verdicts"] if v["controls"] == ["DEMO-BANNER-01"]]
    assert len(banner) == 1, done.stdout + done.stderr
    assert banner[0]["outcome"] == "reachable" and banner[0]["group"] == "bastion"
    assert "SSH-2.0-prodwall-test" in banner[0]["findings"][0]  # read at the vantage
    assert results["catalogue"]["DEMO-BANNER-01"]["family"] == "banner"
    page = (out / "report.html").read_text()
    assert "DEMO-BANNER-01" in page and "banner IPv" not in page and "banner DNS" in page
    assert done.returncode == 1  # the direct link is a leak, whatever else the run says


def test_a_third_party_family_cannot_plan_outside_production(
    two_zones: str, tmp_path: Path
) -> None:
    inv = _inventory(tmp_path / "inv.yaml", two_zones)
    done = run_cli("plan", "-i", str(inv), "--vantage", "dev", env=_env(PW_BANNER_ROGUE="1"))
    assert done.returncode == 2
    assert "ssh-banner 198.18.99.1: outside every declared production network" in done.stderr


def test_the_installed_wheel_runs_a_third_party_family(
    two_zones: str, tmp_path: Path
) -> None:
    """The same run from the wheel installed outside the repository (#26), its checks from
    inside the package, the family's from its own: run at the vantage, judged, reported."""
    import wheelenv

    bin_ = wheelenv.build(tmp_path / "wheel")
    inv = _inventory(tmp_path / "inv.yaml", two_zones)
    out = tmp_path / "out"
    done = subprocess.run(
        [str(bin_ / "prodwall"), "run", "-i", str(inv), "--vantage", "dev", "-o", str(out),
         "-q", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env=wheelenv.clean_env(PYTHONPATH=str(THIRD_PARTY)),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    banner = [v for v in results["verdicts"] if v["controls"] == ["DEMO-BANNER-01"]]
    assert [v["outcome"] for v in banner] == ["reachable"], banner
    assert "SSH-2.0-prodwall-test" in banner[0]["findings"][0]
    # the built-in checks ran too, from the installed package
    assert any(v["controls"] == ["NET-TCP-01"] for v in results["verdicts"])

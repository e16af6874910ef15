"""End to end in namespaces the test makes itself: `prodwall run` from a netns vantage.

Route lookups send no packet; the namespaces have no link to the real interfaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import Netns, run_checks

pytestmark = pytest.mark.lab


def _topology(netns: Netns) -> str:
    dev = netns.add("dev")
    router = netns.add("rtr")
    netns.link(dev, "eth0", "198.18.10.2/24", router, "to-dev", "198.18.10.1/24")
    netns.ip(dev, "route", "add", "198.19.1.0/24", "via", "198.18.10.1")  # the leak
    netns.ip(dev, "route", "add", "blackhole", "198.19.2.0/24")
    netns.ip(dev, "-6", "route", "add", "prohibit", "fd00:19:3::/64")
    return dev


def _inventory(path: Path, ns: str, nets: list[str], gateways: str = "[]") -> Path:
    path.write_text(
        textwrap.dedent(f"""
        version: 1
        name: routes-lab
        environments:
          prod:
            tier: production
            networks: [{", ".join(f'"{n}"' for n in nets)}]
          dev:
            tier: dev
            networks: [198.18.10.0/24]
            boundary_gateways: {gateways}
        vantages:
          dev:
            location: netns:{ns}
            environment: dev
            secret_scan: false  # a namespace: no host of its own to read
        """)
    )
    return path


def _routes(results: dict) -> dict:  # type: ignore[type-arg]
    return {v["group"]: v for v in results["verdicts"] if v["controls"] == ["NET-ROUTE-01"]}


def _run(inv: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return run_checks(inv, "dev", out, timeout=120)


def test_route_into_production_is_reachable_and_others_blocked(
    netns: Netns, tmp_path: Path
) -> None:
    dev = _topology(netns)
    inv = _inventory(
        tmp_path / "inv.yaml",
        dev,
        ["198.19.1.0/24", "198.19.2.0/24", "fd00:19:3::/64", "198.19.4.0/24"],
    )
    done = _run(inv, tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    by_group = _routes(results)
    assert {g: v["outcome"] for g, v in by_group.items()} == {
        "198.19.1.0/24": "reachable",
        "198.19.2.0/24": "blocked",
        "fd00:19:3::/64": "blocked",
        "198.19.4.0/24": "blocked",
    }
    leak = by_group["198.19.1.0/24"]
    assert leak["controls"] == ["NET-ROUTE-01"]
    assert (
        leak["findings"][0]
        == "198.19.1.1: unicast route via 198.18.10.1 dev eth0 (no boundary gateway is declared)"
    )
    assert by_group["198.19.2.0/24"]["counts"] == {"blocked": 3}
    assert "prohibit route" in json.dumps(by_group["fd00:19:3::/64"])
    assert "no route (ENETUNREACH)" in json.dumps(by_group["198.19.4.0/24"])
    meta = results["meta"]
    assert meta["vantage"]["addresses"] == ["198.18.10.2/24 (eth0)"]
    assert meta["inventory_sha256"] and meta["started_utc"].endswith("Z")
    assert "FAILED" in done.stdout and "REACHABLE" in done.stdout
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert 'failures="1"' in junit


def test_sealed_routes_are_blocked_but_partial(netns: Netns, tmp_path: Path) -> None:
    dev = _topology(netns)
    inv = _inventory(tmp_path / "inv.yaml", dev, ["198.19.2.0/24", "fd00:19:3::/64"])
    done = _run(inv, tmp_path / "out")
    # every check blocked, but only the routes were checked: partial, exit 3, never green
    assert done.returncode == 3, done.stdout + done.stderr
    assert "prodwall: PARTIAL (2 blocked" in done.stdout and "not covered:" in done.stdout
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    # no hosts or domains declared: those checks had zero targets and say so
    others = {v["outcome"] for v in results["verdicts"] if v["controls"] != ["NET-ROUTE-01"]}
    assert others == {"not-reviewed"}
    # each check's own run time travels into its verdict and into JUnit's time
    assert all(v["evidence"]["seconds"] >= 0 for v in results["verdicts"])
    junit = ET.parse(tmp_path / "out" / "junit-prodwall.xml").getroot()
    timed = [c for c in junit.iter("testcase") if c.get("time")]
    assert len(timed) == len(results["verdicts"])
    coverage = [s for s in junit if s.get("name") == "prodwall.coverage"]
    assert coverage and coverage[0].find(".//error").get("type") == "partial"


def test_route_through_declared_boundary_passes_a_bypass_does_not(
    netns: Netns, tmp_path: Path
) -> None:
    dev = _topology(netns)
    netns.ip(dev, "route", "add", "198.19.5.0/24", "via", "198.18.10.99")  # a second gateway
    inv = _inventory(
        tmp_path / "inv.yaml", dev, ["198.19.1.0/24", "198.19.5.0/24"], gateways="[198.18.10.1]"
    )
    done = _run(inv, tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    by_group = _routes(results)
    assert by_group["198.19.1.0/24"]["outcome"] == "blocked"
    assert "(declared boundary gateway)" in json.dumps(by_group["198.19.1.0/24"]["evidence"])
    assert by_group["198.19.5.0/24"]["outcome"] == "reachable"
    assert by_group["198.19.5.0/24"]["findings"][0] == (
        "198.19.5.1: unicast route via 198.18.10.99 dev eth0 (bypasses the declared boundary)"
    )


def test_run_prints_one_json_document_under_format_json(netns: Netns, tmp_path: Path) -> None:
    from conftest import REPO, run_cli

    dev = _topology(netns)
    inv = _inventory(tmp_path / "inv.yaml", dev, ["198.19.2.0/24"])
    done = run_cli(
        "run", "-i", str(inv), "--vantage", "dev", "-o", str(tmp_path / "out"),
        "--checks", str(REPO / "checks"), "--format", "json", "--", "-q",
        timeout=120,
    )  # fmt: skip
    doc = json.loads(done.stdout)  # nothing but the document on stdout
    assert done.returncode == doc["exit_code"] == 3, done.stderr
    assert doc["overall"] == "blocked" and Path(doc["report"]).is_file()
    assert doc["coverage"]["partial"] and "mapped requirement" in doc["coverage"]["missing"]


def test_missing_namespace_is_inconclusive_not_a_pass(tmp_path: Path) -> None:
    inv = _inventory(tmp_path / "inv.yaml", "pwt-does-not-exist", ["198.19.2.0/24"])
    done = _run(inv, tmp_path / "out")
    assert done.returncode == 3, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [v["outcome"] for v in _routes(results).values()] == ["inconclusive"]


def test_run_writes_the_whole_signed_bundle_from_an_inventory_on_stdin(
    netns: Netns, tmp_path: Path
) -> None:
    """Read once from a pipe, hashed as read; every file the README promises; verify passes."""
    import hashlib

    from conftest import REPO, run_cli

    dev = _topology(netns)
    inv = _inventory(tmp_path / "inv.yaml", dev, ["198.19.2.0/24", "fd00:19:3::/64"])
    key = tmp_path / "signer"
    assert run_cli("keygen", "-o", str(key)).returncode == 0
    out = tmp_path / "out"
    done = run_cli(
        "run",
        "-i",
        "-",
        "--vantage",
        "dev",
        "-o",
        str(out),
        "--checks",
        str(REPO / "checks"),
        "--",
        "-q",
        stdin=inv.read_text(),
        timeout=120,
        env={"PRODWALL_SIGNING_KEY": str(key.with_suffix(".key"))},
    )
    assert done.returncode == 3, done.stdout + done.stderr  # blocked, partial coverage
    for name in (
        "results.json",
        "report.html",
        "junit-prodwall.xml",
        "oscal-assessment-results.json",
        "junit.xml",
        "pytest-report.html",
        "manifest.json",
        "manifest.sig",
    ):
        assert (out / name).is_file(), name
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["inventory_sha256"] == hashlib.sha256(inv.read_bytes()).hexdigest()
    assert meta["inventory_path"] == "<stdin>"
    page = (out / "report.html").read_text()
    assert "id=integrity class=signed>Signed" in page
    verified = run_cli("verify", str(out), "--public-key", str(key.with_suffix(".pub")))
    assert verified.returncode == 0 and "signature: valid, by SHA256:" in verified.stdout
    # process substitution (`-i <(sops -d inv.yaml)`) hashes what was read, not an empty re-read
    piped = subprocess.run(
        [
            "bash",
            "-c",
            'exec "$0" -m prodwall.cli run -i <(cat "$1") --vantage dev -o "$2" '
            '--checks "$3" -q -- -q',
            sys.executable,
            str(inv),
            str(tmp_path / "piped"),
            str(REPO / "checks"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 3, piped.stdout + piped.stderr  # blocked, partial coverage
    meta = json.loads((tmp_path / "piped" / "results.json").read_text())["meta"]
    assert meta["inventory_sha256"] == hashlib.sha256(inv.read_bytes()).hexdigest()
    assert meta["inventory_sha256"] != hashlib.sha256(b"").hexdigest()

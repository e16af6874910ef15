"""The built-in lab: inventory matches topology; each profile comes up, isolates, leaks as
planted, and goes away without a trace (root; runs in CI)."""

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
from labrun import wait_gone
from prodwall.demo import CLOUD, FLEET
from prodwall.families.hosts.guard_judge import PROD_ASPECTS
from prodwall.families.secrets.family import SOURCES as SECRET_SOURCES
from prodwall.inventory import load_inventory
from prodwall.lab import keys, leaks
from prodwall.lab.topology import (
    AWS_PORT,
    FLEET_HOSTS,
    HOSTS,
    LAB_DIR,
    MGMT,
    NETNS_ETC,
    ZONES,
    namespaces,
)

HELPER = str(Path(__file__).with_name("nethelper.py"))
CLIENT_KEY = LAB_DIR / "keys" / "client_ed25519"


# --- no root needed: lab.yaml describes the lab exactly ---------------------------------


def test_lab_inventory_matches_topology() -> None:
    inv = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    env_of_zone = {"dev": "dev", "test": "test", "shared": "shared", "prod": "production"}
    for zone in (ZONES[name] for name in env_of_zone):  # the fleet's segments: below
        env = inv.environments[env_of_zone[zone.name]]
        assert env.tier == zone.tier
        assert [str(n) for n in env.networks] == [zone.v4, zone.v6]
        assert [str(d) for d in env.dns_domains] == [zone.domain]
    for host in (h for h in HOSTS.values() if h.zone in env_of_zone):
        found = inv.host(host.name)
        assert found is not None, host.name
        _env, declared = found
        assert [str(a) for a in declared.addresses] == [host.v4(), host.v6()]
        assert declared.names == [host.fqdn()]
        ports = {(s.protocol, s.port) for s in declared.services}
        expected = {("tcp", p) for p in host.tcp} | {("udp", p) for p in host.udp}
        expected |= {("tcp", 22)} if host.sshd else set()
        expected |= {("udp", 53), ("tcp", 53)} if host.dns else set()
        expected |= {("tcp", AWS_PORT)} if host.name == "aws-api" else set()  # moto
        assert ports == expected, host.name
    assert {n: v.location for n, v in inv.vantages.items()} == {
        "dev": "netns:pwlab-dev",
        "test": "netns:pwlab-test",
        # the same hosts over ssh, from the runner namespace's management links
        "dev-ssh": f"ssh://root@{MGMT['dev-ws'][1]}",
        "test-ssh": f"ssh://root@{MGMT['test-ci'][1]}",
    }
    for zone in ("dev", "test"):
        gateways = [str(g) for g in inv.environments[zone].boundary_gateways]
        assert gateways == [ZONES[zone].gateway4, ZONES[zone].gateway6]


def test_lab_fleet_inventory_matches_topology() -> None:
    """inventories/lab-fleet.yaml: every segment's networks, resolver view, gateway and
    host; one `location: local` vantage per fleet host; production as in lab.yaml."""
    fleet = load_inventory(REPO / "inventories" / "lab-fleet.yaml").inventory
    lab_inv = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    assert set(fleet.vantages) == set(FLEET_HOSTS) == {h for h in MGMT if h != "prod-db"}
    for name in FLEET_HOSTS:
        host, vantage = HOSTS[name], fleet.vantages[name]
        zone = ZONES[host.zone]
        assert (vantage.location, vantage.environment) == ("local", zone.tier)
        env = fleet.environments[zone.tier]
        assert {zone.v4, zone.v6} <= {str(n) for n in env.networks}
        assert {zone.gateway4, zone.gateway6} <= {str(g) for g in env.boundary_gateways}
        assert zone.domain in env.dns_domains
        found = fleet.host(name)
        assert found is not None and found[0] == zone.tier
        assert [str(a) for a in found[1].addresses] == [host.v4(), host.v6()]
        assert found[1].names == [host.fqdn()]
    assert fleet.environments["production"].hosts == lab_inv.environments["production"].hosts
    assert fleet.environments["production"].secrets == lab_inv.environments["production"].secrets
    assert fleet.probing.rate_scope == "shared"


def test_lab_inventory_holds_fingerprints_of_the_planted_secrets() -> None:
    from prodwall.fingerprint import fingerprint

    prod = inv_prod = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    prod_env = inv_prod.environments["production"]
    key = leaks.FINGERPRINT_KEY
    assert {s.hmac_sha256 for s in prod_env.secrets} == {
        fingerprint(s.encode(), key)
        for s in (leaks.PROD_DB_PASSWORD, leaks.PROD_AWS_KEY_ID, leaks.PROD_AWS_SECRET)
    }
    assert [k.sha256 for k in prod_env.ssh_keys] == [
        keys.fingerprint(keys.host_key_purpose("prod-db"))
    ]
    assert prod.name == "prodwall built-in lab"


def test_ground_truth_names_lab_vantages_and_groups() -> None:
    inv = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    prod_nets = {str(n) for n in inv.environments["production"].networks}
    for leak in leaks.GROUND_TRUTH:
        assert leak.vantage in inv.vantages or leak.vantage in (FLEET, CLOUD)
        prod_domains = set(inv.environments["production"].dns_domains)
        assert (
            leak.group in prod_nets
            or leak.group in HOSTS
            or leak.group in prod_domains
            or leak.group in SECRET_SOURCES
            or leak.group in ("name-resolution", "ssh", "live", "kube")
            or leak.group in PROD_ASPECTS
            or leak.group in {a for e in inv.environments.values() for a in e.cloud.aws_accounts}
        )
    assert len({leak.id for leak in leaks.GROUND_TRUTH}) == len(leaks.GROUND_TRUTH) == 23


def test_lab_without_root_says_what_is_needed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodwall.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for argv in (["lab", "up"], ["lab", "status"], ["lab", "down"], ["demo"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "the lab needs root (network namespaces, nftables, sshd)" in err


# --- root: the real lab ------------------------------------------------------------------


def _prodwall(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodwall.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _in(ns: str, *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, HELPER, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _assert_nothing_left(pids: list[int]) -> None:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "pwlab-" not in listed
    assert not LAB_DIR.exists()
    assert not list(NETNS_ETC.glob("pwlab-*")) if NETNS_ETC.exists() else True
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
        ), f"pid {pid} alive"


def _root_links() -> set[str]:
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    return {link["ifname"] for link in links}


@pytest.fixture(scope="module", params=["sealed", "leaky"])
def lab(request: pytest.FixtureRequest) -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    profile: str = request.param
    before = _root_links()
    started = time.monotonic()
    up = _prodwall("lab", "up", "--profile", profile)
    elapsed = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stderr
        print(f"lab up ({profile}): {elapsed:.1f} s")  # timed in benchmarks, not here
        assert _root_links() == before, "the lab added a link to the root namespace"
        yield profile
    finally:
        state = (
            json.loads((LAB_DIR / "state.json").read_text())
            if (LAB_DIR / "state.json").exists()
            else {}
        )
        down = _prodwall("lab", "down")
        assert down.returncode == 0, down.stderr
        _assert_nothing_left(list(state.get("pids", {}).values()))


@pytest.mark.lab
def test_no_namespace_can_send_a_packet_off_the_machine(lab: str) -> None:
    for ns in namespaces():
        for family in ("-4", "-6"):
            default = subprocess.run(
                ["ip", "-n", ns, family, "-j", "route", "show", "default"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert json.loads(default or "[]") == [], f"{ns} has a default route"
        links = json.loads(
            subprocess.run(
                ["ip", "-n", ns, "-j", "link"], capture_output=True, text=True, check=True
            ).stdout
        )
        for link in links:
            assert link["ifname"] == "lo" or link.get("link_type") == "ether", link
            if link["ifname"] != "lo":
                assert "link_netnsid" in link, f"{ns}/{link['ifname']} is not a veth to a lab ns"
        # outside addresses: the kernel has no route at all (nothing is sent by the lookup)
        for outside in ("192.0.2.1", "2001:db8::1"):
            got = subprocess.run(
                ["ip", "-n", ns, "route", "get", outside], capture_output=True, text=True
            )
            assert got.returncode != 0 and "unreachable" in got.stderr, (ns, got.stdout)


@pytest.mark.lab
def test_forwarding_allowed_where_declared(lab: str) -> None:
    art = HOSTS["artifacts"]
    for ns in ("pwlab-dev", "pwlab-test"):
        for addr in (art.v4(), art.v6()):
            result = _in(ns, "tcp", addr, "80")
            assert result["result"] == "open" and "artifact" in result["banner"], (ns, addr)
            assert _in(ns, "tcp", addr, "81")["result"] == "refused"  # the known-closed control


@pytest.mark.lab
def test_production_isolation_matches_the_profile(lab: str) -> None:
    db, web, dns = HOSTS["prod-db"], HOSTS["prod-web"], HOSTS["prod-dns"]
    dev_v4 = _in("pwlab-dev", "tcp", db.v4(), "5432")
    dev_v6 = _in("pwlab-dev", "tcp", web.v6(), "443")
    test_v4 = _in("pwlab-test", "tcp", db.v4(), "5432")
    test_udp = _in("pwlab-test", "dns", dns.v4(), db.fqdn())
    test_web = _in("pwlab-test", "tcp", web.v4(), "443")
    dev_ssh = _in("pwlab-dev", "tcp", db.v4(), "22")
    assert dev_ssh["result"] == "EHOSTUNREACH"  # refused loudly by the router in both profiles
    assert test_v4["result"] == "timeout"  # test is dropped silently in both profiles
    if lab == "sealed":
        assert dev_v4["result"] == "EHOSTUNREACH"  # icmpx admin-prohibited, IPv4
        assert dev_v6["result"] == "EACCES"  # the same, IPv6
        assert test_udp["result"] == "timeout"
        assert test_web["result"] == "timeout"
    else:
        assert dev_v4["result"] == "open"  # planted TCP hole
        assert dev_v6["result"] == "open"  # planted IPv6 path
        assert test_udp == {"result": "answer", "rcode": 0, "answers": 1}  # planted UDP hole
        assert test_web["result"] == "open"  # planted bypass link


@pytest.mark.lab
def test_split_horizon_dns(lab: str) -> None:
    db, ws = HOSTS["prod-db"], HOSTS["dev-ws"]
    dev_gw = ZONES["dev"].gateway4
    assert _in("pwlab-dev", "dns", dev_gw, ws.fqdn())["rcode"] == 0
    inside = _in("pwlab-prod", "dns", HOSTS["prod-dns"].v4(), db.fqdn())
    assert inside["rcode"] == 0 and inside["answers"] >= 1  # prod names resolve inside prod
    leak = _in("pwlab-dev", "dns", dev_gw, db.fqdn())
    test_view = _in("pwlab-test", "dns", ZONES["test"].gateway4, db.fqdn())
    assert test_view["rcode"] == 3  # NXDOMAIN in the test view, in both profiles
    if lab == "sealed":
        assert leak["rcode"] == 3
    else:
        assert leak["rcode"] == 0 and leak["answers"] >= 1  # planted DNS leak


def _ssh(ns: str, host: str, command: str) -> str:
    addr = HOSTS[host].v4()
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "ssh",
            "-i",
            str(CLIENT_KEY),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            f"root@{addr}",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.lab
def test_hosts_run_real_sshd_with_their_own_files(lab: str) -> None:
    dev_files = _ssh(
        "pwlab-dev",
        "dev-ws",
        "cat /srv/app/config/database.yml ~/.kube/config; ls -a ~/.ssh || true",
    )
    test_env = _ssh("pwlab-test", "test-ci", "env; cat ~/.aws/credentials /etc/hosts")
    real_root = set(os.listdir("/root"))
    assert ".kube" not in real_root or not (
        Path("/root/.kube/config").exists() and "pwlab" in Path("/root/.kube/config").read_text()
    )
    if lab == "sealed":
        assert "payments_dev" in dev_files and leaks.PROD_DB_PASSWORD not in dev_files
        assert leaks.DEV_AWS_KEY_ID in test_env and leaks.PROD_AWS_KEY_ID not in test_env
        assert "db.prod.pwlab.test" not in test_env
    else:
        assert leaks.PROD_DB_PASSWORD in dev_files and leaks.PROD_K8S in dev_files
        assert f"AWS_ACCESS_KEY_ID={leaks.PROD_AWS_KEY_ID}" in test_env
        assert f"{HOSTS['prod-db'].v4()} db.prod.pwlab.test" in test_env
        known = _ssh("pwlab-dev", "dev-ws", "cat ~/.ssh/known_hosts ~/.ssh/config")
        assert keys.public_line(keys.host_key_purpose("prod-db")) in known


@pytest.mark.lab
def test_up_is_idempotent_and_status_reports_health(lab: str) -> None:
    again = _prodwall("lab", "up", "--profile", lab)
    assert again.returncode == 0 and "already up" in again.stderr
    status = _prodwall("lab", "status")
    assert status.returncode == 0
    assert f"lab: up, profile {lab}, healthy" in status.stdout
    # a service that dies is reported, and the next `up` rebuilds the lab
    state = json.loads((LAB_DIR / "state.json").read_text())
    os.kill(state["pids"]["listener-shared"], signal.SIGKILL)
    wait_gone(state["pids"]["listener-shared"])
    degraded = _prodwall("lab", "status")
    assert degraded.returncode == 3 and "DOWN listener-shared" in degraded.stdout
    as_json = _prodwall("lab", "status", "--format", "json")
    doc = json.loads(as_json.stdout)
    assert as_json.returncode == 3 == doc["exit_code"]
    assert doc["healthy"] is False and doc["services"]["listener-shared"] is False
    rebuilt = _prodwall("lab", "up", "--profile", lab)
    assert rebuilt.returncode == 0 and "removing the previous lab" in rebuilt.stderr
    assert "healthy" in _prodwall("lab", "status").stdout


@pytest.mark.lab
def test_down_cleans_up_after_a_killed_up() -> None:
    """A run killed mid-build leaves namespaces and processes; `lab down` still removes all."""
    _prodwall("lab", "down")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodwall.cli", "lab", "up", "--profile", "leaky"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # kill it once services have started
            if (LAB_DIR / "logs").exists() and len(list((LAB_DIR / "logs").iterdir())) >= 3:
                break
            time.sleep(0.01)
        proc.kill()
        proc.wait(timeout=10)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert "pwlab-" in left, "nothing was left to clean: the test did not test anything"
        pids = [
            int(p)
            for ns in ("pwlab-router", "pwlab-prod")
            for p in subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True
            ).stdout.split()
        ]
    finally:
        down = _prodwall("lab", "down")
    assert down.returncode == 0, down.stderr
    _assert_nothing_left(pids)
    assert pids, "no lab process had started before the kill"

"""The way to a vantage (`via: netns:NAME`) holds for `run`, `hosts` and `fleet` alike
(part of #25): each goes that way or refuses before anything is sent. Here the way
cannot be taken (no such namespace), so every command must stop with exit 2 and
name it; the lab tests take the way for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import run_cli
from prodwall.errors import VantageError
from prodwall.inventory.model import Vantage
from prodwall.vantages import via

NS = f"pwtest-noway-{os.getpid()}"  # never created: the way cannot be taken

INVENTORY = f"""version: 1
name: via test
environments:
  prod:
    tier: production
    networks: [198.19.250.0/24]
  dev:
    tier: dev
    networks: [198.18.250.0/24]
vantages:
  a-ssh:
    location: ssh://root@198.18.250.2
    environment: dev
    via: netns:{NS}
  b-ssh:
    location: paramiko://root@198.18.250.3
    environment: dev
    via: netns:{NS}-other
  a-host: {{location: local, environment: dev, via: "netns:{NS}"}}
  b-host: {{location: local, environment: dev, via: "netns:{NS}-other"}}
"""


def _inv(tmp: Path) -> Path:
    path = tmp / "inv.yaml"
    path.write_text(INVENTORY)
    return path


def _vantages() -> dict[str, Vantage]:
    return {
        "a-ssh": Vantage(location="ssh://root@198.18.250.2", environment="dev", via="netns:x"),
        "b-ssh": Vantage(location="paramiko://198.18.250.3:2222", environment="dev", via="netns:y"),
        "plain": Vantage(location="ssh://root@198.18.250.4", environment="dev"),
        "grp": Vantage(location="ansible://grp", environment="dev", via="netns:x"),
    }


def test_hosts_take_the_way_of_the_vantage_they_are() -> None:
    vantages = _vantages()
    # ssh and paramiko are one way to a host; user and port do not change the host
    assert via.for_hosts(vantages, "paramiko://admin@198.18.250.2:2200", None) == "netns:x"
    assert via.for_hosts(vantages, "ssh://198.18.250.3", None) == "netns:y"
    assert via.for_hosts(vantages, "ansible://grp", None) == "netns:x"  # a vantage's name
    assert via.for_hosts(vantages, "ssh://root@198.18.250.4", None) is None
    assert via.for_hosts(vantages, "ssh://198.18.250.4", "netns:z") == "netns:z"  # --via wins
    with pytest.raises(VantageError, match="reached different ways"):
        via.for_hosts(vantages, "ssh://198.18.250.2,ssh://198.18.250.3", None)


def test_fleet_goes_one_way_and_a_local_run_is_already_there() -> None:
    vantages = {
        "h1": Vantage(location="local", environment="dev", via="netns:x"),
        "h2": Vantage(location="local", environment="dev", via="netns:x"),
        "h3": Vantage(location="local", environment="dev"),
    }
    assert via.for_fleet(vantages, ["h1", "h2"]) == "netns:x"
    assert via.for_fleet(vantages, ["h3"]) is None
    with pytest.raises(VantageError, match="different ways"):
        via.for_fleet(vantages, ["h1", "h3"])
    # the fleet host's own run: it is the vantage, there is nowhere to go
    assert via.for_run("h1", "local", "netns:no-such-namespace") == ()


def test_a_namespace_vantage_has_no_way_to_declare(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    ns = f"  ns: {{location: 'netns:{NS}', environment: dev, via: 'netns:x'}}\n"
    bad.write_text(INVENTORY + ns)
    done = run_cli("validate", "-i", str(bad))
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "entered directly" in done.stderr


def test_hosts_refuse_a_way_they_cannot_take(tmp_path: Path) -> None:
    inv = str(_inv(tmp_path))
    for extra in ((), ("--via", f"netns:{NS}")):
        out = tmp_path / f"out{len(extra)}"
        host = "ssh://root@198.18.250.2" if not extra else "ssh://root@198.18.250.9"
        done = run_cli("hosts", "-i", inv, "--hosts", host, "-o", str(out), *extra)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"network namespace '{NS}'" in done.stderr and "nothing was sent" in done.stderr
        assert not out.exists()
    done = run_cli("hosts", "-i", inv, "--hosts", "ssh://198.18.250.2,ssh://198.18.250.3",
                   "-o", str(tmp_path / "two"))  # fmt: skip
    assert done.returncode == 2 and "reached different ways" in done.stderr
    bad = run_cli("hosts", "-i", inv, "--hosts", "ssh://x", "--via", "jump:host")
    assert bad.returncode == 2 and "not netns:NAME" in bad.stderr


def test_fleet_refuses_a_way_it_cannot_take(tmp_path: Path) -> None:
    pytest.importorskip("ansible")
    inv = str(_inv(tmp_path))
    hosts = tmp_path / "hosts.yml"
    for names, expect in ((["a-host"], f"network namespace '{NS}'"),
                          (["a-host", "b-host"], "different ways")):  # fmt: skip
        hosts.write_text(
            "all:\n  hosts:\n"
            + "".join(
                f"    {n}: {{ansible_host: 198.18.250.{i + 20}}}\n" for i, n in enumerate(names)
            )
        )
        out = tmp_path / f"fleet{len(names)}"
        done = run_cli("fleet", "-i", inv, "--hosts", str(hosts), "-o", str(out), timeout=300)
        assert done.returncode == 2, done.stdout + done.stderr
        assert expect in done.stderr and "nothing was sent" in done.stderr
        assert not out.exists()

"""`prodwall fleet` on the lab's eight dev and test segments, each host's real sshd
reached from the runner namespace over its management link (root; runs in CI).

One run covers what a fleet meets: hosts that complete (the dev3 segment with its own
planted hole among them), a host whose sshd was stopped, a host without the Python
Ansible was told to use, a host whose run is killed midway, and a host no vantage is
declared for.
Every one of the last four is an inconclusive vantage in the merged report, with
Ansible's own error, and the others complete all the same."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from labrun import lab
from prodwall.fingerprint import KEY_ENV
from prodwall.lab import leaks
from prodwall.lab.services import host_root
from prodwall.lab.topology import FLEET_ANSIBLE_HOSTS, FLEET_HOSTS, MGMT, PYZ_CACHE, ZONES

pytestmark = pytest.mark.lab
DEV = ("name-resolution", "ssh", "live", "kube")


class CommandLines(threading.Thread):
    """Every process's command line on this machine (lab hosts included), sampled while
    the fleet runs: a key passed as an environment value shows there."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[bytes] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    self.seen.add(cmdline.read_bytes())
                except OSError:
                    continue
            time.sleep(0.05)


def _prodwall(*argv: str, runner: bool = True) -> subprocess.CompletedProcess[str]:
    inside = ["ip", "netns", "exec", "pwlab-runner"] if runner else []
    return subprocess.run(
        [*inside, sys.executable, "-m", "prodwall.cli", *argv],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, KEY_ENV: leaks.FINGERPRINT_KEY.decode()},
    )  # fmt: skip


def _stop_sshd(zone: str) -> None:
    """Everything in the host's namespace is its sshd (its PID namespace's init first)."""
    pids = subprocess.run(
        ["ip", "netns", "pids", ZONES[zone].ns], capture_output=True, text=True, check=True
    ).stdout.split()
    subprocess.run(["kill", "-9", *pids], check=True)


# A Python that dies mid-run: the suite starts (planning, the first probes), then the run
# and everything it started are killed, as an out-of-memory kill or a reboot would.
MIDRUN = "/srv/midrun-python"
MIDRUN_SCRIPT = """#!/bin/sh
setsid /usr/bin/python3 "$@" &
pid=$!
sleep 4
kill -9 -- -$pid
exit 137
"""


def _fleet_inventories(tmp: Path) -> tuple[Path, Path]:
    """The lab's fleet inventories, with one host mapped to a vantage whose run is killed
    midway, one told to use a Python it lacks, and one nobody declared."""
    script = host_root("dev4-ws") / MIDRUN.lstrip("/")
    script.write_text(MIDRUN_SCRIPT)
    script.chmod(0o755)
    inv = tmp / "fleet.yaml"
    inv.write_text(
        (REPO / "inventories" / "lab-fleet.yaml").read_text().replace(
            "vantages:\n",
            "vantages:\n  dev4-broken: {location: local, environment: dev, "
            f"python: {MIDRUN}, via: netns:pwlab-runner}}\n",
        )
    )
    hosts = tmp / "hosts.yml"
    text = FLEET_ANSIBLE_HOSTS.read_text()
    text = text.replace(
        f"ansible_host: {MGMT['dev4-ws'][1]}\n",
        f"ansible_host: {MGMT['dev4-ws'][1]}\n          prodwall_vantage: dev4-broken\n",
    )
    text = text.replace(
        f"ansible_host: {MGMT['test4-ci'][1]}\n",
        f"ansible_host: {MGMT['test4-ci'][1]}\n"
        "          ansible_python_interpreter: /opt/no-such-python/bin/python3\n",
    )
    text += "  hosts:\n    stray-ws:\n      ansible_host: 198.18.201.250\n"
    hosts.write_text(text)
    return inv, hosts


def _rows(merged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["host"]: r for r in merged["fleet"]["vantages"]}


def test_fleet_covers_the_segments_and_names_every_failure(tmp_path: Path) -> None:
    before = set(glob.glob("/tmp/prodwall-*"))
    cache_before = set(Path("/var/tmp/prodwall-0").glob("pyz-*"))
    key = tmp_path / "signer"
    with lab("leaky"):
        assert _prodwall("keygen", "-o", str(key), runner=False).returncode == 0
        inv, hosts = _fleet_inventories(tmp_path)
        _stop_sshd("test3")
        out = tmp_path / "fleet"
        sampler = CommandLines()
        sampler.start()
        # from the host's namespace, as an operator runs it: the vantages' `via` takes
        # Ansible into the runner namespace, where the management links are
        done = _prodwall("fleet", "-i", str(inv), "--hosts", str(hosts), "--forks", "8",
                         "-o", str(out), "--sign-key", str(key.with_suffix(".key")),
                         "--pyz-cache", str(PYZ_CACHE), runner=False)  # fmt: skip
        said = done.stdout + done.stderr
        sampler.stop.set()
        sampler.join()
        # host checks at scale: testinfra's ansible backend, four pytest-xdist workers;
        # a group names no vantage, so the way is given (--via) and hosts goes that way
        scale = _prodwall(
            "hosts", "-i", str(REPO / "inventories" / "lab-fleet.yaml"), "--hosts",
            "ansible://all", "--ansible-inventory", str(FLEET_ANSIBLE_HOSTS), "-n", "4",
            "-o", str(tmp_path / "hosts"), "--via", "netns:pwlab-runner", runner=False,
        )  # fmt: skip
    assert done.returncode == 1, said[-4000:]  # reachable: dev-ws, dev3-ws and test-ci leak
    assert "5 of 9 intended vantages covered" in said, said[-3000:]
    merged = json.loads((out / "merged.json").read_text())
    rows = _rows(merged)
    assert set(rows) == {*FLEET_HOSTS, "stray-ws"}
    # eight hosts ran at once (forks 8; the stray one has no vantage): the inventory's
    # shared rate was split eight ways, and each run says what it sent at
    assert (merged["fleet"]["forks"], merged["fleet"]["rate_share"]) == (8, 8)
    assert {r["scope"]["probing_rate"] for r in merged["runs"] if r["scope"]} == {12_500}
    covered = {h for h, r in rows.items() if r["covered"]}
    assert covered == {"dev-ws", "dev2-ws", "dev3-ws", "test-ci", "test2-ci"}
    # each failure is the host's own, in Ansible's words
    assert rows["test3-ci"]["stage"] == "unreachable: work folder"
    assert "Connection refused" in rows["test3-ci"]["error"], rows["test3-ci"]
    assert rows["test4-ci"]["stage"] == "failed: work folder"
    assert "/opt/no-such-python/bin/python3" in rows["test4-ci"]["error"], rows["test4-ci"]
    assert rows["dev4-ws"]["stage"] == "failed: run the suite", rows["dev4-ws"]
    assert "(exit 137)" in rows["dev4-ws"]["error"], rows["dev4-ws"]
    assert rows["dev4-ws"]["vantage"] == "dev4-broken"
    assert rows["stray-ws"]["stage"] == "mapping"
    assert "no vantage 'stray-ws'" in rows["stray-ws"]["error"]
    # ... and an inconclusive verdict of its own in the merged results
    verdicts = [v for r in merged["runs"] for v in r["verdicts"]]
    fleet_verdicts = {v["vantage"]: v for v in verdicts if v["controls"] == ["FLEET-VANTAGE-01"]}
    assert set(fleet_verdicts) == {"test3-ci", "test4-ci", "dev4-broken", "stray-ws"}
    assert {v["outcome"] for v in fleet_verdicts.values()} == {"inconclusive"}
    # the others completed, and judged right: the dev3 segment's own hole, no other
    outcome = {h: rows[h]["outcome"] for h in covered}
    assert outcome == {"dev-ws": "reachable", "dev2-ws": "blocked", "dev3-ws": "reachable",
                       "test-ci": "reachable", "test2-ci": "blocked"}  # fmt: skip
    (truth,) = leaks.FLEET_GROUND_TRUTH
    dev3 = [v for v in verdicts if v["vantage"] == "dev3-ws" and v["outcome"] == "reachable"]
    assert [v["controls"] for v in dev3] == [[truth.control]]
    assert dev3[0]["group"] == truth.group and truth.evidence in " ".join(dev3[0]["findings"])
    # one merged bundle, signed, verified by the public key; each host's run inside it
    check = _prodwall("verify", str(out), "--public-key", str(key.with_suffix(".pub")),
                      runner=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(list((out / "runs").glob("*/results.json"))) == 5
    page = (out / "report.html").read_text()
    assert "5 of 9 intended vantages returned a verified run" in page
    assert page.count("<b>not covered</b>") == 4
    # nothing secret in what the fleet wrote or said; nothing left behind on the hosts
    written = [said] + [p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*")
                        if p.is_file()]  # fmt: skip
    for secret in (leaks.PROD_DB_PASSWORD, leaks.PROD_AWS_SECRET, leaks.DEV_AWS_SECRET):
        assert not [t for t in written if secret in t]
    assert set(glob.glob("/tmp/prodwall-*")) == before
    # the hosts unpacked prodwall into the lab's folder (lab down removes it), not /var/tmp
    assert set(Path("/var/tmp/prodwall-0").glob("pyz-*")) == cache_before
    # the fingerprint key reached the hosts as a file, never on a command line
    assert any(b"prodwall.pyz" in c for c in sampler.seen)  # the sampler saw the runs ...
    # ... and Ansible's environment values, which it puts on the command line
    assert any(b"PRODWALL_FINGERPRINT_KEY_FILE=" in c for c in sampler.seen)
    assert not [c for c in sampler.seen if leaks.FINGERPRINT_KEY in c]

    hosts_said = scale.stdout + scale.stderr
    assert scale.returncode == 1, hosts_said[-3000:]
    assert "4 workers" in hosts_said
    checks = json.loads((tmp_path / "hosts" / "results.json").read_text())["verdicts"]
    by = {(v["vantage"], v["group"]): v["outcome"] for v in checks}
    assert set(by) == {(f"ansible://{h}", a) for h in FLEET_HOSTS for a in DEV}
    reachable = {k for k, o in by.items() if o == "reachable"}
    assert reachable == {("ansible://dev-ws", "ssh"), ("ansible://dev-ws", "kube"),
                         ("ansible://test-ci", "name-resolution")}  # fmt: skip
    stopped = {k for k in by if k[0] == "ansible://test3-ci"}  # its sshd is still down
    assert {by[k] for k in stopped} == {"inconclusive"}
    assert {o for k, o in by.items() if k not in reachable | stopped} == {"blocked"}

"""`prodwall hosts` across the lab's hosts, as a fleet is checked: testinfra's ansible://
hosts from an Ansible inventory (and ssh:// and paramiko:// ones), two at a time with
pytest-xdist, from the runner namespace. prod-db is checked by a read-only auditor in
both of its states: every guardrail blocked when sealed, every one reachable when
leaky; a host that cannot be reached, or that the inventory does not place, is
inconclusive (root; runs in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from labrun import lab
from prodwall.fingerprint import KEY_ENV
from prodwall.lab import leaks, prodhost
from prodwall.lab.topology import ANSIBLE_HOSTS, SSH_CONFIG

pytestmark = pytest.mark.lab
PROD = ("banner", "privilege", "break-glass", "audit", "integrity", "logs")
DEV = ("name-resolution", "ssh", "live", "kube")


def _hosts(out: Path, hosts: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    done = subprocess.run(
        ["ip", "netns", "exec", "pwlab-runner", sys.executable, "-m", "prodwall.cli", "hosts",
         "-i", str(REPO / "inventories" / "lab.yaml"), "--hosts", hosts, "-o", str(out),
         *extra],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, KEY_ENV: leaks.FINGERPRINT_KEY.decode()},
    )  # fmt: skip
    path = out / "results.json"
    return done, json.loads(path.read_text()) if path.exists() else None


def _by(results: Any) -> dict[tuple[str, str], Any]:
    return {(v["vantage"], v["group"]): v for v in results["verdicts"]}


def test_sealed_fleet_every_host_check_blocked(tmp_path: Path) -> None:
    with lab("sealed"):
        done, results = _hosts(
            tmp_path / "ansible", "ansible://all", "--ansible-inventory", str(ANSIBLE_HOSTS),
            "-n", "2",
        )  # fmt: skip
        # every host check blocked; partial all the same: no network check ran here
        assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]
        assert "prodwall: PARTIAL (14 blocked" in done.stdout
        assert "2 workers" in done.stdout  # pytest-xdist really ran two
        verdicts = _by(results)
        assert {k: v["outcome"] for k, v in verdicts.items()} == {
            **{("ansible://prod-db", a): "blocked" for a in PROD},
            **{(f"ansible://{h}", a): "blocked" for h in ("dev-ws", "test-ci") for a in DEV},
        }
        priv = verdicts[("ansible://prod-db", "privilege")]["evidence"]["by_detail"]
        assert any("1 sshd config file(s) and 1 sudoers file(s)" in d for d in priv)
        audit = verdicts[("ansible://prod-db", "audit")]["evidence"]["by_detail"]
        assert any("auditd runs with 4 rule(s)" in d for d in audit)  # 2 files, 2 rules each
        fim = verdicts[("ansible://prod-db", "integrity")]["evidence"]["by_detail"]
        assert any("aide installed" in d and "initialised" in d for d in fim)
        junit = (tmp_path / "ansible" / "junit.xml").read_text()
        assert "prodwall-verdict" not in junit and 'name="target" value="privilege"' in junit
        page = (tmp_path / "ansible" / "report.html").read_text()
        assert "ansible://prod-db" in page and "HOST-PRIV-01" in page

        # the same hosts by ssh:// and paramiko:// (the lab's ssh_config names them)
        done, results = _hosts(
            tmp_path / "ssh", "ssh://dev-ws,paramiko://prod-db", "--ssh-config", str(SSH_CONFIG)
        )
        assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]
        assert {v["vantage"] for v in results["verdicts"]} == {
            "ssh://dev-ws", "paramiko://prod-db",
        }  # fmt: skip

        # an unreachable production host and one the inventory does not know
        fleet = tmp_path / "fleet.yml"
        fleet.write_text(
            "all:\n  vars:\n    ansible_python_interpreter: /usr/bin/python3\n"
            f"    ansible_ssh_common_args: -F {SSH_CONFIG}\n  hosts:\n"
            "    prod-web:\n      ansible_host: 198.18.200.14\n      ansible_user: auditor\n"
            "    stranger:\n      ansible_host: 198.18.200.2\n      ansible_user: root\n"
        )
        done, results = _hosts(tmp_path / "bad", "ansible://all", "--ansible-inventory",
                               str(fleet), "-n", "2")  # fmt: skip
        assert done.returncode == 3, done.stdout[-3000:]
        verdicts = _by(results)
        web = [v for (h, _), v in verdicts.items() if h == "ansible://prod-web"]
        assert {v["group"] for v in web} == set(PROD)
        assert {v["outcome"] for v in web} == {"inconclusive"}
        said = [" ".join(v["inconclusive_items"]).lower() for v in web]
        assert all("unreachable" in s or "no route" in s for s in said), said
        stranger = [v for (h, _), v in verdicts.items() if h == "ansible://stranger"]
        assert stranger and {v["outcome"] for v in stranger} == {"inconclusive"}
        assert all("not a host, name or address" in " ".join(v["inconclusive_items"])
                   for v in stranger)  # fmt: skip


def test_leaky_production_host_breaks_every_guardrail(tmp_path: Path) -> None:
    with lab("leaky"):
        done, results = _hosts(
            tmp_path / "ansible", "ansible://all", "--ansible-inventory", str(ANSIBLE_HOSTS),
            "-n", "2",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    verdicts = _by(results)
    for aspect in PROD:
        assert verdicts[("ansible://prod-db", aspect)]["outcome"] == "reachable", aspect
    found = {a: " | ".join(verdicts[("ansible://prod-db", a)]["findings"]) for a in PROD}
    assert "PermitRootLogin yes" in found["privilege"]
    assert "PasswordAuthentication yes" in found["privilege"]
    assert "lets group developers run 'ALL'" in found["privilege"]
    assert "breakglass is open" in found["break-glass"]
    assert "no audit daemon" in found["audit"]
    assert "aide.db: No such file" in found["integrity"]
    assert "visa card number ending 6467" in found["logs"]
    assert "secret prod-db-password appears in /var/log/app/app.log" in found["logs"]
    assert "no prompt setting shows 'production'" in found["banner"]
    # the dev and test hosts' planted leaks, found across the same inventory
    assert verdicts[("ansible://dev-ws", "ssh")]["outcome"] == "reachable"
    assert verdicts[("ansible://dev-ws", "kube")]["outcome"] == "reachable"
    assert verdicts[("ansible://test-ci", "name-resolution")]["outcome"] == "reachable"
    # nothing read from the logs leaves the host: not the card number, not the password
    written = [done.stdout, done.stderr] + [
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
    ]
    spaced = " ".join(prodhost.PLANTED_PAN[i : i + 4] for i in range(0, 16, 4))
    for secret in (prodhost.PLANTED_PAN, spaced, leaks.PROD_DB_PASSWORD):
        assert not [t for t in written if secret in t]

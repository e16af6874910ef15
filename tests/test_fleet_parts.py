"""The pieces of `prodwall fleet` that need no lab: the zipapp a host runs, the mapping of
Ansible hosts to vantages (Ansible's own ansible-inventory, no host contacted), the
verification of a fetched bundle, and the refusals that stop a fleet before it starts."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, run_cli
from prodwall.errors import ProdwallError
from prodwall.fleetrun import zipapp
from prodwall.fleetrun.collect import RUN_TASK, judge_host
from prodwall.fleetrun.hostmap import FleetTarget, intended
from prodwall.inventory.loader import load_inventory
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined
from prodwall.report.manifest import keygen, sha256_file
from prodwall.results import write_results
from report_data import results

FLEET_INV = REPO / "inventories" / "lab-fleet.yaml"


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zipapp.build(tmp_path_factory.mktemp("pyz") / "prodwall.pyz").path


def _pyz(app: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(app), *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PRODWALL_PYZ_CACHE": str(cache), "PYTHONPATH": ""}, cwd="/",
    )  # fmt: skip


def test_zipapp_runs_prodwall_with_its_checks_and_plugins(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = _pyz(pyz, cache, "--version")
    assert done.returncode == 0 and done.stdout.startswith("prodwall "), done.stderr
    # the probe families and the pytest plugin come from entry points inside the archive,
    # the checks from its own checks/ (the command runs from /, away from the repository)
    plan = _pyz(pyz, cache, "plan", "-i", str(FLEET_INV), "--vantage", "dev3-ws")
    assert plan.returncode == 0, plan.stderr
    assert "tcp" in plan.stdout and "198.19.10.30" in plan.stdout
    (unpacked,) = cache.glob("pyz-*")
    assert (unpacked / "site" / "prodwall" / "builtin_checks" / "controls.yaml").is_file()
    assert (unpacked / "site" / "prodwall-0.1.0.dist-info" / "entry_points.txt").is_file()
    assert not list(unpacked.rglob("moto")) and not list(unpacked.rglob("ansible"))
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    # unpacked once: a second run reuses it, and prunes versions unused for a week
    stale, recent = cache / "pyz-0123456789abcdef", cache / "pyz-fedcba9876543210"
    stale.mkdir()
    recent.mkdir()
    os.utime(stale, (0, time.time() - 8 * 86400))
    assert _pyz(pyz, cache, "--version").returncode == 0
    assert set(cache.glob("pyz-*")) == {unpacked, recent} and not list(cache.glob(".unpack-*"))


def test_zipapp_refuses_an_unpack_folder_others_can_write(pyz: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    done = _pyz(pyz, shared, "--version")
    assert done.returncode == 2 and "refusing the unpack folder" in done.stderr
    assert not list(shared.iterdir())  # nothing was unpacked where another user could plant


def test_zipapp_built_for_another_python_says_so(pyz: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pyz"
    with zipfile.ZipFile(pyz) as src, zipfile.ZipFile(other, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "prodwall-build.json":
                meta = json.loads(data)
                meta["ext_suffix"] = ".cpython-39-x86_64-linux-gnu.so"
                meta["python"] = "CPython 3.9.2"
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    done = _pyz(other, tmp_path / "cache", "--version")
    assert done.returncode == 2
    assert "built for CPython 3.9.2" in done.stderr
    assert "install prodwall on this host" in done.stderr
    assert zipapp.describe(pyz).python.startswith("CPython 3.")
    with pytest.raises(ProdwallError, match="not a prodwall zipapp"):
        zipapp.describe(FLEET_INV)


# --- Ansible hosts -> vantages (ansible-inventory reads the file; nobody is contacted) ----


def _hosts_file(tmp: Path, body: str) -> str:
    path = tmp / "hosts.yml"
    path.write_text(body)
    return str(path)


HOSTS = """\
all:
  children:
    dev:
      hosts:
        dev-ws: {ansible_host: 198.18.201.201}
        laptop-7: {ansible_host: 198.18.201.202, prodwall_vantage: dev2-ws}
    test:
      hosts:
        test-ci: {ansible_host: 198.18.201.203}
        nobody: {ansible_host: 198.18.201.204}
"""


def test_hosts_map_to_vantages_by_name_or_variable_and_limit_is_ansibles(tmp_path: Path) -> None:
    inv = load_inventory(FLEET_INV).inventory
    hosts = _hosts_file(tmp_path, HOSTS)
    targets = {t.host: t for t in intended(hosts, None, inv)}
    assert {h: t.vantage for h, t in targets.items()} == {
        "dev-ws": "dev-ws", "laptop-7": "dev2-ws", "test-ci": "test-ci", "nobody": None,
    }  # fmt: skip
    assert "declare vantages.nobody" in targets["nobody"].problem
    assert targets["laptop-7"].environment == "dev"
    assert {t.host for t in intended(hosts, "dev", inv)} == {"dev-ws", "laptop-7"}
    assert {t.host for t in intended(hosts, "all:!laptop-7", inv)} == {"dev-ws", "test-ci",
                                                                        "nobody"}  # fmt: skip
    # two hosts claiming one vantage: refused, naming both
    twice = _hosts_file(tmp_path, HOSTS.replace("prodwall_vantage: dev2-ws",
                                                "prodwall_vantage: dev-ws"))  # fmt: skip
    done = run_cli("fleet", "-i", str(FLEET_INV), "--hosts", twice, "--format", "json")
    assert done.returncode == 2
    (problem,) = json.loads(done.stdout)["error"]["problems"]
    assert problem["field"] == "vantages.dev-ws" and problem["line"]
    assert "dev-ws, laptop-7 all map to this one vantage" in problem["message"]


def test_fleet_refuses_before_touching_any_host(tmp_path: Path) -> None:
    hosts = _hosts_file(tmp_path, HOSTS.replace("dev-ws: ", "dev: ").replace("test-ci: ", "test: "))
    # lab.yaml's vantages are namespaces and ssh targets: a fleet runs on the host itself
    done = run_cli("fleet", "-i", str(REPO / "inventories" / "lab.yaml"), "--hosts", hosts,
                   "-o", str(tmp_path / "out"), "--format", "json")  # fmt: skip
    assert done.returncode == 2, done.stdout
    problems = json.loads(done.stdout)["error"]["problems"]
    assert {p["field"] for p in problems} == {"vantages.dev.location", "vantages.test.location"}
    assert all(p["line"] and p["file"].endswith("lab.yaml") for p in problems)
    assert not (tmp_path / "out").exists()
    done = run_cli("fleet", "-i", str(FLEET_INV), "--hosts", hosts, "--limit", "no-such-group")
    assert done.returncode == 2 and "no host of" in done.stderr
    (tmp_path / "broken.yml").write_text("all: [this is: not an inventory\n")
    done = run_cli("fleet", "-i", str(FLEET_INV), "--hosts", str(tmp_path / "broken.yml"))
    assert done.returncode == 2 and "Ansible could not read" in done.stderr + done.stdout


# --- a fetched bundle is believed only when it verifies --------------------------------

TARGET = FleetTarget("dev-ws", "dev", "dev", "python3", False)


def _bundle(tmp: Path, key: Path, vantage: str = "dev") -> tuple[Path, str, str]:
    """A run's bundle as a host packs it (out/...), and the manifest hash it reports."""
    r = results(vantage, n=4)
    run = tmp / "run"
    run.mkdir()
    write_results(r, run / "results.json")
    write_bundle(Combined((r,)), run, signing_key=key)  # the views, then the signed manifest
    return run, sha256_file(run / "manifest.json"), r.meta.inventory_sha256


Extra = tuple[tuple[tarfile.TarInfo, bytes], ...]


def _pack(run: Path, collect: Path, extra: Extra = ()) -> None:
    (collect / TARGET.host).mkdir(parents=True, exist_ok=True)
    with tarfile.open(collect / TARGET.host / "bundle.tar", "w") as tar:
        tar.add(run, arcname="out")
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data))


def _events(manifest: str) -> list[dict[str, Any]]:
    doc = json.dumps({"manifest_sha256": manifest, "overall": "reachable"})
    return [{"host": TARGET.host, "task": RUN_TASK, "status": "ok", "stdout": doc}]


def test_a_verified_bundle_is_covered_and_every_tampering_is_not(tmp_path: Path) -> None:
    private, public = keygen(tmp_path / "run-key")
    run, manifest, inv_sha = _bundle(tmp_path, private)
    collect = tmp_path / "collect"
    _pack(run, collect)
    good = judge_host(TARGET, _events(manifest), collect, public, inv_sha)
    assert good.covered and good.results is not None, good.error

    # another inventory than the one sent; another vantage's results; another manifest
    assert "another inventory" in judge_host(TARGET, _events(manifest), collect, public,
                                             "00" * 32).error  # fmt: skip
    other = FleetTarget("dev-ws", "dev2-ws", "dev", "python3", False)
    assert "not 'dev2-ws'" in judge_host(other, _events(manifest), collect, public, inv_sha).error
    assert "not the one the run reported" in judge_host(
        TARGET, _events("11" * 32), collect, public, inv_sha).error  # fmt: skip
    # signed by another key (an old run's, or a forger's)
    _, stranger = keygen(tmp_path / "stranger")
    said = judge_host(TARGET, _events(manifest), collect, stranger, inv_sha)
    assert not said.covered and "not signed by this fleet run's key" in said.error
    # a file changed after signing
    data = json.loads((run / "results.json").read_text())
    data["verdicts"][0]["outcome"] = "blocked"
    (run / "results.json").write_text(json.dumps(data))
    _pack(run, collect)
    said = judge_host(TARGET, _events(manifest), collect, public, inv_sha)
    assert not said.covered and "changed since the run: results.json" in said.error


@pytest.mark.parametrize("kind", ["escape", "symlink", "absolute"])
def test_a_bundle_that_reaches_outside_its_folder_is_refused(tmp_path: Path, kind: str) -> None:
    private, public = keygen(tmp_path / "run-key")
    run, manifest, inv_sha = _bundle(tmp_path, private)
    info = tarfile.TarInfo({"escape": "out/../../evil", "symlink": "out/link",
                            "absolute": "/tmp/evil"}[kind])  # fmt: skip
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
    else:
        info.size = 4
    collect = tmp_path / "collect"
    _pack(run, collect, ((info, b"evil" if kind != "symlink" else b""),))
    said = judge_host(TARGET, _events(manifest), collect, public, inv_sha)
    assert not said.covered and said.stage == "verify" and "cannot be unpacked" in said.error
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()


def test_ansibles_own_error_is_the_reason(tmp_path: Path) -> None:
    events = [{"host": "dev-ws", "task": "work folder", "status": "unreachable",
               "msg": "Failed to connect to the host via ssh: Connection refused", "rc": None}]
    said = judge_host(TARGET, events, tmp_path, tmp_path / "k.pub", "00")
    assert (said.covered, said.stage) == (False, "unreachable: work folder")
    assert "Connection refused" in said.error
    crashed = [{"host": "dev-ws", "task": RUN_TASK, "status": "ok", "stdout": "Traceback"}]
    said = judge_host(TARGET, crashed, tmp_path, tmp_path / "k.pub", "00")
    assert not said.covered and "no result document" in said.error


def test_a_fleet_whose_hosts_cannot_be_reached_is_inconclusive_not_passed(
    pyz: Path, tmp_path: Path
) -> None:
    """Ansible's own unreachable error, for a host whose ssh port is closed (loopback):
    exit 3, and the report says which vantage was intended and why it is not covered."""
    hosts = _hosts_file(tmp_path, (
        "all:\n  hosts:\n    dev-ws:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
        "      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o ConnectTimeout=5\n"
    ))  # fmt: skip
    out = tmp_path / "out"
    # the lab's hosts are reached through pwlab-runner; these are on loopback, here
    inv = tmp_path / "fleet.yaml"
    inv.write_text(FLEET_INV.read_text().replace("via: netns:pwlab-runner,", ""))
    done = run_cli("fleet", "-i", str(inv), "--hosts", hosts, "--zipapp", str(pyz),
                   "-o", str(out), timeout=180)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "0 of 1 intended vantages covered" in done.stdout
    (row,) = json.loads((out / "merged.json").read_text())["fleet"]["vantages"]
    assert (row["host"], row["covered"], row["stage"]) == ("dev-ws", False,
                                                           "unreachable: work folder")  # fmt: skip
    assert "port 9" in row["error"] or "refused" in row["error"].lower(), row["error"]
    page = (out / "report.html").read_text()
    assert "0 of 1 intended vantages returned a verified run" in page
    assert run_cli("verify", str(out)).returncode == 0
    # and the CI gate calls it lost coverage
    assert run_cli("ci", str(out)).returncode == 3
    # re-rendered from its merged.json, the fleet's account is still there
    again = run_cli("report", str(out), "-o", str(tmp_path / "again"))
    assert again.returncode == 3, again.stdout + again.stderr
    assert "0 of 1 intended vantages returned a verified run" in (
        tmp_path / "again" / "report.html").read_text()  # fmt: skip


def test_zipapp_command_writes_the_file(tmp_path: Path) -> None:
    done = run_cli("zipapp", "-o", str(tmp_path / "p.pyz"), "--format", "json", timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert Path(doc["path"]).is_file() and doc["sha256"] == sha256_file(tmp_path / "p.pyz")
    assert run_cli("zipapp", "--no-such-flag").returncode == 2


def test_the_fingerprint_key_can_come_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodwall.fingerprint import KEY_ENV, KEY_FILE_ENV, key_given, load_key

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    assert not key_given()
    path = tmp_path / "fp.key"
    path.write_bytes(b"a-fingerprint-key-of-32-bytes-ok\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    assert key_given() and load_key(None) == b"a-fingerprint-key-of-32-bytes-ok"
    path.write_bytes(b"")  # what a fleet host gets when the runner has no key
    with pytest.raises(ProdwallError, match="at least 16 bytes"):
        load_key(None)
    monkeypatch.setenv(KEY_ENV, "the-environment-value-wins-here")
    assert load_key(None) == b"the-environment-value-wins-here"


def test_forks_are_ansibles_and_a_shared_rate_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from prodwall.fleetrun.drive import forks
    from prodwall.planning import build_plan

    monkeypatch.setenv("ANSIBLE_FORKS", "7")
    assert forks(None) == 7  # read back through ansible-config: Ansible's precedence
    assert forks(3) == 3
    inv = load_inventory(FLEET_INV).inventory
    today = date(2026, 11, 29)
    assert build_plan(inv, "dev-ws", today).probing.rate == 100_000
    assert build_plan(inv, "dev-ws", today, rate_share=8).probing.rate == 12_500
    own = inv.model_copy(update={"probing": inv.probing.model_copy(
        update={"rate_scope": "per-vantage"})})  # fmt: skip
    assert build_plan(own, "dev-ws", today, rate_share=8).probing.rate == 100_000

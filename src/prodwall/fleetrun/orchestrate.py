"""One fleet run, start to end: map hosts to vantages, ship prodwall, run the shipped
playbook, verify what comes back, and write one merged, signed report.

The work folder (the inventory's bytes, this run's signing key, the fetched bundles)
is private to the run (0700) and removed at the end, whatever happened."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodwall.errors import ProdwallError
from prodwall.fingerprint import key_given, load_key
from prodwall.fleetrun import zipapp
from prodwall.fleetrun.collect import HostResult, failure, judge_host
from prodwall.fleetrun.drive import forks, run_playbook
from prodwall.fleetrun.hostmap import FleetTarget, ansible_tool, check_targets, intended
from prodwall.fleetrun.merge import fleet_record, missing_run, run_meta
from prodwall.inventory.loader import LoadedInventory
from prodwall.report.bundle import write_bundle
from prodwall.report.bundlefs import check_out, staged
from prodwall.report.combined import Combined
from prodwall.report.manifest import keygen, signer_fingerprint, signing_key_path
from prodwall.runmeta import utc_now
from prodwall.vantages import via

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FleetOptions:
    hosts_file: str
    limit: str | None = None
    forks: int | None = None  # None: Ansible's own setting (ansible.cfg, ANSIBLE_FORKS)
    zipapp: Path | None = None  # None: built from this installation
    sign_key: Path | None = None  # the merged bundle's signer (default $PRODWALL_SIGNING_KEY)
    pyz_cache: str | None = None  # where hosts unpack prodwall (default /var/tmp/prodwall-UID)
    force: bool = False  # replace a non-empty output folder whole


@dataclass(frozen=True)
class FleetOutcome:
    combined: Combined
    report: Path
    hosts: tuple[HostResult, ...]


def run_fleet(
    loaded: LoadedInventory, opts: FleetOptions, out: Path, progress: Progress
) -> FleetOutcome:
    sign_key = signing_key_path(opts.sign_key)
    signer_fingerprint(sign_key)  # a bad key stops the run before any host is touched
    check_out(out, opts.force)  # and an --out that would be refused at the end
    started = utc_now()
    targets = intended(opts.hosts_file, opts.limit, loaded.inventory)
    check_targets(targets, loaded)
    runnable = [t for t in targets if t.vantage]
    # the way to the hosts, as their vantages declare it: entered, or refused before any
    # host is touched
    way = via.for_fleet(loaded.inventory.vantages, [t.vantage for t in runnable if t.vantage])
    inside = via.wrapper("the fleet's hosts", way)
    fork_count = forks(opts.forks)
    share = max(1, min(fork_count, len(runnable)))
    progress(
        f"fleet: {len(targets)} intended vantage hosts, {len(runnable)} mapped to vantages; "
        f"Ansible forks {fork_count}"
        + (f", shared rate {loaded.inventory.probing.rate:,}/s split {share} ways"
           if loaded.inventory.probing.rate_scope == "shared" else "")
    )  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="prodwall-fleet-"))
    try:
        facts, hosts = _play(loaded, opts, runnable, work, share, inside, progress)
        hosts += [failure(t, "mapping", t.problem) for t in targets if not t.vantage]
        order = {t.host: i for i, t in enumerate(targets)}
        hosts.sort(key=lambda h: order[h.target.host])
        base = run_meta(loaded, started)
        runs = [h.results if h.results is not None else missing_run(h, base) for h in hosts]
        record = fleet_record(
            hosts,
            {**facts, "hosts_inventory": opts.hosts_file, "limit": opts.limit or "",
             "forks": fork_count, "rate_share": share},
        )  # fmt: skip
        combined = Combined(tuple(runs), fleet=record)
        with staged(out, opts.force) as stage:
            write_bundle(
                combined,
                stage,
                signing_key=sign_key,
                sources=[h.run_dir for h in hosts if h.run_dir is not None],
                # each run was verified against the key made for it: the signer vouches
                vouch={h.run_dir: h.signing_key for h in hosts if h.run_dir is not None},
            )
        report = out / "report.html"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return FleetOutcome(combined, report, tuple(hosts))


def _play(
    loaded: LoadedInventory,
    opts: FleetOptions,
    runnable: list[FleetTarget],
    work: Path,
    share: int,
    inside: tuple[str, ...],
    progress: Progress,
) -> tuple[dict[str, Any], list[HostResult]]:
    if not runnable:
        return {}, []
    inventory = work / "inventory.yaml"
    inventory.write_bytes(loaded.raw)
    inventory.chmod(0o600)
    private, public = keygen(work / "fleet-run-signer")  # this run's only: proves freshness
    fingerprint_key = work / "fingerprint.key"  # empty without one: hosts use a throwaway
    fingerprint_key.write_bytes(_fingerprint_key())
    fingerprint_key.chmod(0o600)
    if opts.zipapp is not None:
        app = zipapp.describe(opts.zipapp)
    else:
        progress("fleet: building prodwall.pyz from this installation")
        app = zipapp.build(work / "prodwall.pyz")
    progress(f"fleet: prodwall.pyz {app.size / 1e6:.1f} MB ({app.python}), {app.sha256[:16]}")
    limit_file = work / "hosts.txt"
    limit_file.write_text("".join(f"{t.host}\n" for t in runnable))
    collect = work / "collect"
    variables = {
        "prodwall_zipapp": str(app.path),
        "prodwall_inventory": str(inventory),
        "prodwall_sign_key": str(private),
        "prodwall_fingerprint_key": str(fingerprint_key),
        "prodwall_collect": str(collect),
        "prodwall_rate_share": share,
        "prodwall_vantages": {
            t.host: {"vantage": t.vantage, "python": t.python, "become": t.become} for t in runnable
        },
    }
    if opts.pyz_cache:
        variables["prodwall_pyz_cache"] = opts.pyz_cache
    extra = work / "vars.json"
    extra.write_text(json.dumps(variables))
    extra.chmod(0o600)
    play = run_playbook(
        opts.hosts_file, limit_file, extra, work / "events.jsonl", opts.forks, progress, inside
    )
    by_host: dict[str, list[dict[str, Any]]] = {}
    for event in play.events:
        by_host.setdefault(str(event.get("host")), []).append(event)
    hosts = []
    for t in runnable:
        events = by_host.get(t.host, [])
        if not events:
            hosts.append(failure(
                t, "ansible-playbook",
                f"Ansible reported nothing for this host (ansible-playbook exit "
                f"{play.returncode}): {play.output_tail[-2000:]}",
            ))  # fmt: skip
            continue
        hosts.append(judge_host(t, events, collect, public, loaded.sha256))
    facts = {
        "zipapp_sha256": app.sha256,
        "zipapp_python": app.python,
        "ansible": _ansible_version(),
        "ansible_playbook_exit": play.returncode,
    }
    return facts, hosts


def _fingerprint_key() -> bytes:
    """The runner's fingerprint key, as the hosts' runs need it (never in their env)."""
    if not key_given():
        return b""
    try:
        return load_key(None)
    except ProdwallError:
        return b""  # too short or unreadable: the hosts' runs say they used a throwaway


def _ansible_version() -> str:
    try:
        done = subprocess.run(
            [ansible_tool("ansible-playbook"), "--version"], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        return done.stdout.splitlines()[0].strip() if done.stdout else ""
    except Exception:  # the version is a fact for the report, not a reason to fail
        return ""

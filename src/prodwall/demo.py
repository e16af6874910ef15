"""`prodwall demo`: the lab in each profile, the whole suite from each vantage, a summary.

The leaky profile's ground truth is the acceptance test: every planted leak
whose probe family exists must be found, and the sealed lab must show nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prodwall.errors import EXIT_OK, EXIT_REACHABLE, ProdwallError
from prodwall.families.registry import registry
from prodwall.fingerprint import KEY_ENV
from prodwall.inventory import load_inventory
from prodwall.lab import cloud_estate, manager
from prodwall.lab.leaks import FINGERPRINT_KEY, FLEET_GROUND_TRUTH, GROUND_TRUTH, Leak
from prodwall.lab.topology import ANSIBLE_HOSTS, FLEET_ANSIBLE_HOSTS, LAB_DIR, PYZ_CACHE, RUNNER_NS
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined, load
from prodwall.report.inputs import check_inputs
from prodwall.report.keys import KEY_ENV as SIGNING_ENV
from prodwall.report.keys import keygen, trust_from
from prodwall.results import Results
from prodwall.runner import HostsRun, RunnerRun, run_checks
from prodwall.verdicts import Outcome

LAB_INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "lab.yaml"
VANTAGES = ("dev", "test", "dev-ssh", "test-ssh")
# the ssh vantages are the dev and test hosts themselves (their files and processes, for
# the secrets family), reached from the runner namespace over their management links
INSIDE = {v: ("ip", "netns", "exec", RUNNER_NS) for v in ("dev-ssh", "test-ssh")}
# the host checks across the lab's three hosts (prod-db as a read-only auditor), the way a
# fleet is checked: testinfra's ansible:// hosts, two at a time with pytest-xdist
FLEET = "fleet"
# the AWS configuration proof, read from the runner through the lab estate's audit roles
CLOUD = "cloud"
# the fleet: the suite run on each of the eight segment hosts at once (prodwall fleet)
SEGMENTS = "segments"
FLEET_INVENTORY = LAB_INVENTORY.with_name("lab-fleet.yaml")


@dataclass(frozen=True)
class LeakResult:
    leak: Leak
    status: str  # found | missed | not-checkable


def judge_ground_truth(leaky: dict[str, Results]) -> list[LeakResult]:
    out = []
    for leak in (*GROUND_TRUTH, *FLEET_GROUND_TRUTH):
        if leak.family not in registry():
            out.append(LeakResult(leak, "not-checkable"))
            continue
        results = leaky.get(leak.vantage)
        found = results is not None and any(
            v.outcome is Outcome.REACHABLE
            and leak.control in v.controls
            and v.group == leak.group
            and (not leak.evidence or any(leak.evidence in f for f in v.findings))
            for v in results.verdicts
        )
        out.append(LeakResult(leak, "found" if found else "missed"))
    return out


def sealed_findings(sealed: dict[str, Results]) -> list[str]:
    """Every sealed-lab verdict that is not a pass, but for checks with nothing to review
    from a vantage by design (the secrets checks from a namespace vantage)."""
    return [
        f"{vantage}: {v.check}: {v.outcome.value}: {v.reason}"
        for vantage, results in sealed.items()
        for v in results.verdicts
        if v.outcome is not Outcome.BLOCKED
        and not (v.outcome is Outcome.NOT_REVIEWED and _by_design(results, v.check))
    ]


def _by_design(results: Results, check: str) -> bool:
    """A secrets or hosts check from a vantage that reads no host (`secret_scan: false`)."""
    host_checks = "test_secrets.py" in check or "test_hosts.py" in check
    planned = results.plan_counts.get("secrets") or results.plan_counts.get("host")
    return host_checks and not planned


def run_demo(out: Path, keep: bool = False, inventory: Path = LAB_INVENTORY) -> int:
    manager.require_root()

    def say(message: str) -> None:
        print(f"demo: {message}", file=sys.stderr, flush=True)

    loaded = load_inventory(inventory)  # read once for every run
    # the lab's secrets are fingerprinted under its published key (lab.yaml holds them so)
    os.environ.setdefault(KEY_ENV, FINGERPRINT_KEY.decode())
    # the runner's own AWS identity (the lab's audit key), as a CI job's would be
    os.environ.update(cloud_estate.runner_environment())
    # everything the demo writes is signed by a key made for this demo (its private half
    # lives and dies with the demo; its public half is published beside the reports)
    keydir = Path(tempfile.mkdtemp(prefix="prodwall-demo-key-"))
    key, public = keygen(keydir / "lab-signing", "prodwall demo", "built-in lab signer")
    os.environ[SIGNING_ENV] = str(key)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lab-signing.pub").unlink(missing_ok=True)
    shutil.copyfile(public, out / "lab-signing.pub")
    runs: dict[str, dict[str, Results]] = {}
    try:
        for profile in manager.PROFILES:
            say(f"bringing the lab up ({profile})")
            manager.up(profile, lambda m: say(f"  {m}"))
            runs[profile] = {}
            for vantage in VANTAGES:
                say(f"running the suite from {vantage} ({profile})")
                folder = _fresh(out / f"{profile}-{vantage}")
                runs[profile][vantage] = run_checks(
                    loaded, vantage, folder, quiet=True, inside=INSIDE.get(vantage, ())
                )
                write_bundle(Combined((runs[profile][vantage],)), folder)
            say(f"running the host checks across the lab's Ansible inventory ({profile})")
            folder = _fresh(out / f"{profile}-{FLEET}")
            runs[profile][FLEET] = run_checks(
                loaded, "", folder, quiet=True, inside=("ip", "netns", "exec", RUNNER_NS),
                hosts=HostsRun("ansible://all", str(ANSIBLE_HOSTS), workers=2),
            )  # fmt: skip
            write_bundle(Combined((runs[profile][FLEET],)), folder)
            say(f"reading the lab's AWS estate through its audit roles ({profile})")
            folder = _fresh(out / f"{profile}-{CLOUD}")
            runs[profile][CLOUD] = run_checks(
                loaded, "", folder, quiet=True, inside=("ip", "netns", "exec", RUNNER_NS),
                hosts=RunnerRun(),
            )
            write_bundle(Combined((runs[profile][CLOUD],)), folder)
            say(f"running the suite on the eight segment hosts at once: prodwall fleet ({profile})")
            segments = _fleet(_fresh(out / f"{profile}-{SEGMENTS}"))
            sources = [out / f"{profile}-{v}" for v in runs[profile]]
            sources.append(out / f"{profile}-{SEGMENTS}")  # its runs, with their keys
            runs[profile].update(segments)
            # one report per profile, every run merged: what an auditor reads first; each
            # input verified first, so the profile's manifest vouches for the keys it saw
            checked = check_inputs(sources, trust_from([], key, env=False), False)
            write_bundle(Combined(tuple(runs[profile].values())), _fresh(out / profile),
                         sources=sources, vouch={c.given: c.signing_key for c in checked})
    finally:
        shutil.rmtree(keydir, ignore_errors=True)
        if not keep:
            manager.down(lambda m: say(f"  {m}"))
        else:
            say(f"lab left up ({LAB_DIR}); `prodwall lab down` removes it")
    return _summary(runs, out)


def _fresh(folder: Path) -> Path:
    """A demo folder emptied first: the demo owns reports/demo, and a bundle holds one
    run's files only (never a previous demo's beside this one's)."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _fleet(out: Path) -> dict[str, Results]:
    """`prodwall fleet` from the runner namespace, as a CI job there would run it; every
    intended vantage must come back verified (the demo's lab has no broken host)."""
    done = subprocess.run(
        ["ip", "netns", "exec", RUNNER_NS, sys.executable, "-m", "prodwall.cli", "fleet",
         "-i", str(FLEET_INVENTORY), "--hosts", str(FLEET_ANSIBLE_HOSTS), "-o", str(out),
         "--forks", "8", "--pyz-cache", str(PYZ_CACHE), "--format", "json"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    merged = out / "merged.json"
    if done.returncode not in (0, 1, 3) or not merged.exists():
        raise ProdwallError(f"prodwall fleet failed (exit {done.returncode}): "
                            f"{(done.stdout + done.stderr)[-2000:]}")  # fmt: skip
    combined = load([merged])
    uncovered = [r for r in (combined.fleet or {}).get("vantages", []) if not r["covered"]]
    if uncovered:
        raise ProdwallError(f"prodwall fleet did not cover every segment: {uncovered}")
    return {r.meta.vantage.name: r for r in combined.runs}


def _summary(runs: dict[str, dict[str, Results]], out: Path) -> int:
    print("\nprodwall demo: the built-in lab, sealed and leaky, from the dev and test vantages")
    for profile, by_vantage in runs.items():
        for vantage, results in by_vantage.items():
            counts = ", ".join(f"{n} {k}" for k, n in results.summary().items() if n)
            folder = out / f"{profile}-{vantage}"
            where = folder if folder.exists() else out / f"{profile}-{SEGMENTS}"
            print(
                f"  {profile:<7} from {vantage:<8} {results.overall.value.upper():<13} "
                f"({counts})  {where / 'results.json' if folder.exists() else where}"
            )
    problems = sealed_findings(runs.get("sealed", {}))
    print(
        "\nsealed lab: "
        + (
            "every check blocked: isolation proven for what was checked"
            if not problems
            else f"{len(problems)} checks did not pass:"
        )
    )
    for line in problems:
        print(f"  {line}")
    truth = judge_ground_truth(runs.get("leaky", {}))
    print("\nleaky lab, planted leaks (ground truth):")
    for item in truth:
        mark = {"found": "FOUND  ", "missed": "MISSED ", "not-checkable": "not yet"}[item.status]
        why = "" if item.status != "not-checkable" else f" (no '{item.leak.family}' probes yet)"
        print(
            f"  {mark} {item.leak.id:<18} {item.leak.control:<17} from {item.leak.vantage}: "
            f"{item.leak.description}{why}"
        )
    print(
        f"\nreports: {out / 'sealed' / 'report.html'} and {out / 'leaky' / 'report.html'} "
        "(each vantage's own under <profile>-<vantage>/)"
    )
    found = sum(t.status == "found" for t in truth)
    checkable = sum(t.status != "not-checkable" for t in truth)
    print(
        f"\n{found} of {checkable} checkable leaks found; "
        f"{len(truth) - checkable} await their probe families"
    )
    ok = not problems and found == checkable
    return EXIT_OK if ok else EXIT_REACHABLE

"""Fleet benchmark: `prodwall fleet` over 1, 4 and 8 of the lab's segment hosts, at once
(Ansible forks = vantages) against one after another (forks 1, the same hosts, the same
shipped prodwall.pyz), with the sweep's rate shared by the fleet (inventories/lab-fleet.yaml:
rate_scope shared, 100,000 packets/s split among the runs at once) and per vantage (each
run at the full rate).

    sudo .venv/bin/python benchmarks/fleet_scale.py [--sizes 1,4,8]

Needs root and the lab's Debian packages; brings the leaky lab up and takes it down.
Not a test: it prints wall times, time per vantage and ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from prodwall.fleetrun import zipapp
from prodwall.lab import leaks, manager
from prodwall.lab.topology import FLEET_ANSIBLE_HOSTS, FLEET_HOSTS, PYZ_CACHE

REPO = Path(__file__).resolve().parents[1]
# the order hosts join the fleet: dev and test alternating, the planted leak in the first 4
ORDER = ("dev-ws", "test-ci", "dev3-ws", "test2-ci", "dev2-ws", "test3-ci", "dev4-ws",
         "test4-ci")  # fmt: skip


def fleet(
    inv: Path, pyz: Path, hosts: tuple[str, ...], forks: int, out: Path
) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(
        ["ip", "netns", "exec", "pwlab-runner", sys.executable, "-m", "prodwall.cli", "fleet",
         "-i", str(inv), "--hosts", str(FLEET_ANSIBLE_HOSTS), "--limit", ",".join(hosts),
         "--forks", str(forks), "--zipapp", str(pyz), "-o", str(out), "--format", "json",
         "--pyz-cache", str(PYZ_CACHE)],
        capture_output=True, text=True, timeout=3600,
        env={**os.environ, "PRODWALL_FINGERPRINT_KEY": leaks.FINGERPRINT_KEY.decode()},
    )  # fmt: skip
    wall = time.monotonic() - started
    doc = json.loads(done.stdout)
    if len(doc.get("covered", [])) != len(hosts):
        raise SystemExit(f"fleet of {hosts} did not cover them all: {doc}")
    return wall, doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    assert set(ORDER) == set(FLEET_HOSTS)
    manager.up("leaky")
    try:
        with tempfile.TemporaryDirectory(prefix="pw-fleet-bench-") as tmp:
            work = Path(tmp)
            t0 = time.monotonic()
            pyz = zipapp.build(work / "prodwall.pyz")
            print(f"prodwall.pyz: {pyz.size / 1e6:.1f} MB, built in {time.monotonic() - t0:.1f} s")
            shared = REPO / "inventories" / "lab-fleet.yaml"
            per_vantage = work / "per-vantage.yaml"
            per_vantage.write_text(shared.read_text().replace("rate_scope: shared",
                                                              "rate_scope: per-vantage"))
            rows = []
            for n in sizes:
                hosts = ORDER[:n]
                seq, _ = fleet(shared, pyz.path, hosts, 1, work / f"seq-{n}")
                par, doc = fleet(shared, pyz.path, hosts, n, work / f"par-{n}")
                full, _ = fleet(per_vantage, pyz.path, hosts, n, work / f"full-{n}")
                rows.append((n, seq, par, full, doc["overall"]))
                print(f"  {n} vantages: one after another {seq:.1f} s, at once (shared rate) "
                      f"{par:.1f} s, at once (rate per vantage) {full:.1f} s")
    finally:
        manager.down()
    print()
    print("vantages | one after another | at once, shared rate | at once, rate per vantage "
          "| s per vantage (at once, shared) | speed-up")
    print("---|---|---|---|---|---")
    for n, seq, par, full, _ in rows:
        print(f"{n} | {seq:.1f} s | {par:.1f} s | {full:.1f} s | {par / n:.1f} s | "
              f"{seq / par:.2f}x")
    base = rows[0][2]
    for n, _, par, _, _ in rows[1:]:
        print(f"{n} vantages at once cost {par / base:.2f}x the wall time of one "
              f"({n / (par / base):.1f}x the vantages per hour)")


if __name__ == "__main__":
    main()

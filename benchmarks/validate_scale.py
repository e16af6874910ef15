"""Validation benchmark: `prodwall validate` on generated inventories of 1k to 100k
networks, and the overlap check alone against the pairwise comparison it replaced
(measured in the same run, on the same networks).

    .venv/bin/python benchmarks/validate_scale.py [--sizes 1000,10000,100000]

Not a test: it prints wall times and the ratio of the pairwise check to the sweep.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prodwall.inventory import consistency


def _inventory(path: Path, count: int) -> Path:
    lines = ["version: 1", "name: scale", "environments:", "  prod:", "    tier: production",
             "    networks:"]  # fmt: skip
    lines += [f"      - 10.{k // 256 % 256}.{k % 256}.0/25" for k in range(count // 2)]
    lines += ["  dev:", "    tier: dev", "    networks:"]
    lines += [f"      - 11.{k // 256 % 256}.{k % 256}.128/25" for k in range(count // 2)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _pairwise(inv: Any) -> int:
    nets = [(e.is_production, net) for e in inv.environments.values() for net in e.networks]
    return sum(1 for (p1, n1), (p2, n2) in itertools.combinations(nets, 2)
               if p1 != p2 and n1.version == n2.version and n1.overlaps(n2))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    import ipaddress

    print(f"{'networks':>9} {'validate (s)':>13} {'sweep (s)':>10} {'pairwise (s)':>13} "
          f"{'pairwise/sweep':>15}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = _inventory(Path(tmp) / f"inv-{n}.yaml", n)
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "prodwall.cli", "validate", str(path)],
                                  capture_output=True, text=True)  # fmt: skip
            validate = time.perf_counter() - t0
            assert done.returncode == 0, done.stderr[-500:]
            envs = {
                "prod": SimpleNamespace(is_production=True, networks=[
                    ipaddress.ip_network(f"10.{k // 256 % 256}.{k % 256}.0/25")
                    for k in range(n // 2)]),
                "dev": SimpleNamespace(is_production=False, networks=[
                    ipaddress.ip_network(f"11.{k // 256 % 256}.{k % 256}.128/25")
                    for k in range(n // 2)]),
            }  # fmt: skip
            inv = SimpleNamespace(environments=envs)
            t0 = time.perf_counter()
            found = list(consistency._overlaps(inv))  # type: ignore[arg-type]
            sweep = time.perf_counter() - t0
            if n <= 10_000:  # pairwise beyond this takes minutes
                t0 = time.perf_counter()
                assert _pairwise(inv) == len(found)
                pairwise = time.perf_counter() - t0
                ratio = f"{pairwise / max(sweep, 1e-9):15.1f}x"
                shown = f"{pairwise:13.2f}"
            else:
                ratio, shown = f"{'(skipped)':>15}", f"{'-':>13}"
            print(f"{n:>9} {validate:13.2f} {sweep:10.3f} {shown} {ratio}")


if __name__ == "__main__":
    main()

"""Validation benchmark: `prodwall validate` on generated inventories of 1k to 100k
networks (100k is just under the 4 MiB input cap), the YAML read alone against PyYAML's
pure-Python safe loader, and the overlap check alone against the pairwise comparison it
replaced (each pair measured in the same run, on the same file).

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
from typing import Any

import yaml

from prodwall.inventory import consistency
from prodwall.inventory.loader import load_inventory
from prodwall.yaml_source import parse_yaml

sys.path.insert(0, str(Path(__file__).parent))
import scale_inventory


def _pairwise(inv: Any) -> int:
    nets = [(e.is_production, net) for e in inv.environments.values() for net in e.networks]
    return sum(1 for (p1, n1), (p2, n2) in itertools.combinations(nets, 2)
               if p1 != p2 and n1.version == n2.version and n1.overlaps(n2))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    print(f"{'networks':>9} {'MiB':>5} {'validate (s)':>13} {'parse (s)':>10} "
          f"{'PyYAML (s)':>11} {'PyYAML/parse':>13} {'sweep (s)':>10} {'pairwise (s)':>13} "
          f"{'pairwise/sweep':>15}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = scale_inventory.write(Path(tmp) / f"inv-{n}.yaml", n)
            size = path.stat().st_size
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "prodwall.cli", "validate", str(path)],
                                  capture_output=True, text=True)  # fmt: skip
            validate = time.perf_counter() - t0
            assert done.returncode == 0, done.stderr[-500:]
            inv = load_inventory(path).inventory
            # the YAML read alone, against PyYAML's pure-Python safe loader (what it used)
            raw = path.read_bytes()
            t0 = time.perf_counter()
            parse_yaml(raw, str(path))
            parse = time.perf_counter() - t0
            t0 = time.perf_counter()
            yaml.load(raw.decode(), Loader=yaml.SafeLoader)
            pure = time.perf_counter() - t0
            t0 = time.perf_counter()
            found = list(consistency._overlaps(inv))
            sweep = time.perf_counter() - t0
            if n <= 10_000:  # pairwise beyond this takes minutes
                t0 = time.perf_counter()
                assert _pairwise(inv) == len(found)
                pairwise = time.perf_counter() - t0
                ratio = f"{pairwise / max(sweep, 1e-9):15.1f}x"
                shown = f"{pairwise:13.2f}"
            else:
                ratio, shown = f"{'(skipped)':>15}", f"{'-':>13}"
            print(f"{n:>9} {size / (1 << 20):5.2f} {validate:13.2f} {parse:10.2f} {pure:11.2f} "
                  f"{pure / parse:12.1f}x {sweep:10.3f} {shown} {ratio}")  # fmt: skip


if __name__ == "__main__":
    main()

"""A large inventory as a big estate writes one (shared by the scale test and
benchmarks/validate_scale.py): 100,000 networks of both families, one per line, each
with the CMDB comment people keep beside it, just under the 4 MiB input cap.
Validated only: it declares no vantage, so nothing in it can be planned or sent."""

from __future__ import annotations

from pathlib import Path

PLANTED = "10.0.7.0/24"  # holds production's 10.0.7.0/25


def _network(k: int, production: bool) -> str:
    if k % 2 == 0:
        k //= 2
        return f"10.{k // 256 % 256}.{k % 256}.{0 if production else 128}/25"
    return f"fd00:{19 if production else 18}:{k // 2:x}::/64"


def write(path: Path, count: int, overlap: bool = False) -> Path:
    """count networks (half production, half dev); with overlap, one more dev network
    (the file's last line) that overlaps production."""
    lines = ["version: 1", "name: scale", "environments:", "  prod:", "    tier: production",
             "    networks:"]  # fmt: skip
    lines += [f"      - {_network(k, True)}  # CMDB-{k:06d}"
              for k in range(count // 2)]  # fmt: skip
    lines += ["  dev:", "    tier: dev", "    networks:"]
    lines += [f"      - {_network(k, False)}  # CMDB-{k + count:06d}"
              for k in range(count // 2)]  # fmt: skip
    if overlap:
        lines.append(f"      - {PLANTED}")
    path.write_text("\n".join(lines) + "\n")
    return path

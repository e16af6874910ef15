"""A large inventory as a big estate writes one (shared by the scale test and
benchmarks/validate_scale.py): 100,000 networks of both families, one per line, each
with the CMDB comment people keep beside it, just under the 4 MiB input cap.
Validated only: it declares no vantage, so nothing in it can be planned or sent."""

from __future__ import annotations

from pathlib import Path

# the lab's documentation ranges only (198.18.0.0/15, fd00::/8): validated, never probed
PLANTED = "198.19.0.0/30"  # holds production's 198.19.0.0/32 .. 198.19.0.3/32
PLANTED_HOLDS = ("198.19.0.0/32", "198.19.0.1/32", "198.19.0.2/32", "198.19.0.3/32")


def _network(k: int, production: bool) -> str:
    if k % 2 == 0:
        k //= 2
        return f"{'198.19' if production else '198.18'}.{k // 256 % 256}.{k % 256}/32"
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

"""Validation at scale and the port grammar (part of #25).

The overlap check is a sweep, checked here against the pairwise definition on generated
networks; a 100,000-network inventory is validated for its result (its time is in
benchmarks/validate_scale.py). Port lists read as nmap reads `-p`, and YAML 1.1's
base-60 numbers (`20:23` is 1223) are refused instead of probed."""

from __future__ import annotations

import ipaddress
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, run_cli
from prodwall.inventory import consistency
from prodwall.services import PortSet

sys.path.insert(0, str(REPO / "benchmarks"))
import scale_inventory  # the benchmark's generator: one shape for both


def _pairwise(envs: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The definition: every (production, non-production) pair of one family that overlaps."""
    nets = [(n, i, e.is_production, net) for n, e in envs.items()
            for i, net in enumerate(e.networks)]  # fmt: skip
    out = []
    for (e1, i1, p1, n1), (e2, i2, p2, n2) in itertools.combinations(nets, 2):
        if p1 == p2 or n1.version != n2.version or not n1.overlaps(n2):
            continue
        prod, other = ((e1, i1, n1), (e2, i2, n2)) if p1 else ((e2, i2, n2), (e1, i1, n1))
        out.append((("environments", other[0], "networks", other[1]),
                    f"non-production network {other[2]} of '{other[0]}' overlaps production "
                    f"network {prod[2]} of '{prod[0]}'"))  # fmt: skip
    return sorted(out)


networks = st.one_of(
    st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
              st.integers(0xC6120000, 0xC613FFFF), st.sampled_from([14, 16, 20, 24, 28, 32])),
    st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
              st.integers(0, 2**20).map(lambda x: (0xFD00 << 112) | (x << 90)),
              st.sampled_from([16, 24, 30, 38, 64])),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(networks, max_size=6)), min_size=1,
                max_size=5))  # fmt: skip
def test_the_sweep_finds_exactly_the_overlapping_pairs(envs: list[tuple[bool, list[Any]]]) -> None:
    inv = SimpleNamespace(environments={
        f"e{k}": SimpleNamespace(is_production=prod, networks=nets)
        for k, (prod, nets) in enumerate(envs)})  # fmt: skip
    got = sorted((loc, msg) for loc, msg, _fix in consistency._overlaps(inv))  # type: ignore[arg-type]
    assert got == _pairwise(inv.environments)


def test_a_4_mib_inventory_of_100k_networks_validates_with_the_right_answer(
    tmp_path: Path,
) -> None:
    clean = scale_inventory.write(tmp_path / "clean.yaml", 100_000)
    assert 3.5 * (1 << 20) < clean.stat().st_size < 4 << 20  # as large as an input may be
    done = run_cli("validate", str(clean), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "50000 production networks" in done.stdout
    planted = scale_inventory.write(tmp_path / "planted.yaml", 100_000, overlap=True)
    done = run_cli("validate", str(planted), timeout=600)
    assert done.returncode == 2
    said = [line for line in done.stderr.splitlines() if "overlaps production" in line]
    assert said == [
        f"  {planted}:{6 + 50_000 + 3 + 50_000 + 1}: environments.dev.networks[50000]: "
        "non-production "
        f"network {scale_inventory.PLANTED} of 'dev' overlaps production network {held} "
        "of 'prod'. "
        "Fix: production and non-production address space must be disjoint; correct one CIDR"
        for held in scale_inventory.PLANTED_HOLDS
    ]


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("60000-", ((60000, 65535),)),
        ("-1024", ((1, 1024),)),
        ("-", ((1, 65535),)),
        ("22,80,443", ((22, 22), (80, 80), (443, 443))),
        ("1-1024,5432,1000-2000", ((1, 2000), (5432, 5432))),
    ],
)
def test_ports_read_as_nmap_reads_them(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    assert PortSet.parse(text).ranges == ranges


@pytest.mark.parametrize("text", ["20:23", "0-5", "5-3", "--", "a", "65536", "1-2-3"])
def test_bad_port_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        PortSet.parse(text)


def test_a_base60_port_range_is_refused_at_validate_with_its_line(tmp_path: Path) -> None:
    inv = tmp_path / "p.yaml"
    inv.write_text("version: 1\nname: x\nprobing:\n  tcp_ports: 20:23\n")
    done = run_cli("validate", str(inv))
    assert done.returncode == 2
    assert f"{inv}:4: probing.tcp_ports: '20:23' is read by YAML 1.1 as a base-60 number " \
           "(1223)" in done.stderr and "write 20-23" in done.stderr


@st.composite
def port_specs(draw: st.DrawFn) -> str:
    """Port lists in nmap's -p grammar: single ports, ranges, ranges with an open end."""
    items = []
    for _ in range(draw(st.integers(1, 4))):
        a, b = sorted(draw(st.lists(st.integers(1, 65535), min_size=2, max_size=2)))
        items.append(draw(st.sampled_from([f"{a}", f"{a}-{b}", f"{a}-", f"-{b}"])))
    return ",".join(items)


def _nmap_ports(spec: str) -> set[int] | None:
    """The ports nmap reads in `-p SPEC` (no target is given: nothing is scanned)."""
    done = subprocess.run(["nmap", "-p", spec, "-sT", "-Pn", "-n", "-oX", "-"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    found = re.search(r'<scaninfo [^>]*services="([^"]*)"', done.stdout)
    if found is None:
        return None
    out: set[int] = set()
    for part in found.group(1).split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (make test does)")
@settings(max_examples=25, deadline=None)  # each example starts nmap (about a second)
@given(port_specs())
def test_port_lists_read_as_nmap_reads_them(spec: str) -> None:
    ours = PortSet.parse(spec)
    mine = {p for lo, hi in ours.ranges for p in range(lo, hi + 1)}
    assert mine == _nmap_ports(spec), spec

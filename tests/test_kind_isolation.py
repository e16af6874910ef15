"""One probe kind failing never loses the results of another: each kind's verdicts stand
on their own evidence (issue: a full UDP sweep that died took the finished TCP sweep
down with it). Nothing is sent: the sweeps are replaced by canned results."""

from __future__ import annotations

import errno
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from prodwall.families.network import observe as network
from prodwall.families.network import vantage_agent as agent
from prodwall.families.network.records import (
    KindError,
    NetworkResult,
    ProbeStatus,
    Sweep,
    SweepGroup,
)
from prodwall.families.registry import registry
from prodwall.inventory import load_inventory
from prodwall.planning import build_plan
from prodwall.verdicts import Signal

REPO = Path(__file__).resolve().parents[1]


def _tcp_result(targets: list[str]) -> Sweep:
    groups = tuple(
        SweepGroup(
            target=t,
            status=ProbeStatus.FILTERED_ICMP,
            responder="198.18.1.1",
            icmp_type=3,
            icmp_code=13,
            ttl=64,
            ports="1-65535",
            count=65535,
        )
        for t in targets
    )
    return Sweep(method="raw-syn", sent=1, retransmitted=0, seconds=1.0, groups=groups)


def test_the_agent_keeps_tcp_when_udp_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(
        agent, "tcp_sweep", lambda blocks, opts: _tcp_result([b.target for b in blocks])
    )
    monkeypatch.setattr(agent, "udp_sweep", broken)
    monkeypatch.setattr(agent, "echo_sweep", broken)
    monkeypatch.setattr(agent, "_traces", lambda *a: [])
    job = {
        "options": {},
        "tcp": [{"target": "198.19.10.10", "ports": "1-65535"}],
        "udp": [{"target": "198.19.10.10", "ports": "1-65535"}],
        "icmp": ["198.19.10.10"],
    }
    out = agent.run(job)
    assert out["tcp"]["groups"][0]["count"] == 65535
    assert out["errors"] == [
        {"kind": "udp", "message": "the sweep failed: OSError: [Errno 24] Too many open files"},
        {"kind": "icmp", "message": "the probes failed: OSError: [Errno 24] Too many open files"},
    ]


def test_a_failed_kind_makes_only_its_own_observations_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inv = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    plan = build_plan(inv, "dev", date(2026, 11, 28))
    targets = sorted({p.target for p in plan.of_kind("tcp")})
    canned = NetworkResult(
        tcp=_tcp_result(targets),
        errors=(
            KindError(
                kind="udp", message="the sweep failed: OSError: [Errno 24] Too many open files"
            ),
        ),
    ).to_json()
    monkeypatch.setattr(network, "run_agent", lambda *a: canned)
    obs = network.run(plan.of_kind(*registry()["network"].kinds), plan)
    tcp = [o for o in obs if o.kind == "tcp"]
    udp = [o for o in obs if o.kind == "udp"]
    assert tcp and {o.signal for o in tcp} == {Signal.STOPPED}
    assert udp and {o.signal for o in udp} == {Signal.FAILED}
    assert all("Too many open files" in o.detail for o in udp)

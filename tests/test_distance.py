"""Who really answered: the hop-distance reasoning on answers, both ways, and where it
cannot decide (probes/distance.py and its use in the TCP observations)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from prodwall.engine import distance
from prodwall.families.network.observe import _controls
from prodwall.families.network.records import (
    ControlJob,
    ControlResult,
    EchoResult,
    ProbeStatus,
    SweepGroup,
    Trace,
)
from prodwall.families.network.sweep_obs import observe
from prodwall.families.network.sweep_obs import trace_evidence as _trace_evidence
from prodwall.positive import control_status
from prodwall.verdicts import Signal

PROD = [ipaddress.ip_network("198.19.10.0/24"), ipaddress.ip_network("fd00:19:10::/64")]
STATS = {"method": "raw-syn", "sent": 1, "retransmitted": 0, "seconds": 0.1}
HOSTS = {"198.19.10.10": "prod-db", "198.19.10.20": "prod-web", "fd00:19:10::10": "prod-db"}


def _hop(ttl: int, responder: str, what: str, ttl_in: int = 0) -> dict[str, Any]:
    return {"ttl": ttl, "responder": responder, "what": what, "ttl_in": ttl_in}


# the built-in lab: dev -> router (hop 1) -> prod (hop 2); the router resets in prod's name
LAB_TRACE_JSON = {
    "target": "198.19.10.10",
    "port": 1,
    "hops": [
        _hop(1, "198.18.1.1", "time-exceeded", 64),
        _hop(2, "198.19.10.10", "closed", 64),
    ],
    "last_hop": "198.19.10.10",
}
# another shape: dev -> edge (1) -> core firewall (2) -> prod (3); the core resets
CORE_TRACE_JSON = {
    "target": "198.19.10.10",
    "port": 1,
    "hops": [
        _hop(1, "198.18.70.1", "time-exceeded", 64),
        _hop(2, "198.18.72.2", "time-exceeded", 63),
        _hop(3, "198.19.10.10", "closed", 63),
    ],
    "last_hop": "198.19.10.10",
}
LAB_TRACE = Trace.from_json(LAB_TRACE_JSON)
CORE_TRACE = Trace.from_json(CORE_TRACE_JSON)


@pytest.mark.parametrize(
    ("ttl", "hops"),
    [(64, 1), (63, 2), (62, 3), (128, 1), (126, 3), (255, 1), (250, 6), (32, 1), (33, 32)],
)
def test_sender_distance_from_the_received_ttl(ttl: int, hops: int) -> None:
    assert distance.sender_hops(ttl) == hops


def test_unknown_ttl_has_no_distance() -> None:
    assert distance.sender_hops(0) is None


def test_reset_from_the_router_is_forged_and_the_hosts_own_is_not() -> None:
    d = distance.measure([LAB_TRACE])
    forged = d.read("198.19.10.10", 64)
    assert forged.forged is True and forged.answer_hops == 1 and forged.production_hops == 2
    assert forged.refused_by == "198.18.1.1"  # named from the traceroute's hop 1
    real = d.read("198.19.10.10", 63)
    assert real.forged is False and real.answer_hops == 2


def test_deeper_network_names_the_firewall_two_hops_out() -> None:
    d = distance.measure([CORE_TRACE])
    assert d.read("198.19.10.10", 63).forged is True  # from hop 2, production is beyond
    assert d.read("198.19.10.10", 63).refused_by == "198.18.72.2"
    assert d.read("198.19.10.10", 62).forged is False  # hop 3: the host itself
    # a distance holds for the address it was measured for only: a neighbour in the same
    # subnet may be reached another way (a forgotten direct link)
    assert d.read("198.19.10.20", 63).forged is None


def test_a_dual_homed_host_answering_from_one_hop_is_not_forged() -> None:
    # the vantage routes the production address via a gateway that owns it: TTL 1 is
    # delivered, not expired, so nothing proves production lies beyond hop 1
    direct = Trace.from_json(
        {
            "target": "198.19.10.20",
            "port": 53,
            "hops": [_hop(1, "198.19.10.20", "closed", 64)],
            "last_hop": "198.19.10.20",
        }
    )
    r = distance.measure([direct]).read("198.19.10.20", 64)
    assert r.forged is None and "not measured" in r.why
    assert _trace_evidence(direct)["last_hop"] == "198.19.10.20"


def test_without_a_traceroute_nothing_is_decided() -> None:
    r = distance.measure([]).read("198.19.10.10", 64)
    assert r.forged is None and "not measured" in r.why
    assert distance.measure([LAB_TRACE]).read("198.19.10.10", 0).forged is None


def test_a_genuine_answer_raises_the_floor_and_a_forged_one_cannot_lower_it() -> None:
    # the allowed jump's SYN-ACK three hops away proves how far that host is
    d = distance.measure([LAB_TRACE], [("198.19.10.10", 62, "a SYN-ACK")])
    assert d.read("198.19.10.10", 63).forged is True
    assert d.read("198.19.10.10", 62).forged is False
    lower = distance.measure([CORE_TRACE], [("198.19.10.10", 64, "a SYN-ACK")])
    assert lower.floor("198.19.10.10").hops == 3  # type: ignore[union-attr]


def test_windows_and_network_gear_initial_ttls() -> None:
    d = distance.measure([LAB_TRACE])
    assert d.read("198.19.10.10", 127).forged is False  # a Windows host two hops away
    assert d.read("198.19.10.10", 255).forged is True  # a router's own packet, one hop


def _tcp_obs(
    g: dict[str, Any], st: Any, hosts: Any, prod: Any, trace: Any = None, *, dist: Any = None
) -> Any:
    return observe("tcp", SweepGroup.from_json(g), st, hosts, prod, trace, dist)


def _group(status: str, ttl: int, responder: str = "198.19.10.10", **kw: Any) -> dict[str, Any]:
    return {
        "target": "198.19.10.10",
        "status": status,
        "responder": responder,
        "icmp_type": kw.get("icmp", (-1, -1))[0],
        "icmp_code": kw.get("icmp", (-1, -1))[1],
        "ttl": ttl,
        "ports": kw.get("ports", "1-5431"),
        "count": kw.get("count", 5431),
        "detail": "",
    }


def test_tcp_observations_apply_the_rule_in_both_directions() -> None:
    d = distance.measure([LAB_TRACE])
    forged = _tcp_obs(_group("closed", 64), STATS, HOSTS, PROD, LAB_TRACE, dist=d)
    assert forged.signal is Signal.STOPPED
    assert forged.detail == ("refused by hop 1 (198.18.1.1) with a TCP reset in production's name")
    assert forged.evidence["distance"]["answer_from_hops"] == 1
    assert forged.evidence["distance"]["production_at_least_hops"] == 2
    assert forged.evidence["last_hop"] == "198.18.1.1 (answering in 198.19.10.10's name)"
    real = _tcp_obs(_group("closed", 63, ports="5433", count=1), STATS, HOSTS, PROD, dist=d)
    assert real.signal is Signal.CROSSED and "reached the host" in real.detail
    # a SYN-ACK is a connection whoever completed it: reachable, with its distance shown
    proxy = _tcp_obs(_group("open", 64, ports="443", count=1), STATS, HOSTS, PROD, dist=d)
    assert proxy.signal is Signal.CROSSED and "nearer than production" in proxy.detail
    # UDP: a port-unreachable in production's name, sent by the router, is its refusal
    udp = observe(
        "udp",
        SweepGroup.from_json({**_group("closed", 64, icmp=(3, 3)), "ports": "53", "count": 1}),
        {**STATS, "method": "raw-udp"},
        HOSTS,
        PROD,
        None,
        d,
    )
    assert udp.signal is Signal.STOPPED and "port-unreachable in production's name" in udp.detail
    # an ICMP error with a production source, sent by the router
    icmp = _tcp_obs(_group("filtered-icmp", 64, icmp=(3, 3)), STATS, HOSTS, PROD, dist=d)
    assert icmp.signal is Signal.STOPPED and "in production's name" in icmp.detail
    assert (
        _tcp_obs(_group("filtered-icmp", 63, icmp=(3, 3)), STATS, HOSTS, PROD, dist=d).signal
        is Signal.CROSSED
    )


def test_without_a_measured_distance_the_reading_stays_fail_closed() -> None:
    d = distance.measure([])
    o = _tcp_obs(_group("closed", 64), STATS, HOSTS, PROD, dist=d)
    assert o.signal is Signal.CROSSED
    assert "not measured" in o.evidence["distance"]["why"]
    connect = {**STATS, "method": "tcp-connect"}
    assert _tcp_obs(_group("closed", 0), connect, HOSTS, PROD, dist=d).signal is Signal.CROSSED


def test_traceroute_that_really_reached_the_host_keeps_it_as_last_hop() -> None:
    real = {
        **LAB_TRACE_JSON,
        "hops": [LAB_TRACE_JSON["hops"][0], _hop(2, "198.19.10.10", "closed", 63)],  # type: ignore[index]
    }
    assert _trace_evidence(Trace.from_json(real))["last_hop"] == "198.19.10.10"


def _control(expect: str, observed: str, next_hop: str, address: str) -> ControlResult:
    job = ControlJob(
        kind="tcp",
        address=address,
        port=8080,
        expect=expect,
        host="prod-web",
        why="positive control: allowed flow JUMP-1 to prod-web tcp/8080 must answer",
    )
    return ControlResult(control=job, observed=ProbeStatus(observed), next_hop=next_hop)


def test_a_control_answer_from_beyond_the_boundary_is_enough_with_the_limit_stated() -> None:
    from prodwall.positive import allowed_flows, control_limitations

    beyond = tuple(_controls((_control("answer", "open", "198.18.70.1", "198.19.10.20"),), PROD))
    assert control_status(beyond, "tcp") == (True, "")
    (limit,) = control_limitations(beyond, "tcp")
    assert "no known-closed TCP control" in limit and "via 198.18.70.1" in limit
    assert allowed_flows(beyond, "tcp", "198.19.10.0/24") == [
        "198.19.10.20 tcp/8080 (prod-web): expected answer, saw open "
        "[allowed: positive control: allowed flow JUMP-1 to prod-web tcp/8080 must answer]"
    ]
    # an on-link answer proves nothing about answers crossing the boundary
    on_link = tuple(_controls((_control("answer", "open", "198.19.10.20", "198.19.10.20"),), PROD))
    passed, why = control_status(on_link, "tcp")
    assert not passed and "beyond the boundary" in why


def test_icmp_echo_errors_in_productions_name_are_judged_by_distance_too() -> None:
    from prodwall.families.network import observe as network

    def _icmp_obs(e: dict[str, Any], *rest: Any) -> Any:
        return network._icmp_obs(EchoResult.from_json(e), *rest)

    d = distance.measure([LAB_TRACE])
    echo = {
        "target": "198.19.10.10",
        "status": "filtered-icmp",
        "responder": "198.19.10.10",
        "icmp_type": 3,
        "icmp_code": 13,
        "ttl": 64,
        "detail": "",
    }
    forged = _icmp_obs(echo, HOSTS, PROD, d)
    assert forged.signal is Signal.STOPPED and "in production's name" in forged.detail
    assert _icmp_obs({**echo, "ttl": 63}, HOSTS, PROD, d).signal is Signal.CROSSED
    reply = {**echo, "status": "reply", "ttl": 64}  # an echo reply is an answer, whoever sent it
    assert _icmp_obs(reply, HOSTS, PROD, d).signal is Signal.CROSSED

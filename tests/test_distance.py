"""Who really answered: the hop-distance reasoning on answers, both ways, and where it
cannot decide (probes/distance.py and its use in the TCP observations)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from prodwall.probes import distance
from prodwall.probes.network import _controls, _tcp_obs, _trace_evidence, control_status
from prodwall.verdicts import Signal

PROD = [ipaddress.ip_network("198.19.10.0/24"), ipaddress.ip_network("fd00:19:10::/64")]
STATS = {"method": "raw-syn", "sent": 1, "retransmitted": 0, "seconds": 0.1}
HOSTS = {"198.19.10.10": "prod-db", "198.19.10.20": "prod-web", "fd00:19:10::10": "prod-db"}


def _hop(ttl: int, responder: str, what: str, ttl_in: int = 0) -> dict[str, Any]:
    return {"ttl": ttl, "responder": responder, "what": what, "ttl_in": ttl_in}


# the built-in lab: dev -> router (hop 1) -> prod (hop 2); the router resets in prod's name
LAB_TRACE = {
    "target": "198.19.10.10",
    "port": 1,
    "hops": [
        _hop(1, "198.18.1.1", "time-exceeded", 64),
        _hop(2, "198.19.10.10", "closed", 64),
    ],
    "last_hop": "198.19.10.10",
}
# another shape: dev -> edge (1) -> core firewall (2) -> prod (3); the core resets
CORE_TRACE = {
    "target": "198.19.10.10",
    "port": 1,
    "hops": [
        _hop(1, "198.18.70.1", "time-exceeded", 64),
        _hop(2, "198.18.72.2", "time-exceeded", 63),
        _hop(3, "198.19.10.10", "closed", 63),
    ],
    "last_hop": "198.19.10.10",
}


@pytest.mark.parametrize(
    ("ttl", "hops"),
    [(64, 1), (63, 2), (62, 3), (128, 1), (126, 3), (255, 1), (250, 6), (32, 1), (33, 32)],
)
def test_sender_distance_from_the_received_ttl(ttl: int, hops: int) -> None:
    assert distance.sender_hops(ttl) == hops


def test_unknown_ttl_has_no_distance() -> None:
    assert distance.sender_hops(0) is None


def test_reset_from_the_router_is_forged_and_the_hosts_own_is_not() -> None:
    d = distance.measure([LAB_TRACE], {"198.19.10.10": "198.18.1.1"})
    forged = d.read("198.19.10.10", 64)
    assert forged.forged is True and forged.answer_hops == 1 and forged.production_hops == 2
    assert forged.refused_by == "198.18.1.1"  # named from the traceroute's hop 1
    real = d.read("198.19.10.10", 63)
    assert real.forged is False and real.answer_hops == 2


def test_deeper_network_names_the_firewall_two_hops_out() -> None:
    d = distance.measure([CORE_TRACE], {})
    assert d.read("198.19.10.10", 63).forged is True  # from hop 2, production is beyond
    assert d.read("198.19.10.10", 63).refused_by == "198.18.72.2"
    assert d.read("198.19.10.10", 62).forged is False  # hop 3: the host itself
    # the floor holds for the rest of the host's segment, not for other segments
    assert d.read("198.19.10.20", 63).forged is True
    assert d.read("198.19.11.20", 63).forged is None


def test_a_gateway_route_alone_is_a_floor_of_two_hops() -> None:
    d = distance.measure([], {"198.19.10.10": "198.18.1.1"})
    r = d.read("198.19.10.10", 64)
    assert r.forged is True and r.refused_by == "" and "via gateway 198.18.1.1" in r.why
    assert d.read("198.19.10.10", 63).forged is False


def test_on_link_without_measurements_cannot_decide() -> None:
    d = distance.measure([], {"198.19.10.10": "198.19.10.10"})  # on-link: no gateway
    r = d.read("198.19.10.10", 64)
    assert r.forged is None and "not measured" in r.why
    assert distance.measure([LAB_TRACE], {}).read("198.19.10.10", 0).forged is None


def test_a_genuine_answer_raises_the_floor_and_a_forged_one_cannot_lower_it() -> None:
    # a control's SYN-ACK three hops away (the allowed jump) proves how far production is
    d = distance.measure([], {}, [("198.19.10.20", 62, "a SYN-ACK"), ("198.19.10.30", 64, "x")])
    assert d.read("198.19.10.10", 63).forged is True
    assert d.read("198.19.10.10", 62).forged is False


def test_windows_and_network_gear_initial_ttls() -> None:
    d = distance.measure([LAB_TRACE], {})
    assert d.read("198.19.10.10", 127).forged is False  # a Windows host two hops away
    assert d.read("198.19.10.10", 255).forged is True  # a router's own packet, one hop


def _group(status: str, ttl: int, responder: str = "198.19.10.10", **kw: Any) -> dict[str, Any]:
    return {
        "target": "198.19.10.10",
        "status": status,
        "responder": responder,
        "icmp": list(kw.get("icmp", (-1, -1))),
        "ttl": ttl,
        "ports": kw.get("ports", "1-5431"),
        "count": kw.get("count", 5431),
        "detail": "",
    }


def test_tcp_observations_apply_the_rule_in_both_directions() -> None:
    d = distance.measure([LAB_TRACE], {"198.19.10.10": "198.18.1.1"})
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
    # an ICMP error with a production source, sent by the router
    icmp = _tcp_obs(_group("filtered-icmp", 64, icmp=(3, 3)), STATS, HOSTS, PROD, dist=d)
    assert icmp.signal is Signal.STOPPED and "in production's name" in icmp.detail
    assert (
        _tcp_obs(_group("filtered-icmp", 63, icmp=(3, 3)), STATS, HOSTS, PROD, dist=d).signal
        is Signal.CROSSED
    )


def test_without_a_measured_distance_the_reading_stays_fail_closed() -> None:
    d = distance.measure([], {})
    o = _tcp_obs(_group("closed", 64), STATS, HOSTS, PROD, dist=d)
    assert o.signal is Signal.CROSSED
    assert "not measured" in o.evidence["distance"]["why"]
    connect = {**STATS, "method": "tcp-connect"}
    assert _tcp_obs(_group("closed", 0), connect, HOSTS, PROD, dist=d).signal is Signal.CROSSED


def test_traceroute_that_really_reached_the_host_keeps_it_as_last_hop() -> None:
    real = {**LAB_TRACE, "hops": [LAB_TRACE["hops"][0], _hop(2, "198.19.10.10", "closed", 63)]}
    assert _trace_evidence(real)["last_hop"] == "198.19.10.10"


def _control(expect: str, observed: str, next_hop: str, address: str) -> dict[str, Any]:
    return {
        "kind": "tcp",
        "address": address,
        "port": 8080,
        "expect": expect,
        "observed": observed,
        "host": "prod-web",
        "why": "positive control: allowed flow JUMP-1 to prod-web tcp/8080 must answer",
        "next_hop": next_hop,
    }


def test_a_control_answer_from_beyond_the_boundary_is_enough_with_the_limit_stated() -> None:
    from prodwall.probes.network import allowed_flows, control_limitations

    beyond = tuple(_controls([_control("answer", "open", "198.18.70.1", "198.19.10.20")], PROD))
    assert control_status(beyond, "tcp") == (True, "")
    (limit,) = control_limitations(beyond, "tcp")
    assert "no known-closed TCP control" in limit and "via 198.18.70.1" in limit
    assert allowed_flows(beyond, "tcp", "198.19.10.0/24") == [
        "198.19.10.20 tcp/8080 (prod-web): expected answer, saw open "
        "[allowed: positive control: allowed flow JUMP-1 to prod-web tcp/8080 must answer]"
    ]
    # an on-link answer proves nothing about answers crossing the boundary
    on_link = tuple(_controls([_control("answer", "open", "198.19.10.20", "198.19.10.20")], PROD))
    passed, why = control_status(on_link, "tcp")
    assert not passed and "beyond the boundary" in why

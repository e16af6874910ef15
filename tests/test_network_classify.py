"""From agent results to observations: who answered decides crossed or stopped."""

from __future__ import annotations

import ipaddress
from typing import Any

from prodwall.families.network import observe as network
from prodwall.families.network import sweep_obs
from prodwall.families.network.observe import _controls
from prodwall.families.network.records import (
    ControlJob,
    ControlResult,
    EchoResult,
    ProbeStatus,
    SweepGroup,
)
from prodwall.positive import control_status
from prodwall.verdicts import Signal


def _tcp_obs(g: dict[str, Any], st: dict[str, Any], hosts: Any, prod: Any) -> Any:
    return sweep_obs.observe("tcp", SweepGroup.from_json(g), st, hosts, prod)


def _icmp_obs(echo: dict[str, Any], hosts: Any, prod: Any) -> Any:
    return network._icmp_obs(EchoResult.from_json(echo), hosts, prod)


PROD = [ipaddress.ip_network("198.19.10.0/24"), ipaddress.ip_network("fd00:19:10::/64")]
STATS = {"method": "raw-syn", "sent": 1, "retransmitted": 0, "seconds": 0.1}
HOSTS = {"198.19.10.10": "prod-db", "fd00:19:10::10": "prod-db"}


def _group(
    status: str,
    responder: str = "",
    icmp: tuple[int, int] = (-1, -1),
    target: str = "198.19.10.10",
    ports: str = "5432",
    count: int = 1,
) -> dict:  # type: ignore[type-arg]
    return {
        "target": target,
        "status": status,
        "responder": responder,
        "icmp_type": icmp[0],
        "icmp_code": icmp[1],
        "ttl": 63,
        "ports": ports,
        "count": count,
        "detail": "",
    }


def test_tcp_answers_from_production_cross_the_boundary() -> None:
    assert _tcp_obs(_group("open", "198.19.10.10"), STATS, HOSTS, PROD).signal is Signal.CROSSED
    closed = _tcp_obs(_group("closed", "198.19.10.10"), STATS, HOSTS, PROD)
    assert closed.signal is Signal.CROSSED and "reached the host" in closed.detail


def test_icmp_error_decides_by_who_sent_it() -> None:
    boundary = _tcp_obs(
        _group("filtered-icmp", "198.18.1.1", (3, 13), ports="1-65535", count=65535),
        STATS,
        HOSTS,
        PROD,
    )
    assert boundary.signal is Signal.STOPPED
    assert boundary.detail == ("ICMP admin-prohibited from 198.18.1.1 (non-production device)")
    assert boundary.count == 65535 and boundary.ports == "1-65535" and boundary.port is None
    host = _tcp_obs(_group("filtered-icmp", "198.19.10.10", (3, 10)), STATS, HOSTS, PROD)
    assert host.signal is Signal.CROSSED and "production host" in host.detail
    v6 = _tcp_obs(
        _group("filtered-icmp", "fd00:18:1::1", (1, 1), target="fd00:19:10::10"), STATS, HOSTS, PROD
    )
    assert v6.signal is Signal.STOPPED and "admin-prohibited" in v6.detail


def test_silence_and_local_refusal() -> None:
    assert _tcp_obs(_group("silent"), STATS, HOSTS, PROD).signal is Signal.SILENT
    assert _tcp_obs(_group("no-route"), STATS, HOSTS, PROD).signal is Signal.STOPPED
    # the vantage's own packet filter protects that host only: the network was not tested
    local = _tcp_obs(_group("local-filter"), STATS, HOSTS, PROD)
    assert local.signal is Signal.FAILED and "vantage's own filter" in local.detail


def test_connect_method_is_labelled_weaker() -> None:
    weak = {**STATS, "method": "tcp-connect"}
    obs = _tcp_obs(_group("open"), weak, HOSTS, PROD)
    assert obs.detail.endswith("[tcp-connect: weaker evidence]")
    assert obs.evidence["method"] == "tcp-connect"


def test_udp_and_icmp() -> None:
    def udp(status: str, responder: str = "", icmp: tuple[int, int] = (-1, -1)) -> Any:
        g = {**_group(status, responder, icmp, target="198.19.10.53", ports="53"), "ttl": 0}
        return sweep_obs.observe(
            "udp", SweepGroup.from_json(g), {**STATS, "method": "raw-udp"}, HOSTS, PROD
        )

    assert udp("open", "198.19.10.53").signal is Signal.CROSSED
    closed = udp("closed", "198.19.10.53", (3, 3))
    assert closed.signal is Signal.CROSSED and closed.protocol == "udp"
    assert closed.detail == (
        "ICMP port-unreachable from 198.19.10.53 (the packet reached the host)"
    )
    assert udp("filtered-icmp", "198.18.2.1", (3, 13)).signal is Signal.STOPPED
    silent = udp("silent")
    assert silent.signal is Signal.SILENT and silent.detail == "silent (open|filtered)"
    echo = {
        "target": "198.19.10.10",
        "responder": "198.19.10.10",
        "icmp_type": 0,
        "icmp_code": 0,
        "detail": "",
    }
    assert _icmp_obs({**echo, "status": "reply"}, HOSTS, PROD).signal is Signal.CROSSED


def _control(kind: str, expect: str, observed: str) -> ControlResult:
    job = ControlJob(
        kind=kind, address="198.18.3.10", port=81, expect=expect, host="artifacts", why="w"
    )
    return ControlResult(control=job, observed=ProbeStatus(observed))


def test_control_status_needs_every_control_to_pass_and_a_closed_one_for_tcp() -> None:
    ok = _controls((_control("tcp", "answer", "open"), _control("tcp", "closed", "closed")))
    assert control_status(tuple(ok), "tcp") == (True, "")
    only_open = _controls((_control("tcp", "answer", "open"),))
    passed, why = control_status(tuple(only_open), "tcp")
    assert not passed and "no known-closed TCP control" in why
    broken = _controls((_control("tcp", "answer", "silent"), _control("tcp", "closed", "closed")))
    passed, why = control_status(tuple(broken), "tcp")
    assert not passed and "expected answer, saw silent" in why
    assert control_status((), "udp") == (
        False,
        "no positive control for udp is declared for this vantage",
    )


def test_silence_is_no_evidence_when_the_receiver_lost_answers_in_its_last_round() -> None:
    lossy = {**STATS, "receiver": {"answers_lost": 40, "recovery": {"lost_in_last_round": 3}}}
    o = _tcp_obs(_group("silent"), lossy, HOSTS, PROD)
    assert o.signal is Signal.FAILED and "lost 3 answers" in o.detail
    recovered = {**STATS, "receiver": {"answers_lost": 40, "recovery": {"lost_in_last_round": 0}}}
    assert _tcp_obs(_group("silent"), recovered, HOSTS, PROD).signal is Signal.SILENT


def test_an_echo_refused_by_the_vantages_own_filter_is_inconclusive() -> None:
    refused = {
        "target": "198.19.10.10",
        "status": "local-filter",
        "responder": "",
        "icmp_type": -1,
        "icmp_code": -1,
        "detail": "Operation not permitted",
    }
    o = _icmp_obs(refused, HOSTS, PROD)
    assert o.signal is Signal.FAILED and "vantage's own filter" in o.detail

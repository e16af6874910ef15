"""The network and DNS probes against the real lab (root; runs in CI).

A copy of inventories/lab.yaml with fewer TCP ports keeps each run to a few
seconds; the full 65,535-port sweep runs in the demo test and the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labrun import PORTS, _inventory, _run, _verdicts, lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module", params=["sealed", "leaky"])
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, tuple[int, dict[str, Any]]]]]:
    profile: str = request.param
    tmp = tmp_path_factory.mktemp(profile)
    with lab(profile):
        inv = _inventory(tmp)
        done = {v: _run(inv, v, tmp / v) for v in ("dev", "test")}
        for v, (_code, doc) in done.items():
            doc["__folder__"] = str(tmp / v)  # where the run's bundle is (tests only)
        yield profile, done


def test_sealed_is_blocked_with_controls_passed_and_leaky_leaks_are_named(
    runs: tuple[str, dict[str, tuple[int, dict[str, Any]]]],
) -> None:
    profile, by_vantage = runs
    dev_code, dev = by_vantage["dev"]
    test_code, test = by_vantage["test"]
    dv, tv = _verdicts(dev), _verdicts(test)
    v4, v6 = "198.19.10.0/24", "fd00:19:10::/64"
    for verdict in [*dev["verdicts"], *test["verdicts"]]:
        controls = verdict["evidence"].get("positive_controls")
        if controls is not None:
            assert controls["passed"], controls
    if profile == "sealed":
        assert dev_code == test_code == 3  # all blocked, but partial: no host read from here
        network = [
            v
            for v in [*dev["verdicts"], *test["verdicts"]]
            if not v["controls"][0].startswith(("SEC-", "HOST-"))  # no host of their own to read
        ]
        assert {v["outcome"] for v in network} == {"blocked"}
        tcp_dev = dv[("NET-TCP-01", v4)]["evidence"]
        assert tcp_dev["by_detail"] == {
            "ICMP admin-prohibited from 198.18.1.1 (non-production device)": 5 * 1103
        }
        tcp_test = tv[("NET-TCP-01", v4)]["evidence"]
        assert tcp_test["by_signal"] == {"silent": 5 * 1103}  # silent, made evidence by controls
        return
    assert dev_code == test_code == 1
    tcp = dv[("NET-TCP-01", v4)]
    assert tcp["outcome"] == "reachable"
    assert tcp["findings"] == ["198.19.10.10 tcp/5432 (prod-db): open (SYN-ACK)"]
    assert dv[("NET-TCP-01", v6)]["outcome"] == "reachable"  # the IPv6 path
    assert any(
        "fd00:19:10::20 tcp/443 (prod-web): open" in f for f in dv[("NET-TCP-01", v6)]["findings"]
    )
    udp = tv[("NET-UDP-01", v4)]
    assert udp["outcome"] == "reachable"
    assert "198.19.10.53 udp/53 (prod-dns): open: answered with 17 bytes" in udp["findings"]
    # prod-web answers every UDP port (ICMP port-unreachable from the host): the bypass route
    assert any(
        f.startswith("198.19.10.20 udp/53,")
        and f.endswith(
            "(prod-web): ICMP port-unreachable from 198.19.10.20 (the packet reached the host)"
        )
        for f in udp["findings"]
    ), udp["findings"]
    assert tv[("NET-ROUTE-01", v4)]["outcome"] == "reachable"
    assert dv[("DNS-NAME-01", "prod.pwlab.test")]["outcome"] == "reachable"
    # the DNS probes' own packets, both directions, are a capture the verdict names
    dns_ev = dv[("DNS-NAME-01", "prod.pwlab.test")]["evidence"]
    (capture,) = dns_ev["files"]
    assert capture["file"].endswith("dev-dns.pcap") and capture["packets"] >= 2
    lines = dns_ev.get("packets", [])
    assert any(" udp 53 > " in x for x in lines) and any(" > 53 len " in x for x in lines), lines
    assert tv[("DNS-NAME-01", "prod.pwlab.test")]["outcome"] == "blocked"
    assert tcp["evidence"]["last_hops"]["198.19.10.10"] == "198.19.10.10"  # it got there
    assert tv[("NET-TCP-01", v4)]["evidence"]["methods"] == {"raw-syn": 5 * 1103}
    # the echo replies over the IPv6 path are in the capture too, and named by the verdict
    icmp6 = dv[("NET-ICMP-01", v6)]
    assert icmp6["outcome"] == "reachable"
    assert icmp6["evidence"]["files"] and icmp6["evidence"]["files"][0]["file"].endswith(
        "dev-sweeps.pcap"
    )
    assert any("icmp type 129" in line for line in icmp6["evidence"].get("packets", [])), icmp6[
        "evidence"
    ].get("packets")


def test_pcap_and_last_hop_are_evidence(runs: tuple[str, dict[str, Any]]) -> None:
    profile, by_vantage = runs
    _code, dev = by_vantage["dev"]
    tcp = _verdicts(dev)[("NET-TCP-01", "198.19.10.0/24")]["evidence"]
    # where it is blocked: the router's dev address answers last on the way to prod-db
    expected_hop = "198.19.10.10" if profile == "leaky" else "198.18.1.1"
    assert tcp["last_hops"]["198.19.10.10"] == expected_hop
    files = tcp["files"]
    assert len(files) == 1 and files[0]["packets"] >= 1
    # cited by its place in the bundle, which is where it is
    assert files[0]["file"] == "evidence/dev-sweeps.pcap"
    data = (Path(dev["__folder__"]) / files[0]["file"]).read_bytes()
    assert data[:4] == bytes.fromhex("d4c3b2a1")  # pcap magic, little endian
    assert hashlib.sha256(data).hexdigest() == files[0]["sha256"]
    records = _pcap_records(data)
    stamps = [t for t, _ in records]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]  # real capture times, in order
    syns = [pkt for _, pkt in records if pkt[0] >> 4 == 4 and pkt[9] == 6 and pkt[33] == 0x02]
    # both directions of the traced probes: our SYNs as they left the vantage, and answers
    assert any(socket.inet_ntoa(pkt[12:16]) == "198.18.1.10" for pkt in syns)
    # UDP too: a UDP traceroute names where UDP stops
    udp4 = _verdicts(dev)[("NET-UDP-01", "198.19.10.0/24")]["evidence"]["last_hops"]
    assert udp4 == {"198.19.10.10": "198.18.1.1"}  # dev's UDP is refused at the router
    udp6 = _verdicts(dev)[("NET-UDP-01", "fd00:19:10::/64")]["evidence"]["last_hops"]
    if profile == "leaky":  # the IPv6 path bypasses the filter: the resolver itself answers
        assert udp6["fd00:19:10::53"] == "fd00:19:10::53"
    else:
        assert set(udp6.values()) == {"fd00:18:1::1"}


def _pcap_records(data: bytes) -> list[tuple[float, bytes]]:
    out, pos = [], 24
    while pos < len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, pos)
        out.append((sec + usec / 1e6, data[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


def test_broken_positive_control_makes_silence_inconclusive(tmp_path: Path) -> None:
    with lab("sealed"):
        # tcp/82 on the mirror is dropped by the firewall: the "closed" control stays silent
        inv = _inventory(tmp_path, control_port="tcp/82")
        code, results = _run(inv, "test", tmp_path / "test")
    assert code == 3
    tcp = _verdicts(results)[("NET-TCP-01", "198.19.10.0/24")]
    assert tcp["outcome"] == "inconclusive"
    assert "positive control failed" in tcp["reason"]
    assert "expected closed, saw silent" in tcp["reason"]
    assert _verdicts(results)[("NET-ROUTE-01", "198.19.10.0/24")]["outcome"] == "blocked"


def test_vantage_without_cap_net_raw_falls_back_to_connect(tmp_path: Path) -> None:
    with lab("leaky"):
        inv = _inventory(tmp_path)
        inv.write_text(inv.read_text().replace(f'tcp_ports: "{PORTS}"', 'tcp_ports: "5400-5500"'))
        wrapper = {"PRODWALL_AGENT_WRAPPER": "setpriv --bounding-set=-net_raw --inh-caps=-net_raw"}
        code, results = _run(inv, "dev", tmp_path / "dev", env=wrapper)
    assert code == 1
    verdicts = _verdicts(results)
    tcp = verdicts[("NET-TCP-01", "198.19.10.0/24")]
    assert tcp["outcome"] == "reachable"
    assert tcp["findings"] == [
        "198.19.10.10 tcp/5432 (prod-db): open (SYN-ACK) [tcp-connect: weaker evidence]"
    ]
    assert all("[tcp-connect: weaker evidence]" in d for d in tcp["evidence"]["by_detail"])
    # ICMP needs raw sockets: without them that check cannot tell, and says so
    icmp = verdicts[("NET-ICMP-01", "198.19.10.0/24")]
    assert icmp["outcome"] == "inconclusive"
    assert "CAP_NET_RAW" in json.dumps(icmp)

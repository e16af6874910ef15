"""The SYN sweep's two send paths, on a vantage and a host the test builds itself.

Frames through a packet socket skip the vantage's own IP stack, so they are
only allowed where that stack would not have changed anything: these tests
show that frames reach a real kernel intact (it answers them), that a
vantage's own firewall forces the kernel path (and its refusal is recorded),
and that an empty neighbour table is filled by one real probe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Netns

pytestmark = pytest.mark.lab

V4, T4 = "198.18.250.1", "198.18.250.2"
V6, T6 = "fd00:250::1", "fd00:250::2"
TUN_NET, TUN_TARGET = "198.18.251.0/24", "198.18.251.7"
NETHELPER = Path(__file__).with_name("nethelper.py")


@pytest.fixture
def pair(netns: Netns) -> Iterator[tuple[str, str]]:
    """A vantage and a host on one veth: 8080 listens, 8081 is closed, 9000 is dropped."""
    v, t = netns.add("v"), netns.add("t")
    for ns in (v, t):  # no duplicate address detection: link-local addresses usable at once
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
            check=True,
        )
    subprocess.run(
        ["ip", "link", "add", "eth0", "netns", v, "type", "veth", "peer", "eth0", "netns", t],
        check=True,
    )
    for ns, a4, a6 in ((v, V4, V6), (t, T4, T6)):
        netns.ip(ns, "addr", "add", f"{a4}/30", "dev", "eth0")
        netns.ip(ns, "addr", "add", f"{a6}/64", "dev", "eth0", "nodad")
        netns.ip(ns, "link", "set", "eth0", "up")
    _drop(t, "input", 9000)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", t, sys.executable, str(NETHELPER), "listen", "8080"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        for target in (T4, T6):  # both families up end to end before the test starts
            _connect(v, target)
        yield v, t
    finally:
        listener.kill()
        listener.wait(5)


def _drop(ns: str, hook: str, port: int) -> None:
    """A one-rule nftables firewall in `ns` that drops TCP `port` at `hook`."""
    ruleset = (
        f"table inet pwt_{hook} {{\n chain c {{\n type filter hook {hook} priority 0;\n"
        f" tcp dport {port} drop\n }}\n}}\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset, text=True, check=True
    )


def _connect(vantage: str, target: str) -> None:
    probe = (
        "import socket, sys, time\n"
        "for _ in range(50):\n"
        "    try:\n"
        f"        socket.create_connection(('{target}', 8080), timeout=0.2).close(); sys.exit(0)\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
        "sys.exit(1)\n"
    )
    subprocess.run(["ip", "netns", "exec", vantage, sys.executable, "-c", probe], check=True)


def _sweep(vantage: str, targets: tuple[str, ...] | list[str] = (T4, T6)) -> dict[str, Any]:
    job = {
        "options": {"rate": 10000, "retries": 1, "wait": 0.5},
        "tcp": [{"target": t, "ports": "8080,8081,9000"} for t in targets],
    }
    out = subprocess.run(
        ["ip", "netns", "exec", vantage, sys.executable, "-m",
         "prodwall.families.network.vantage_agent"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    tcp: dict[str, Any] = json.loads(out.stdout)["tcp"]
    return tcp


def _statuses(tcp: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(g["target"], g["ports"]): g["status"] for g in tcp["groups"]}


def test_frames_reach_a_real_kernel_and_the_neighbour_is_resolved_by_a_probe(
    pair: tuple[str, str],
) -> None:
    vantage, _ = pair
    subprocess.run(["ip", "-n", vantage, "neigh", "flush", "all"], check=True)
    tcp = _sweep(vantage)
    assert tcp["method"] == "raw-syn"
    assert sorted(tcp["framed_targets"]) == sorted([T4, T6])
    # the host's kernel answered frames: Ethernet, IP and TCP checksum are right
    assert _statuses(tcp) == {
        (T4, "8080"): "open",
        (T4, "8081"): "closed",
        (T4, "9000"): "silent",
        (T6, "8080"): "open",
        (T6, "8081"): "closed",
        (T6, "9000"): "silent",
    }
    # 6 probes, 2 retransmissions of the silent ones, and one probe per next hop through
    # the kernel to resolve its MAC address (the neighbour table was empty)
    assert (tcp["sent"], tcp["retransmitted"]) == (6 + 2 + 2, 2), tcp
    assert tcp["windows"]["first_s"] == 0.5
    assert 0 < tcp["windows"]["slowest_answer_s"] < 0.5


def test_a_vantage_firewall_is_skipped_by_frames_and_reported_as_host_evidence(
    pair: tuple[str, str],
) -> None:
    vantage, _ = pair
    _drop(vantage, "output", 8080)
    tcp = _sweep(vantage)
    # the network is tested, not the vantage's filter: a host beside it without that
    # filter would reach 8080, so the sweep must too
    assert sorted(tcp["framed_targets"]) == sorted([T4, T6])
    assert _statuses(tcp) == {
        (T4, "8080"): "open",
        (T4, "8081"): "closed",
        (T4, "9000"): "silent",
        (T6, "8080"): "open",
        (T6, "8081"): "closed",
        (T6, "9000"): "silent",
    }
    # host evidence: the filter, and what the vantage's own kernel did with a SYN to 8080
    assert tcp["host_filter"].startswith("nftables ruleset")
    assert tcp["kernel_path"] == {T4: "refused (EPERM)", T6: "refused (EPERM)"}


def test_without_an_ethernet_path_past_the_filter_the_refusal_is_the_filters(
    pair: tuple[str, str],
) -> None:
    vantage, _ = pair
    # a tunnel-like device (no Ethernet, no next hop MAC) carries the route to TUN_NET
    subprocess.run(
        ["ip", "-n", vantage, "tuntap", "add", "dev", "pwtun", "mode", "tun"], check=True
    )
    subprocess.run(["ip", "-n", vantage, "link", "set", "pwtun", "up"], check=True)
    subprocess.run(["ip", "-n", vantage, "route", "add", TUN_NET, "dev", "pwtun"], check=True)
    _drop(vantage, "output", 8080)
    tcp = _sweep(vantage, [TUN_TARGET])
    assert tcp["framed_targets"] == []
    assert _statuses(tcp)[(TUN_TARGET, "8080")] == "local-filter"  # never "no-route"
    assert tcp["kernel_path"] == {TUN_TARGET: "refused (EPERM)"}

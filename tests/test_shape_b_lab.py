"""The network family on a network that does not look like the built-in lab (shape_b.py):
production three hops out, no shared zone, no closed port through the boundary, the only
allowed flow the deliberate jump from dev into production."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Netns, run_checks, run_cli
from shape_b import NETHELPER, PROD4, PROD6, WEB, shape_b

pytestmark = pytest.mark.lab
PORTS = "1-1100,5432,8080"


def _run(inv: Path, vantage: str, out: Path) -> tuple[int, dict[tuple[str, str], Any]]:
    done = run_checks(inv, vantage, out, timeout=180)
    results = json.loads((out / "results.json").read_text())
    return done.returncode, {(v["controls"][0], v["group"]): v for v in results["verdicts"]}


def test_the_allowed_jump_is_allowed_and_its_answer_makes_silence_count(
    netns: Netns, tmp_path: Path
) -> None:
    with shape_b(netns, "drop") as net:
        inv = net.inventory(tmp_path / "inv.yaml", tcp_ports=PORTS)
        code, verdicts = _run(inv, "dev", tmp_path / "dev")
    assert code == 3  # UDP and ICMP have no positive control here: they cannot tell
    for prod, web in ((PROD4, "198.19.77.20"), (PROD6, "fd00:77::20")):
        tcp = verdicts[("NET-TCP-01", prod)]
        assert tcp["outcome"] == "blocked", tcp["reason"]
        assert tcp["findings"] == []
        # every probed port but the jump's: 1,102 on prod-db, 1,101 on prod-web
        assert tcp["evidence"]["by_signal"] == {"silent": 2 * 1102 - 1}
        (allowed,) = tcp["evidence"]["allowed_flows"]
        assert allowed.startswith(f"{web} tcp/8080 (prod-web): expected answer, saw open")
        assert "JUMP-1" in allowed
        (limit,) = tcp["evidence"]["limitations"]
        assert "no known-closed TCP control" in limit and web in limit
        assert tcp["evidence"]["positive_controls"]["passed"]
        udp = verdicts[("NET-UDP-01", prod)]
        assert udp["outcome"] == "inconclusive"
        assert "no positive control for udp" in udp["reason"]


def test_resets_from_a_firewall_two_hops_out_are_its_own(netns: Netns, tmp_path: Path) -> None:
    with shape_b(netns, "reset") as net:
        inv = net.inventory(tmp_path / "inv.yaml", tcp_ports=PORTS)
        dev_code, dev = _run(inv, "dev", tmp_path / "dev")
        _test_code, test = _run(inv, "test", tmp_path / "test")
    for prod, core in ((PROD4, "198.18.72.2"), (PROD6, "fd00:72::2")):
        for verdicts in (dev, test):  # test has no control at all: the resets are evidence
            tcp = verdicts[("NET-TCP-01", prod)]
            assert tcp["outcome"] == "blocked", tcp["reason"]
            assert set(tcp["evidence"]["by_detail"]) == {
                f"refused by hop 2 ({core}) with a TCP reset in production's name"
            }
            readings = {
                (d["answer_from_hops"], d["production_at_least_hops"])
                for d in tcp["evidence"]["distances"]
            }
            assert readings == {(2, 3)}
    assert dev_code == 3  # UDP and ICMP without controls


def test_a_full_udp_sweep_finds_one_odd_port_let_through(netns: Netns, tmp_path: Path) -> None:
    """Nothing listens on udp/31337 of prod-db, but the firewall lets it through: the host's
    own port-unreachable proves the packet crossed. Only a sweep of every port finds it."""
    with shape_b(netns, "drop", udp_hole=31337) as net:
        inv = net.inventory(tmp_path / "inv.yaml", tcp_ports=PORTS, udp_ports="1-65535")
        code, verdicts = _run(inv, "dev", tmp_path / "dev")
    assert code == 1
    for prod, db in ((PROD4, "198.19.77.10"), (PROD6, "fd00:77::10")):
        udp = verdicts[("NET-UDP-01", prod)]
        assert udp["outcome"] == "reachable"
        assert udp["findings"] == [
            f"{db} udp/31337 (prod-db): ICMP port-unreachable from {db} "
            "(the packet reached the host)"
        ]
        assert udp["evidence"]["probes"] == 2 * 65535
        assert udp["evidence"]["methods"] == {"raw-udp": 2 * 65535}
        # the TCP sweep of the same run stands on its own evidence
        assert verdicts[("NET-TCP-01", prod)]["outcome"] == "blocked"


def test_without_a_frame_path_past_the_vantages_filter_nothing_is_called_blocked(
    netns: Netns, tmp_path: Path
) -> None:
    """dev reaches production's IPv4 network only through a tunnel-like device (no Ethernet
    next hop to send frames to) and its own firewall drops that traffic: the network past
    the filter cannot be tested, so the verdict is inconclusive, naming the filter."""
    with shape_b(netns, "drop") as net:
        dev = ["ip", "-n", net.dev]
        subprocess.run([*dev, "tuntap", "add", "dev", "pwtun", "mode", "tun"], check=True)
        subprocess.run([*dev, "link", "set", "pwtun", "up"], check=True)
        subprocess.run([*dev, "route", "replace", PROD4, "dev", "pwtun"], check=True)
        host_filter = (
            "table inet pwt_hostfw {\n chain out {\n  type filter hook output priority 0;\n"
            f"  ip daddr {PROD4} drop\n }}\n}}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", net.dev, "nft", "-f", "-"],
            input=host_filter,
            text=True,
            check=True,
        )
        inv = net.inventory(tmp_path / "inv.yaml", tcp_ports=PORTS)
        code, verdicts = _run(inv, "dev", tmp_path / "dev")
    reachable = sorted(k for k, v in verdicts.items() if v["outcome"] == "reachable")
    assert reachable == [("NET-ROUTE-01", PROD4)], reachable  # the tunnel bypasses the boundary
    assert code == 1
    for check in ("NET-TCP-01", "NET-UDP-01", "NET-ICMP-01"):
        verdict = verdicts[(check, PROD4)]
        assert verdict["outcome"] == "inconclusive", (check, verdict["reason"])
        assert verdict["inconclusive_items"]
        assert all("vantage's own filter" in item for item in verdict["inconclusive_items"])
    assert "nftables ruleset" in json.dumps(verdicts[("NET-TCP-01", PROD4)])


def _egress_inventory(net: Any, tmp: Path) -> Path:
    """shape B with dev's hosts declared to carry an egress filter, read at the dev host."""
    inv = net.inventory(tmp / "inv.yaml", tcp_ports=PORTS)
    text = inv.read_text()
    text = text.replace(
        '    boundary_gateways: [198.18.70.1, "fd00:70::1"]\n',
        '    boundary_gateways: [198.18.70.1, "fd00:70::1"]\n'
        "    host_policy: {egress_filter: true}\n",
        1,
    )
    text = text.replace("    secret_scan: false  # a namespace: no host of its own to read\n",
                        "    secret_scan: true\n", 1)  # fmt: skip
    (tmp / "nothing").mkdir()
    text += f"secret_scan:\n  paths: [{tmp / 'nothing'}]\n"
    inv.write_text(text)
    return inv


def _egress(net: Any, inv: Path, out: Path) -> dict[str, Any]:
    done = run_cli("run", "-i", str(inv), "--vantage", "dev", "-o", str(out), "--", "-q",
                   "-k", "egress", timeout=180)  # fmt: skip
    assert done.returncode in (1, 3), done.stdout[-2000:] + done.stderr[-2000:]  # 3: partial
    results = json.loads((out / "results.json").read_text())
    (verdict,) = [v for v in results["verdicts"] if v["controls"] == ["HOST-EGRESS-01"]]
    return dict(verdict)


def test_a_host_egress_filter_is_read_from_the_live_ruleset_both_ways(
    netns: Netns, tmp_path: Path
) -> None:
    """dev's own nftables: IPv4 to production dropped and IPv6 forgotten is reachable; both
    dropped, with the one accept the policy allows (the jump to prod-web tcp/8080), is
    blocked. Checked against what the kernel then does with a real connection."""
    with shape_b(netns, "drop") as net:
        inv = _egress_inventory(net, tmp_path)

        def table(*rules: str) -> str:
            return (
                "table inet pwt_egress {\n chain out {\n  type filter hook output priority 0;\n"
                "  ct state established,related accept\n"
                + "".join(f"  {r}\n" for r in rules)
                + " }\n}\n"
            )

        load = ["ip", "netns", "exec", net.dev, "nft", "-f", "-"]
        forgotten = table(f"ip daddr {PROD4} drop")
        subprocess.run(load, input=forgotten, text=True, check=True)
        verdict = _egress(net, inv, tmp_path / "forgotten")
        assert verdict["outcome"] == "reachable", verdict["reason"]
        assert [f for f in verdict["findings"] if PROD6 in f] and not [
            f for f in verdict["findings"] if PROD4 in f
        ]
        # the kernel agrees: IPv6 to prod-web leaves the host, IPv4 does not
        probe = [sys.executable, str(NETHELPER), "tcp"]
        six = subprocess.run(["ip", "netns", "exec", net.dev, *probe, WEB[1], "8080"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        four = subprocess.run(["ip", "netns", "exec", net.dev, *probe, WEB[0], "8080"],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        assert json.loads(six.stdout)["result"] == "open", six.stdout
        assert json.loads(four.stdout)["result"] != "open", four.stdout

        subprocess.run([*load[:4], "nft", "delete", "table", "inet", "pwt_egress"], check=True)
        sealed = table(
            f"ip daddr {WEB[0]} tcp dport 8080 accept", f"ip daddr {PROD4} drop",
            f"ip6 daddr {PROD6} drop",
        )  # fmt: skip
        subprocess.run(load, input=sealed, text=True, check=True)
        verdict = _egress(net, inv, tmp_path / "sealed")
        assert verdict["outcome"] == "blocked", verdict["reason"]
        by_detail = " | ".join(verdict["evidence"]["by_detail"])
        assert f"ip daddr {PROD4} drop" in by_detail and f"ip6 daddr {PROD6} drop" in by_detail

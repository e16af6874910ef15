"""Verdicts that nothing on the path or on the vantage can fool, on the built-in lab (root).

- The router refuses dev -> prod with TCP resets carrying production's addresses: those
  are refusals by the router (hop 1), found by their TTL, while a real open and a real
  closed production port in the same run stay reachable.
- The vantage's own output filter is not the network's: the sweep sends past it and
  still finds the planted holes, and reports the filter as host evidence.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labrun import PORTS, _inventory, _run, _verdicts, lab

pytestmark = pytest.mark.lab
V4, V6 = "198.19.10.0/24", "fd00:19:10::/64"
_FWD = 'insert rule inet prodwall_lab forward iifname "to-dev"'
RESETS = "\n".join(
    [
        f"{_FWD} meta l4proto tcp ip daddr {V4} reject with tcp reset",
        f"{_FWD} meta l4proto tcp ip6 daddr {V6} reject with tcp reset",
        # inserted last, so first in the chain: a real open and a real closed port of prod-db
        f"{_FWD} ip daddr 198.19.10.10 tcp dport {{ 5432, 5433 }} accept",
        f"{_FWD} ip6 daddr fd00:19:10::10 tcp dport {{ 5432, 5433 }} accept",
        "",
    ]
)
HOST_FILTER = f"""
table inet pwt_hostfw {{
  chain out {{
    type filter hook output priority 0;
    ip daddr {V4} drop
    ip6 daddr {V6} drop
  }}
}}
"""


def _nft(ns: str, script: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True, check=True
    )


def test_resets_in_productions_name_are_the_routers_and_real_answers_still_count(
    tmp_path: Path,
) -> None:
    with lab("sealed"):
        _nft("pwlab-router", RESETS)
        inv = _inventory(tmp_path)
        inv.write_text(inv.read_text().replace(PORTS, f"{PORTS},5433"))
        code, results = _run(inv, "dev", tmp_path / "dev")
    assert code == 1  # the two real holes
    verdicts = _verdicts(results)
    per_network = 5 * (1103 + 1)
    for net, router, db in (
        (V4, "198.18.1.1", "198.19.10.10"),
        (V6, "fd00:18:1::1", "fd00:19:10::10"),
    ):
        tcp = verdicts[("NET-TCP-01", net)]
        assert tcp["outcome"] == "reachable", tcp["reason"]
        assert sorted(tcp["findings"]) == [
            f"{db} tcp/5432 (prod-db): open (SYN-ACK)",
            f"{db} tcp/5433 (prod-db): closed (RST: the packet reached the host)",
        ]
        forged = f"refused by hop 1 ({router}) with a TCP reset in production's name"
        assert tcp["evidence"]["by_detail"] == {
            forged: per_network - 2,
            "open (SYN-ACK)": 1,
            "closed (RST: the packet reached the host)": 1,
        }
        assert tcp["evidence"]["last_hops"][db] == f"{router} (answering in {db}'s name)"
        hops = {
            (d["answer_from_hops"], d["production_at_least_hops"])
            for d in tcp["evidence"]["distances"]
        }
        assert (1, 2) in hops and (2, 2) in hops  # the router's resets, and the host's own
        assert tcp["evidence"]["positive_controls"]["passed"]


def test_the_vantages_own_filter_does_not_hide_the_networks_holes(tmp_path: Path) -> None:
    with lab("leaky"):
        _nft("pwlab-dev", HOST_FILTER)
        code, results = _run(_inventory(tmp_path), "dev", tmp_path / "dev")
    assert code == 1
    verdicts = _verdicts(results)
    tcp4, tcp6 = verdicts[("NET-TCP-01", V4)], verdicts[("NET-TCP-01", V6)]
    assert tcp4["outcome"] == "reachable"
    assert tcp4["findings"] == ["198.19.10.10 tcp/5432 (prod-db): open (SYN-ACK)"]
    assert tcp6["outcome"] == "reachable"  # the IPv6 path the IPv4 rules forget
    for tcp in (tcp4, tcp6):
        host = tcp["evidence"]["vantage_filter"]
        assert host["filter"].startswith("nftables ruleset")
        # host evidence: the vantage's kernel refuses production, not the artifact mirror
        path = host["kernel_path"]
        assert path["198.19.10.10"] == path["fd00:19:10::10"] == "refused (EPERM)"
        assert path["198.18.3.10"] == path["fd00:18:3::10"] == "sent"
    # UDP and ICMP follow the same rule: sent past the filter, judged by the network
    for check in ("NET-UDP-01", "NET-ICMP-01"):
        assert verdicts[(check, V4)]["outcome"] == "blocked"  # the router refuses dev
        assert verdicts[(check, V6)]["outcome"] == "reachable"  # the forgotten IPv6 path


def test_on_a_sealed_network_the_vantage_filter_is_reported_beside_blocked(
    tmp_path: Path,
) -> None:
    with lab("sealed"):
        _nft("pwlab-dev", HOST_FILTER)
        code, results = _run(_inventory(tmp_path), "dev", tmp_path / "dev")
    # TCP, UDP and ICMP all tested past the filter, all refused; partial: one vantage's run
    # leaves the host and secrets requirements (and the planned cloud probes) uncovered
    assert code == 3
    network = [v for v in results["verdicts"] if not v["controls"][0].startswith(("SEC-", "HOST-"))]
    # DNS queries to production's resolver are refused by the vantage's own filter (UDP:
    # EPERM; TCP: dropped, so silent) and never leave it: the network is not tested past
    # it, so inconclusive, whatever the DNS positive control says (#25)
    dns = {"DNS-RESOLVER-01", "DNS-AXFR-01"}
    assert {v["outcome"] for v in network if v["controls"][0] not in dns} == {"blocked"}
    for v in (v for v in network if v["controls"][0] in dns):
        said = str(v["evidence"])
        assert v["outcome"] == "inconclusive", v
        assert "did not leave the vantage" in said or "the vantage itself refuses" in said, v
    for net in (V4, V6):
        tcp = _verdicts(results)[("NET-TCP-01", net)]
        assert tcp["outcome"] == "blocked", tcp["reason"]
        assert set(tcp["evidence"]["by_detail"]) == {
            f"ICMP admin-prohibited from {'198.18.1.1' if net == V4 else 'fd00:18:1::1'} "
            "(non-production device)"
        }
        assert tcp["evidence"]["vantage_filter"]["kernel_path"]

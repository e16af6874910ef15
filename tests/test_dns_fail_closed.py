"""DNS fails closed (part of #25): with no resolver reachable, every DNS check is
inconclusive, never blocked. Run through the CLI in a network namespace that holds only
a loopback that is down: no query can leave, so nothing is sent anywhere."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.resolver
import pytest

from prodwall.families.dns import vantage_agent as dnsagent
from prodwall.families.dns.records import DnsStatus

INVENTORY = """\
version: 1
name: dns with no resolver
environments:
  production:
    tier: production
    networks: [198.19.10.0/24]
    dns_domains: [prod.pwtest.test]
    hosts:
      prod-dns:
        addresses: [198.19.10.53]
        services: [dns]
        names: [ns1.prod.pwtest.test]
  dev:
    tier: dev
    networks: [198.18.1.0/24]
vantages:
  here:
    location: local
    environment: dev
"""


@pytest.mark.lab  # root: a network namespace of its own (none of the lab's)
def test_no_reachable_resolver_is_inconclusive_not_blocked(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY)
    out = tmp_path / "out"
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "prodwall.cli", "run", "-i", str(inv),
         "--vantage", "here", "-o", str(out), "-q", "--", "-k", "dns"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    verdicts = json.loads((out / "results.json").read_text())["verdicts"]
    outcomes = {v["controls"][0]: v["outcome"] for v in verdicts}
    assert outcomes == {"DNS-NAME-01": "inconclusive", "DNS-RESOLVER-01": "inconclusive",
                        "DNS-AXFR-01": "inconclusive"}, verdicts  # fmt: skip
    said = json.dumps(verdicts)
    assert "no resolver was reached" in said and "did not leave the vantage" in said
    # zone transfers went to the planned server only, never to the host's resolv.conf
    (axfr,) = [v for v in verdicts if v["controls"] == ["DNS-AXFR-01"]]
    assert list(axfr["counts"].values()) == [1], axfr


def test_zone_transfers_are_planned_and_guarded(tmp_path: Path) -> None:
    """`plan` lists every server a zone transfer is asked of (#25): production resolvers
    and the DNS servers the vantage may use, each through the scope guard."""
    from conftest import run_cli

    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY)
    done = run_cli("plan", "-i", str(inv), "--vantage", "here", "--format", "json")
    assert done.returncode == 0, done.stderr
    probes = json.loads(done.stdout)["probes"]
    axfr = sorted((p["target"], p["protocol"], p["ports"]) for p in probes
                  if p["kind"] == "dns-axfr")  # fmt: skip
    assert axfr == [("198.19.10.53", "tcp", "53"), ("prod.pwtest.test", None, None)], axfr


def _response(rcode: int) -> dns.message.Message:
    r = dns.message.make_response(dns.message.make_query("db.prod.example.", "A"))
    r.set_rcode(rcode)
    return r


@pytest.mark.parametrize(
    ("errors", "status"),
    [
        ([("198.18.1.1", False, 53, OSError(errno.ENETUNREACH, "unreachable"), None)],
         DnsStatus.ERROR),
        ([("198.18.1.1", False, 53, None, _response(dns.rcode.REFUSED))], DnsStatus.REFUSED),
        ([("198.18.1.1", False, 53, None, _response(dns.rcode.SERVFAIL))], DnsStatus.SERVFAIL),
        ([], DnsStatus.ERROR),
    ],
)  # fmt: skip
def test_what_the_resolvers_said_is_read_from_their_answers(
    errors: list[object], status: DnsStatus
) -> None:
    exc = dns.resolver.NoNameservers(request=dns.message.make_query("x.", "A"), errors=errors)
    assert dnsagent._no_nameservers(exc)[0] is status


@pytest.mark.parametrize(
    ("code", "status"),
    [(errno.ECONNREFUSED, DnsStatus.REFUSED), (errno.EHOSTUNREACH, DnsStatus.REFUSED),
     (errno.EACCES, DnsStatus.REFUSED), (errno.ENETUNREACH, DnsStatus.ERROR),
     (errno.EPERM, DnsStatus.ERROR)],
)  # fmt: skip
def test_only_a_refusal_from_the_network_counts_as_refused(code: int, status: DnsStatus) -> None:
    assert dnsagent._os_error(OSError(code, "x"))[0] is status


def _run_dns(ns: str, tmp: Path) -> dict[str, str]:
    inv = tmp / "inv.yaml"
    inv.write_text(INVENTORY)
    out = tmp / "out"
    done = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "prodwall.cli", "run", "-i", str(inv),
         "--vantage", "here", "-o", str(out), "-q", "--", "-k", "dns"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stdout + done.stderr
    verdicts = json.loads((out / "results.json").read_text())["verdicts"]
    return {v["controls"][0]: v["outcome"] + " " + json.dumps(v) for v in verdicts}


@pytest.mark.lab  # root: two network namespaces of the test's own
@pytest.mark.parametrize("refused_by", ["network", "vantage"])
def test_a_refusal_counts_only_when_the_network_sent_it(
    netns: Any, tmp_path: Path, refused_by: str
) -> None:
    """The same socket error (No route to host) either way: from the router's ICMP
    unreachable it is the network refusing (blocked); from the vantage's own nftables
    reject rule it is the vantage refusing, and says nothing of the network
    (inconclusive). Only the capture tells them apart. The router has no route onwards:
    nothing leaves the two namespaces."""
    vantage, router = netns.add("v"), netns.add("r")
    netns.link(vantage, "v0", "198.18.1.5/24", router, "r0", "198.18.1.1/24")
    netns.ip(vantage, "route", "add", "198.19.10.0/24", "via", "198.18.1.1")
    netns.ip(router, "route", "add", "unreachable", "198.19.10.0/24")  # ICMP host unreachable
    subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
                   check=True)  # fmt: skip
    if refused_by == "vantage":
        rules = ("table inet own {\n chain out {\n type filter hook output priority 0;\n"
                 " ip daddr 198.19.10.53 reject with icmp type admin-prohibited\n }\n}\n")
        subprocess.run(["ip", "netns", "exec", vantage, "nft", "-f", "-"], input=rules,
                       text=True, check=True)  # fmt: skip
    outcomes = _run_dns(vantage, tmp_path)
    resolver, axfr = outcomes["DNS-RESOLVER-01"], outcomes["DNS-AXFR-01"]
    if refused_by == "network":
        assert resolver.startswith("blocked"), resolver
        assert axfr.startswith("blocked"), axfr
    else:
        assert resolver.startswith("inconclusive"), resolver
        assert axfr.startswith("inconclusive"), axfr
        assert "reject rule" in resolver or "did not leave the vantage" in resolver, resolver


def _frame(packet: Any) -> bytes:
    from scapy.layers.l2 import Ether

    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / packet)


def test_refusals_are_read_from_the_packets_scapy_builds() -> None:
    """scapy as the oracle for packet layout: ICMP and ICMPv6 unreachables quoting a query
    to port 53, and resets from it, name their server; anything else names none."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6

    from prodwall.families.dns import vantage_capture as dnscapture

    query = DNS(rd=1, qd=DNSQR(qname="x.prod.pwtest.test"))
    v4 = IP(src="198.18.1.5", dst="198.19.10.53")
    v6 = IPv6(src="fd00:18:1::5", dst="fd00:19:10::53")
    cases = [
        (IP(src="198.18.1.1", dst="198.18.1.5") / ICMP(type=3, code=13) / v4 / UDP(dport=53)
         / query, {("198.19.10.53", "udp")}),
        (IP(src="198.18.1.1", dst="198.18.1.5") / ICMP(type=3, code=1) / v4
         / TCP(sport=40000, dport=53, flags="S"), {("198.19.10.53", "tcp")}),
        (IPv6(src="fd00:18:1::1", dst="fd00:18:1::5") / ICMPv6DestUnreach(code=1) / v6
         / UDP(dport=53) / query, {("fd00:19:10::53", "udp")}),
        (IP(src="198.19.10.53", dst="198.18.1.5") / TCP(sport=53, dport=40000, flags="RA"),
         {("198.19.10.53", "tcp")}),
        # not refusals of a query to port 53
        (IP(src="198.18.1.1", dst="198.18.1.5") / ICMP(type=3, code=13) / v4 / UDP(dport=80),
         set()),
        (IP(src="198.18.1.1", dst="198.18.1.5") / ICMP(type=11) / v4 / UDP(dport=53), set()),
        (IP(src="198.19.10.53", dst="198.18.1.5") / TCP(sport=53, dport=40000, flags="SA"),
         set()),
        (IP(src="198.19.10.53", dst="198.18.1.5") / TCP(sport=80, dport=40000, flags="R"),
         set()),
    ]  # fmt: skip
    servers = {"198.19.10.53", "fd00:19:10::53"}
    for packet, refused in cases:
        raw = bytes(packet)
        assert dnscapture.wire_refusals([raw]) == refused, packet.summary()
        kept = dnscapture._dns_packet(_frame(packet), servers, arrived=True)
        # an unrelated ICMP error or a packet of another port is not even recorded
        dns_port = TCP in packet and 53 in (packet[TCP].sport, packet[TCP].dport)
        expected = bool(refused) or (ICMP not in packet and dns_port)
        assert (kept is not None) == expected, packet.summary()
        # a refusal made at the vantage itself (over loopback, or outgoing) is not kept
        if refused:
            assert dnscapture._dns_packet(_frame(packet), servers, arrived=False) is None
    # our own query is kept whichever way it went
    assert dnscapture._dns_packet(_frame(v4 / UDP(dport=53) / query), servers, False)

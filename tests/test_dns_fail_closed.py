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

import dns.message
import dns.rcode
import dns.resolver
import pytest

from prodwall.probes import dnsagent
from prodwall.probes.dns_records import DnsStatus

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

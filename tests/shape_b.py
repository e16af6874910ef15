"""A network shaped unlike the built-in lab, built by a test in its own namespaces.

    dev  (198.18.70.10) ─┐
                          edge router ── core firewall ── prod (198.19.77.10 db, .20 web)
    test (198.18.71.10) ─┘

Production is three hops from dev (the lab's is two); there is no shared zone and no
closed port through the boundary. The only allowed flow is the deliberate jump from dev
to prod-web tcp/8080. The core refuses everything else by dropping it silently
(`refusal="drop"`) or with TCP resets in production's name (`refusal="reset"`); an
optional UDP hole lets one odd port through to prod-db, where nothing listens.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conftest import Netns
from prodwall.lab.build import LAB_SYSCTLS

SYSCTLS = LAB_SYSCTLS  # the lab's: no ICMP rate limits, no duplicate address detection
NETHELPER = Path(__file__).with_name("nethelper.py")
DB, WEB = ("198.19.77.10", "fd00:77::10"), ("198.19.77.20", "fd00:77::20")
PROD4, PROD6 = "198.19.77.0/24", "fd00:77::/64"


@dataclass(frozen=True)
class ShapeB:
    dev: str
    test: str
    edge: str
    core: str
    prod: str

    def inventory(self, path: Path, *, tcp_ports: str, udp_ports: str = "common") -> Path:
        path.write_text(
            textwrap.dedent(f"""
            version: 1
            name: shape-b
            environments:
              production:
                tier: production
                networks: ["{PROD4}", "{PROD6}"]
                hosts:
                  prod-db:
                    addresses: ["{DB[0]}", "{DB[1]}"]
                    services: [postgres]
                  prod-web:
                    addresses: ["{WEB[0]}", "{WEB[1]}"]
                    services: [jump=tcp/8080]
              dev:
                tier: dev
                networks: [198.18.70.0/24, "fd00:70::/64"]
                boundary_gateways: [198.18.70.1, "fd00:70::1"]
              test:
                tier: test
                networks: [198.18.71.0/24, "fd00:71::/64"]
                boundary_gateways: [198.18.71.1, "fd00:71::1"]
            vantages:
              dev:
                location: netns:{self.dev}
                environment: dev
                secret_scan: false  # a namespace: no host of its own to read
              test:
                location: netns:{self.test}
                environment: test
                secret_scan: false
            policy:
              allowed_flows:
                - from: dev
                  to: prod-web
                  services: [jump=tcp/8080]
                  ticket: JUMP-1
                  approver: change board
                  justification: the deliberate jump into production
                  expires: 2099-12-31
            scope:
              max_probes: 2000000
            probing:
              tcp_ports: "{tcp_ports}"
              udp_ports: "{udp_ports}"
              icmp: true
              rate: 100000
              retries: 1
              wait_seconds: 1.0
            """).lstrip()
        )
        return path


def _link(netns: Netns, a: str, a_if: str, b: str, b_if: str) -> None:
    subprocess.run(
        ["ip", "link", "add", a_if, "netns", a, "type", "veth", "peer", b_if, "netns", b],
        check=True,
    )


def _addr(netns: Netns, ns: str, dev: str, *addrs: str) -> None:
    for a in addrs:
        netns.ip(ns, "addr", "add", a, "dev", dev, *(["nodad"] if ":" in a else []))
    netns.ip(ns, "link", "set", dev, "up")


def _routes(netns: Netns, ns: str, via4: str, via6: str, *nets: str) -> None:
    for net in nets:
        netns.ip(ns, "route", "add", net, "via", via6 if ":" in net else via4)


def _firewall(refusal: str, udp_hole: int | None) -> str:
    hole = (
        f"ip daddr {DB[0]} udp dport {udp_hole} accept\n    ip6 daddr {DB[1]} udp dport "
        f"{udp_hole} accept"
        if udp_hole
        else ""
    )
    refuse = "meta l4proto tcp reject with tcp reset" if refusal == "reset" else ""
    return f"""
table inet shape_b {{
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "to-edge" ip saddr 198.18.70.0/24 ip daddr {WEB[0]} tcp dport 8080 accept
    iifname "to-edge" ip6 saddr fd00:70::/64 ip6 daddr {WEB[1]} tcp dport 8080 accept
    {hole}
    iifname "to-edge" {refuse}
    drop
  }}
}}
"""


@contextmanager
def shape_b(netns: Netns, refusal: str = "drop", udp_hole: int | None = None) -> Iterator[ShapeB]:
    dev, test, edge, core, prod = (netns.add(n) for n in ("dev", "test", "edge", "core", "prod"))
    for ns in (dev, test, edge, core, prod):
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *SYSCTLS], check=True)
    for ns in (edge, core):
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
            ],
            check=True,
        )
    _link(netns, dev, "eth0", edge, "to-dev")
    _link(netns, test, "eth0", edge, "to-test")
    _link(netns, edge, "to-core", core, "to-edge")
    _link(netns, core, "to-prod", prod, "eth0")
    _addr(netns, dev, "eth0", "198.18.70.10/24", "fd00:70::10/64")
    _addr(netns, test, "eth0", "198.18.71.10/24", "fd00:71::10/64")
    _addr(netns, edge, "to-dev", "198.18.70.1/24", "fd00:70::1/64")
    _addr(netns, edge, "to-test", "198.18.71.1/24", "fd00:71::1/64")
    _addr(netns, edge, "to-core", "198.18.72.1/30", "fd00:72::1/64")
    _addr(netns, core, "to-edge", "198.18.72.2/30", "fd00:72::2/64")
    _addr(netns, core, "to-prod", "198.19.77.1/24", "fd00:77::1/64")
    _addr(netns, prod, "eth0", f"{DB[0]}/24", f"{WEB[0]}/24", f"{DB[1]}/64", f"{WEB[1]}/64")
    for ns, gw4, gw6 in ((dev, "198.18.70.1", "fd00:70::1"), (test, "198.18.71.1", "fd00:71::1")):
        _routes(netns, ns, gw4, gw6, PROD4, PROD6)
    _routes(netns, edge, "198.18.72.2", "fd00:72::2", PROD4, PROD6)
    _routes(netns, core, "198.18.72.1", "fd00:72::1", "198.18.70.0/23", "fd00:70::/31")
    _routes(netns, prod, "198.19.77.1", "fd00:77::1", "198.18.70.0/23", "fd00:70::/31")
    subprocess.run(
        ["ip", "netns", "exec", core, "nft", "-f", "-"],
        input=_firewall(refusal, udp_hole),
        text=True,
        check=True,
    )
    listener = subprocess.Popen(
        ["ip", "netns", "exec", prod, sys.executable, str(NETHELPER), "listen", "8080", "5432"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        yield ShapeB(dev, test, edge, core, prod)
    finally:
        listener.kill()
        listener.wait(5)

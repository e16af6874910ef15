"""The built-in lab, declared once: zones, hosts, services and addresses.

Everything lives in 198.18.0.0/15 and fd00::/8 (benchmarking and unique-local
space), inside network namespaces named `pwlab-*` so that `lab down` can find
and remove all of it by name, even after a crash.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

PREFIX = "pwlab"
ROUTER_NS = f"{PREFIX}-router"
LAB_DIR = Path("/var/lib/prodwall-lab")  # not under /run: lab sshd mounts its own /run
NETNS_ETC = Path("/etc/netns")  # iproute2's per-namespace /etc view (ip netns exec)
DOMAIN = "pwlab.test"


@dataclass(frozen=True)
class Zone:
    name: str
    tier: str
    v4: str
    v6: str

    @property
    def ns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def router_if(self) -> str:
        return f"to-{self.name}"

    @property
    def gateway4(self) -> str:
        return str(ipaddress.ip_network(self.v4).network_address + 1)

    @property
    def gateway6(self) -> str:
        return str(ipaddress.ip_network(self.v6).network_address + 1)

    @property
    def domain(self) -> str:
        return f"{self.name}.{DOMAIN}"


@dataclass(frozen=True)
class LabHost:
    name: str
    zone: str
    suffix: int  # the host's address is network + suffix, in both families
    tcp: tuple[int, ...] = ()  # served by the lab listener
    udp: tuple[int, ...] = ()
    sshd: bool = False  # a real OpenSSH server on port 22
    dns: bool = False  # a real dnsmasq on port 53 (UDP and TCP)
    dns_name: str = ""

    def v4(self) -> str:
        return str(ipaddress.ip_network(ZONES[self.zone].v4).network_address + self.suffix)

    def v6(self) -> str:
        # .10 <-> ::10: the same digits in both families, easier to read in reports
        net = ipaddress.ip_network(ZONES[self.zone].v6)
        return str(net.network_address + int(str(self.suffix), 16))

    def fqdn(self) -> str:
        return f"{self.dns_name or self.name}.{ZONES[self.zone].domain}"


# The fleet's six more segments: (zone, tier, its one host's role, third octet); the host
# is named <zone>-<role> (dev2-ws, ..., test4-ci).
SEGMENTS: tuple[tuple[str, str, str, int], ...] = tuple(
    (f"{tier}{n}", tier, role, base + n)
    for tier, role, base in (("dev", "ws", 10), ("test", "ci", 20))
    for n in (2, 3, 4)
)
SEGMENT_HOSTS = tuple(f"{zone}-{role}" for zone, _tier, role, _net in SEGMENTS)

ZONES: dict[str, Zone] = {
    z.name: z
    for z in (
        Zone("dev", "dev", "198.18.1.0/24", "fd00:18:1::/64"),
        Zone("test", "test", "198.18.2.0/24", "fd00:18:2::/64"),
        Zone("shared", "shared", "198.18.3.0/24", "fd00:18:3::/64"),
        Zone("prod", "production", "198.19.10.0/24", "fd00:19:10::/64"),
        # the fleet: six more dev and test segments, one host each (`prodwall fleet`)
        *(
            Zone(zone, tier, f"198.18.{net}.0/24", f"fd00:18:{net}::/64")
            for zone, tier, _role, net in SEGMENTS
        ),
    )
}

HOSTS: dict[str, LabHost] = {
    h.name: h
    for h in (
        LabHost("dev-ws", "dev", 10, sshd=True, dns_name="ws"),
        LabHost("test-ci", "test", 10, sshd=True, dns_name="ci"),
        LabHost("artifacts", "shared", 10, tcp=(80,), dns_name="artifacts"),
        # the lab's AWS endpoint (moto, a simulator): reachable from every zone, as AWS is
        LabHost("aws-api", "shared", 20, dns_name="aws"),
        LabHost("prod-db", "prod", 10, tcp=(5432,), sshd=True, dns_name="db"),
        LabHost("prod-web", "prod", 20, tcp=(443, 8443), dns_name="web"),
        LabHost("prod-k8s", "prod", 30, tcp=(6443,), dns_name="k8s"),
        LabHost("prod-dns", "prod", 53, dns=True, dns_name="ns1"),
        LabHost("prod-log", "prod", 60, udp=(514,), dns_name="log"),
        *(
            LabHost(f"{zone}-{role}", zone, 10, sshd=True, dns_name=role)
            for zone, _tier, role, _net in SEGMENTS
        ),
    )
}

# The runner: where a CI job would sit. It reaches the dev and test hosts' sshd over
# management links only (one /30 each), and has no route anywhere else: prodwall runs
# there and probes from ssh:// vantages, as it would against real hosts.
RUNNER_NS = f"{PREFIX}-runner"
MGMT_PLEN = 30
MGMT: dict[str, tuple[str, str]] = {  # host -> (runner address, host address)
    "dev-ws": ("198.18.200.1", "198.18.200.2"),
    "test-ci": ("198.18.200.5", "198.18.200.6"),
    # the auditors' path to the production host: a read-only account, nothing routed
    "prod-db": ("198.18.200.9", "198.18.200.10"),
    # the fleet segments' hosts, on 198.18.201.0/24: one /30 each
    **{
        name: (f"198.18.201.{4 * i + 1}", f"198.18.201.{4 * i + 2}")
        for i, name in enumerate(SEGMENT_HOSTS)
    },
}
# The fleet: every dev and test segment's host (8), for `prodwall fleet` over Ansible.
FLEET_HOSTS = ("dev-ws", *SEGMENT_HOSTS[:3], "test-ci", *SEGMENT_HOSTS[3:])
FLEET_ANSIBLE_HOSTS = LAB_DIR / "ansible-fleet.yml"  # the 8, in groups dev and test
# where the lab's hosts unpack prodwall.pyz (`fleet --pyz-cache`): `lab down` removes it
PYZ_CACHE = LAB_DIR / "pyz"
MGMT_USER = {"prod-db": "auditor"}  # the others are logged into as root
# The runner's own path to the lab's AWS endpoint (where a CI job reaches AWS's API):
# (runner address, endpoint address) on a /30 into the shared namespace.
AWS_PORT = 4566
AWS_LINK = ("198.18.200.253", "198.18.200.254")
SSH_CONFIG = LAB_DIR / "ssh_config"
KNOWN_HOSTS = LAB_DIR / "known_hosts"
ANSIBLE_HOSTS = LAB_DIR / "ansible-hosts.yml"  # the three hosts, for --hosts=ansible://

# The leaky profile's forgotten direct link from test into prod (bypasses the router).
BYPASS_V4 = ("198.18.254.1", "198.18.254.2", 30)


def hosts_in(zone: str) -> list[LabHost]:
    return [h for h in HOSTS.values() if h.zone == zone]


def namespaces() -> list[str]:
    return [ROUTER_NS, RUNNER_NS, *(z.ns for z in ZONES.values())]

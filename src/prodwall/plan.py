"""Inventory + vantage -> Plan: the exact probes a run will send, and why.

Planning sends nothing. Every plan passes through the scope guard
(`scope.guard`) before anyone can execute it; `build_plan` calls it itself so
that no caller can forget.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from .errors import VantageError
from .inventory.model import Environment, Inventory, Probing, Vantage
from .services import COMMON_UDP_PORTS, PortSet

ProbeKind = Literal[
    "route",
    "tcp",
    "udp",
    "icmp",
    "dns-name",
    "dns-resolver",
    "dns-axfr",
    "control",
    "credentials",
    "ssh-trust",
    "cloud-role",
    "cloud-bucket",
    "k8s-api",
]
# Kinds that put packets on the wire towards `target`; the scope guard holds
# them to the production networks.
PACKET_KINDS: frozenset[str] = frozenset({"tcp", "udp", "icmp", "dns-resolver", "control"})
FAMILY_OF: dict[str, str] = {
    "route": "routes",
    "tcp": "network",
    "udp": "network",
    "icmp": "network",
    "control": "network",
    "dns-name": "dns",
    "dns-resolver": "dns",
    "dns-axfr": "dns",
    "credentials": "secrets",
    "ssh-trust": "hosts",
    "cloud-role": "cloud",
    "cloud-bucket": "cloud",
    "k8s-api": "cloud",
}

Expect = Literal["blocked", "answer", "closed"]


@dataclass(frozen=True)
class Probe:
    kind: ProbeKind
    target: str  # an address, a network (CIDR), a DNS name, an ARN, a URL...
    environment: str  # environment the target belongs to
    why: str
    protocol: str | None = None  # tcp, udp, icmp
    ports: PortSet | None = None
    host: str | None = None
    expect: Expect = "blocked"  # "answer": a positive control
    boundary: tuple[str, ...] = ()  # route probes: the vantage's declared boundary gateways
    addresses: tuple[str, ...] = ()  # route probes: declared host addresses inside target

    @property
    def count(self) -> int:
        """Packets-worth of probes: one per port per address."""
        per_target = len(self.ports) if self.ports is not None else 1
        if "/" in self.target and self.kind in PACKET_KINDS:
            return per_target * ipaddress.ip_network(self.target).num_addresses
        return per_target

    @property
    def family(self) -> str:
        return FAMILY_OF[self.kind]

    def expand(self) -> Iterator[tuple[str, int | None]]:
        """Every single (address, port) this probe stands for."""
        if "/" in self.target and self.kind in PACKET_KINDS:
            addresses: Iterator[str] = (str(a) for a in ipaddress.ip_network(self.target))
        else:
            addresses = iter([self.target])
        for address in addresses:
            if self.ports is None:
                yield address, None
            else:
                for port in self.ports:
                    yield address, port


@dataclass(frozen=True)
class Plan:
    inventory_name: str
    vantage_name: str
    vantage: Vantage
    probes: tuple[Probe, ...]
    planned_on: date
    counts: dict[str, int] = field(default_factory=dict)
    probing: Probing = field(default_factory=Probing)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of_kind(self, *kinds: str) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.kind in kinds)


def build_plan(
    inv: Inventory, vantage_name: str, today: date, max_probes: int | None = None
) -> Plan:
    from .scope import guard  # local import: scope imports Plan's types

    vantage = inv.vantages.get(vantage_name)
    if vantage is None:
        known = ", ".join(sorted(inv.vantages)) or "(none declared)"
        raise VantageError(
            f"vantage '{vantage_name}' is not declared in the inventory; declared vantages: {known}"
        )
    probes = [*_network_probes(inv, vantage, today), *_dns_probes(inv), *_host_probes(inv)]
    counts: Counter[str] = Counter()
    for probe in probes:
        counts[probe.kind] += probe.count
    plan = Plan(inv.name, vantage_name, vantage, tuple(probes), today, dict(counts), inv.probing)
    guard(plan, inv, max_probes=max_probes)
    return plan


def _allowed_ports(inv: Inventory, vantage: Vantage, host: str, today: date) -> dict[str, set[int]]:
    """Ports of `host` that an unexpired allowed flow opens to the vantage's environment."""
    out: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for flow in inv.policy.allowed_flows:
        if flow.from_ == vantage.environment and flow.to == host and not flow.is_expired(today):
            for svc in flow.services:
                out[svc.protocol].add(svc.port)
    return out


def _network_probes(inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
    probing = inv.probing
    own = inv.environments.get(vantage.environment)
    boundary = tuple(str(g) for g in own.boundary_gateways) if own else ()
    for env_name, env in inv.production().items():
        for net in env.networks:
            yield Probe(
                "route",
                str(net),
                env_name,
                f"no route from the vantage to production network {net} bypasses the "
                "declared boundary",
                boundary=boundary,
                addresses=tuple(
                    str(a) for h in env.hosts.values() for a in h.addresses if a in net
                ),
            )
        for target, host_name, declared_udp in _targets(env, probing.sweep_networks):
            allowed = (
                _allowed_ports(inv, vantage, host_name, today)
                if host_name
                else {"tcp": set(), "udp": set()}
            )
            what = f"production host {host_name}" if host_name else f"production network {target}"
            tcp = probing.tcp_ports.without(allowed["tcp"])
            if len(tcp):
                yield Probe(
                    "tcp",
                    target,
                    env_name,
                    f"TCP ports of {what} must not answer",
                    "tcp",
                    tcp,
                    host_name,
                )
            base_udp = (
                PortSet.of(list(COMMON_UDP_PORTS))
                if probing.udp_ports == "common"
                else probing.udp_ports
            )
            udp = base_udp.union(PortSet.of(declared_udp)) if declared_udp else base_udp
            udp = udp.without(allowed["udp"])
            if len(udp):
                yield Probe(
                    "udp",
                    target,
                    env_name,
                    f"common and declared UDP ports of {what} must not answer",
                    "udp",
                    udp,
                    host_name,
                )
            if probing.icmp:
                yield Probe(
                    "icmp", target, env_name, f"ICMP echo to {what}", "icmp", None, host_name
                )
    for flow in inv.policy.allowed_flows:
        if flow.from_ != vantage.environment or flow.is_expired(today):
            continue
        found = inv.host(flow.to)
        if found is None:
            continue
        env_name, host = found
        for svc in flow.services:
            for addr in host.addresses:
                yield Probe(
                    "control",
                    str(addr),
                    env_name,
                    f"positive control: allowed flow {flow.ticket} to {flow.to} "
                    f"{svc.protocol}/{svc.port} must answer",
                    svc.protocol,
                    PortSet.of([svc.port]),
                    flow.to,
                    expect="answer",
                )
    for ct in inv.policy.control_targets:
        found = inv.host(ct.to)
        if found is None or ct.from_ not in (None, vantage.environment):
            continue
        env_name, host = found
        proto = "icmp" if ct.service == "icmp" else ct.service.protocol
        ports = None if ct.service == "icmp" else PortSet.of([ct.service.port])
        what = "ICMP echo" if ct.service == "icmp" else f"{proto}/{ct.service.port}"
        verb = "must answer" if ct.expect == "answer" else "must be refused by the host itself"
        for addr in host.addresses:
            yield Probe(
                "control",
                str(addr),
                env_name,
                f"positive control: {ct.to} {what} {verb}",
                proto,
                ports,
                ct.to,
                expect=ct.expect,
            )


def _targets(env: Environment, sweep: bool) -> Iterator[tuple[str, str | None, list[int]]]:
    """(target, host name, declared UDP ports) for each production address or swept network."""
    covered = []
    if sweep:
        for net in env.networks:
            covered.append(net)
            udp = sorted(
                {
                    s.port
                    for h in env.hosts.values()
                    for s in h.services
                    if s.protocol == "udp" and any(a in net for a in h.addresses)
                }
            )
            yield str(net), None, udp
    for host_name, host in env.hosts.items():
        udp = [s.port for s in host.services if s.protocol == "udp"]
        for addr in host.addresses:
            if not any(addr in net for net in covered):
                yield str(addr), host_name, udp


def _dns_probes(inv: Inventory) -> Iterator[Probe]:
    for env_name, env in inv.production().items():
        names = [*env.dns_domains, *(n for h in env.hosts.values() for n in h.names)]
        for name in names:
            yield Probe(
                "dns-name",
                name,
                env_name,
                f"production name {name} must not resolve to production from the vantage",
            )
        for domain in env.dns_domains:
            yield Probe(
                "dns-axfr",
                domain,
                env_name,
                f"zone transfer of production zone {domain} must be refused",
            )
        for host_name, host in env.hosts.items():
            if any(s.port == 53 for s in host.services):
                for addr in host.addresses:
                    yield Probe(
                        "dns-resolver",
                        str(addr),
                        env_name,
                        f"production resolver {host_name} must not answer the vantage",
                        "udp+tcp",
                        PortSet.of([53]),
                        host_name,
                    )


def _host_probes(inv: Inventory) -> Iterator[Probe]:
    for env_name, env in inv.production().items():
        if env.secrets:
            yield Probe(
                "credentials",
                f"{len(env.secrets)} secret fingerprints",
                env_name,
                "no production secret is stored on the vantage (files, environment)",
            )
        if env.ssh_keys or env.hosts:
            yield Probe(
                "ssh-trust",
                f"{len(env.hosts)} hosts, {len(env.ssh_keys)} keys",
                env_name,
                "no ssh config, known_hosts entry or key on the vantage opens production",
            )
        for arn in env.cloud.role_arns:
            yield Probe(
                "cloud-role",
                arn,
                env_name,
                "vantage credentials cannot assume this production role (read-only STS)",
            )
        for bucket in env.cloud.buckets:
            yield Probe(
                "cloud-bucket",
                bucket,
                env_name,
                "vantage credentials cannot read this production bucket (HEAD only)",
            )
        for url in env.cloud.kubernetes_api_servers:
            yield Probe(
                "k8s-api",
                url,
                env_name,
                "no kube context on the vantage points at this production API server",
            )

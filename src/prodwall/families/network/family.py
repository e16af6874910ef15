"""The network family: TCP, UDP and ICMP probes of every production address,
with the positive controls that make their silence mean something."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.network import observe as engine
from prodwall.inventory.model import Environment, Inventory, Vantage
from prodwall.plan import Probe
from prodwall.services import COMMON_UDP_PORTS, PortSet
from prodwall.verdicts import Observation


class NetworkFamily(FamilyDefaults):
    name = "network"
    kinds = frozenset({"tcp", "udp", "icmp", "control"})
    order = 20
    parameters = ("prod_network",)
    vantage_modules = (engine.AGENT,)
    vantage_needs = ("numpy",)

    def limits(self, inv: Inventory) -> dict[str, str]:
        probing = inv.probing
        udp = probing.udp_ports
        return {
            "tcp": f"TCP ports {probing.tcp_ports} of each declared production host"
            + (
                " and of every address of the production networks"
                if probing.sweep_networks
                else "; other addresses of the production networks are not port-probed"
            ),
            "udp": (
                f"the {len(COMMON_UDP_PORTS)} common UDP ports plus each host's declared UDP "
                "services"
                if udp == "common"
                else f"UDP ports {udp}"
            )
            + "; other UDP ports are not probed",
            "icmp": "ICMP/ICMPv6 echo to each declared production host"
            if probing.icmp
            else "ICMP echo is not probed",
        }

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        return _plan(inv, vantage, today)

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        return engine.run(probes, ctx.plan, ctx.evidence_dir)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {"prod_network": [str(n) for n in inv.production_networks()]}


FAMILY = NetworkFamily()


def _allowed_ports(inv: Inventory, vantage: Vantage, host: str, today: date) -> dict[str, set[int]]:
    """Ports of `host` that an unexpired allowed flow opens to the vantage's environment."""
    out: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for flow in inv.policy.allowed_flows:
        if flow.from_ == vantage.environment and flow.to == host and not flow.is_expired(today):
            for svc in flow.services:
                out[svc.protocol].add(svc.port)
    return out


def _plan(inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
    probing = inv.probing
    for env_name, env in inv.production().items():
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
                    sends="packets",
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
                    sends="packets",
                )
            if probing.icmp:
                yield Probe(
                    "icmp",
                    target,
                    env_name,
                    f"ICMP echo to {what}",
                    "icmp",
                    None,
                    host_name,
                    sends="packets",
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
                    sends="packets",
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
                sends="packets",
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

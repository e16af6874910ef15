"""The DNS family: production names, resolvers and zones, seen from the vantage.

Its positive control is its own: the DNS servers the vantage may use (its
resolver, and DNS control targets) must answer, so a silent production
resolver counts as blocked only when DNS answers were seen to come back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.dns import observe as engine
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Probe
from prodwall.services import PortSet
from prodwall.verdicts import Observation


class DnsFamily(FamilyDefaults):
    name = "dns"
    kinds = frozenset({"dns-name", "dns-resolver", "dns-axfr", "dns-control"})
    order = 30
    parameters = ("prod_domain", "prod_network")
    vantage_modules = (engine.AGENT,)
    bundled = ("dns",)  # dnspython: pure Python, shipped inside the agent file

    def limits(self, inv: Inventory) -> dict[str, str]:
        return {
            "dns": "the production names the inventory lists (hosts' names, A and AAAA) "
            "through the vantage's resolvers, SOA over UDP and TCP to production resolvers, "
            "and zone transfers of the listed domains; other names are not tried"
        }

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        yield from _plan(inv, vantage)
        yield from _controls(inv, vantage)
        yield from _axfr_servers(inv, vantage)

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        return engine.run(probes, ctx.plan, ctx.evidence_dir)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {
            "prod_domain": [d for e in inv.production().values() for d in e.dns_domains],
            "prod_network": [str(n) for n in inv.production_networks()],
        }


FAMILY = DnsFamily()


def _controls(inv: Inventory, vantage: Vantage) -> Iterator[Probe]:
    """DNS servers this vantage may query: they must answer (any rcode is an answer)."""
    for ct in inv.policy.control_targets:
        if ct.from_ not in (None, vantage.environment) or ct.service == "icmp":
            continue
        if ct.service.port != 53 or ct.expect != "answer":
            continue
        found = inv.host(ct.to)
        if found is None:
            continue
        for addr in found[1].addresses:
            yield Probe(
                "dns-control",
                str(addr),
                found[0],
                f"positive control: DNS server {ct.to} must answer the vantage",
                ct.service.protocol,
                PortSet.of([53]),
                ct.to,
                expect="answer",
                sends="packets",
            )


def _axfr_servers(inv: Inventory, vantage: Vantage) -> Iterator[Probe]:
    """Where zone transfers are asked, each one planned and guarded: every production
    resolver, and the DNS servers this vantage may use (its declared DNS control
    targets: a resolver that holds a copy of a production zone gives it away). A server
    the inventory does not name is never asked."""
    if not any(e.dns_domains for e in inv.production().values()):
        return
    for env_name, env in inv.production().items():
        for host_name, host in env.hosts.items():
            if any(s.port == 53 for s in host.services):
                for addr in host.addresses:
                    yield Probe("dns-axfr", str(addr), env_name,
                                f"production resolver {host_name} must refuse zone transfers",
                                "tcp", PortSet.of([53]), host_name, sends="packets")  # fmt: skip
    for control in _controls(inv, vantage):
        yield Probe("dns-axfr", control.target, control.environment,
                    f"the vantage's DNS server {control.host} must refuse transfers of "
                    "production zones", "tcp", PortSet.of([53]), control.host,
                    sends="packets", allowed_by="control-target")  # fmt: skip


def _plan(inv: Inventory, vantage: Vantage) -> Iterator[Probe]:
    for env_name, env in inv.production().items():
        names = [*env.dns_domains, *(n for h in env.hosts.values() for n in h.names)]
        for name in names:
            yield Probe(
                "dns-name",
                name,
                env_name,
                f"production name {name} must not resolve to production from the vantage",
                sends="nothing",  # asked of the vantage's own resolver
            )
        for domain in env.dns_domains:
            yield Probe(
                "dns-axfr",
                domain,
                env_name,
                f"zone transfer of production zone {domain} must be refused (asked of "
                "each server listed below)",
                sends="nothing",  # the zone: what is asked, not where
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
                        sends="packets",
                    )

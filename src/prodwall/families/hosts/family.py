"""The hosts family. A dev or test host carries no implicit jump into production (name
resolution, ssh trust, live connections, its egress filter); a production host enforces
the deliberate one (banner, read-only developers, locked break-glass, audit, integrity,
clean logs). It reads files at the host through the
vantage's backend; kube contexts and other tooling profiles come from the secrets
family (its kubeconfig findings), not a second reader. Planned for vantages that stand
for a host of their own (`secret_scan: true`, the default), like the secrets family."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prodwall.families.base import FamilyDefaults, RunContext
from prodwall.families.hosts import guard_judge
from prodwall.families.hosts import observe as engine
from prodwall.inventory.model import Inventory, Vantage
from prodwall.plan import Probe
from prodwall.verdicts import Observation

ASPECTS = ("name-resolution", "ssh", "live")
PROD_ASPECTS = guard_judge.PROD_ASPECTS
WHY = {
    "egress": "the host's live firewall ruleset (nftables or iptables, IPv4 and IPv6) drops "
    "every new flow to production",
    "banner": "a distinct production prompt and login banner",
    "privilege": "developers are read-only (sudo beyond the allowlist), no direct root login, "
    "no password authentication",
    "break-glass": "the break-glass accounts exist, locked or expired",
    "audit": "an audit daemon runs with rules for privileged commands",
    "integrity": "a file-integrity monitor is installed with its database initialised",
    "logs": "recent logs hold no payment card number and no production secret",
    "name-resolution": "no production name or address in /etc/hosts, no production resolver",
    "ssh": "no ssh config Host, ProxyJump, known_hosts entry (hashed ones included) or "
    "private key opens production",
    "live": "no established connection, network mount or forwarder (ssh -L/-R/-D, autossh, "
    "socat, kubectl port-forward) toward production",
}


class HostsFamily(FamilyDefaults):
    name = "hosts"
    kinds = frozenset({"host"})
    order = 50
    parameters = ("host_aspect",)
    vantage_modules = (engine.AGENT,)

    def limits(self, inv: Inventory) -> dict[str, str]:
        return {
            "hosts": "host files and live state of hosts read over their backend; production "
            "logs are sampled from their end (host_policy.log_sample_bytes)"
        }

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        if not vantage.secret_scan:
            return
        for aspect in aspects_for(inv, vantage):
            yield Probe("host", aspect, vantage.environment, WHY[aspect], sends="nothing")

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        if ctx.inventory is None:
            raise ValueError("the hosts family needs the inventory in its run context")
        return engine.run(probes, ctx.plan, ctx.inventory)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {"host_aspect": [*ASPECTS, "kube", "egress", *PROD_ASPECTS]}


def aspects_for(inv: Inventory, vantage: Vantage) -> tuple[str, ...]:
    """A production host is checked for its guardrails; any other host for the implicit
    jumps it must not carry (and its egress filter, where the inventory says it has one)."""
    env = inv.environments[vantage.environment]
    if env.is_production:
        return PROD_ASPECTS
    return (*ASPECTS, *(("egress",) if env.host_policy.egress_filter else ()))


FAMILY = HostsFamily()

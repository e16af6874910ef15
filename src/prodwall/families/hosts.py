"""The hosts family, dev and test side: the vantage's own host carries no implicit jump
into production (name resolution, ssh trust). It reads files at the host through the
vantage's backend; kube contexts and other tooling profiles come from the secrets
family (its kubeconfig findings), not a second reader. Planned for vantages that stand
for a host of their own (`secret_scan: true`, the default), like the secrets family."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ..inventory.model import Inventory, Vantage
from ..plan import Probe
from ..probes.hosts import runner as engine
from ..verdicts import Observation
from .base import RunContext

ASPECTS = ("name-resolution", "ssh", "live")
WHY = {
    "name-resolution": "no production name or address in /etc/hosts, no production resolver",
    "ssh": "no ssh config Host, ProxyJump, known_hosts entry (hashed ones included) or "
    "private key opens production",
    "live": "no established connection, network mount or forwarder (ssh -L/-R/-D, autossh, "
    "socat, kubectl port-forward) toward production",
}


class HostsFamily:
    name = "hosts"
    kinds = frozenset({"host"})
    order = 50
    parameters = ("host_aspect",)
    checks: Path | None = None

    def plan(self, inv: Inventory, vantage: Vantage, today: date) -> Iterator[Probe]:
        if not vantage.secret_scan:
            return
        for aspect in ASPECTS:
            yield Probe("host", aspect, vantage.environment, WHY[aspect], sends="nothing")

    def run(self, probes: tuple[Probe, ...], ctx: RunContext) -> tuple[Observation, ...]:
        if ctx.inventory is None:
            raise ValueError("the hosts family needs the inventory in its run context")
        return engine.run(probes, ctx.plan, ctx.inventory)

    def groups(self, inv: Inventory) -> dict[str, list[str]]:
        return {"host_aspect": [*ASPECTS, "kube"]}


FAMILY = HostsFamily()

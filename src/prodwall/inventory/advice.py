"""Warnings, not errors: an inventory that is valid but will not prove much.

Silence counts as `blocked` only when a positive control of the same protocol,
from the same vantage, passed in the same run. A vantage with no control for a
protocol it probes can only ever report that protocol `inconclusive` (exit 3),
and routes judged without `boundary_gateways` are all reported as bypassing the
boundary. Both are said before anything is run, with the fix.
"""

from __future__ import annotations

from datetime import date

from prodwall.inventory.model import Inventory


def warnings(inv: Inventory, today: date, vantage: str | None = None) -> list[str]:
    """Warnings for one vantage, or for every vantage of the inventory."""
    names = [vantage] if vantage is not None else sorted(inv.vantages)
    out: list[str] = []
    for name in names:
        v = inv.vantages.get(name)
        if v is None:
            continue
        env = inv.environments.get(v.environment)
        for protocol in _probed(inv):
            kinds = _controls(inv, v.environment, today).get(protocol, set())
            if not kinds:
                out.append(
                    f"warning: vantage {name} has no positive control for {protocol}: every "
                    f"silent {protocol.upper()} result will be inconclusive (exit 3). Add an "
                    f"allowed flow from '{v.environment}' or a policy.control_targets entry "
                    f"({_example(protocol)})"
                )
            elif protocol == "tcp" and "closed" not in kinds:
                out.append(
                    f"warning: vantage {name} has no known-closed TCP control: silence is "
                    "proven only if a control answers from beyond the boundary. Add a "
                    "policy.control_targets entry with `expect: closed` (a closed port on a "
                    "non-production host across the firewall)"
                )
        if env is not None and not env.boundary_gateways:
            out.append(
                f"warning: environment '{v.environment}' (vantage {name}) declares no "
                "boundary_gateways: every route it has to production will be judged as "
                "bypassing the firewall (reachable). List the address(es) of its router or "
                "firewall under environments."
                f"{v.environment}.boundary_gateways"
            )
    return out


def _probed(inv: Inventory) -> list[str]:
    protocols = []
    if len(inv.probing.tcp_ports):
        protocols.append("tcp")
    protocols.append("udp")  # the common UDP services are always probed
    if inv.probing.icmp:
        protocols.append("icmp")
    return protocols


def _controls(inv: Inventory, env: str, today: date) -> dict[str, set[str]]:
    """protocol -> expectations ("answer", "closed") of the controls this environment has."""
    out: dict[str, set[str]] = {}
    for flow in inv.policy.allowed_flows:
        if flow.from_ == env and not flow.is_expired(today):
            for svc in flow.services:
                out.setdefault(svc.protocol, set()).add("answer")
    for ct in inv.policy.control_targets:
        if ct.from_ in (None, env):
            protocol = "icmp" if ct.service == "icmp" else ct.service.protocol
            out.setdefault(protocol, set()).add(ct.expect)
    return out


def _example(protocol: str) -> str:
    return {
        "tcp": "e.g. `to: artifacts, service: tcp/81, expect: closed`",
        "udp": "e.g. the vantage's own resolver: `to: dev-resolver, service: dns`",
        "icmp": "e.g. `to: artifacts, service: icmp`",
    }[protocol]

"""The scope guard: the last word on what may be probed.

It re-derives the allowed scope from the inventory on its own, instead of
trusting the planner, so a planner bug cannot send a packet out of scope.
"""

from __future__ import annotations

import ipaddress

from .errors import ScopeError
from .inventory.model import Inventory, IPNetwork
from .plan import PACKET_KINDS, Plan, Probe


def guard(plan: Plan, inv: Inventory, max_probes: int | None = None) -> None:
    """Raise ScopeError naming every probe that leaves scope; return None if all is in scope."""
    prod_nets = [n for e in inv.production().values() for n in e.networks]
    controls = _control_targets(inv, plan.vantage.environment)
    refusals: list[str] = []
    for probe in plan.probes:
        if probe.kind not in PACKET_KINDS and probe.kind != "route":
            continue
        refusals.extend(_check(probe, inv, prod_nets, controls))
    cap = min(inv.scope.max_probes, max_probes) if max_probes else inv.scope.max_probes
    total = sum(p.count for p in plan.probes)
    if total > cap:
        refusals.append(
            f"the plan has {total:,} probes, over the cap of {cap:,}: narrow "
            "probing.tcp_ports or the swept networks, or raise scope.max_probes"
        )
    if refusals:
        raise ScopeError(refusals)


def _control_targets(inv: Inventory, from_env: str) -> dict[str, set[tuple[str, int]]]:
    """Addresses (and proto/port) that an allowed flow from `from_env` lets controls probe."""
    out: dict[str, set[tuple[str, int]]] = {}
    for flow in inv.policy.allowed_flows:
        found = inv.host(flow.to)
        if flow.from_ != from_env or found is None:
            continue
        for addr in found[1].addresses:
            out.setdefault(str(addr), set()).update((s.protocol, s.port) for s in flow.services)
    for ct in inv.policy.control_targets:
        found = inv.host(ct.to)
        if (
            ct.from_ not in (None, from_env)
            or found is None
            or inv.environments[found[0]].is_production
        ):
            continue
        key = ("icmp", 0) if ct.service == "icmp" else (ct.service.protocol, ct.service.port)
        for addr in found[1].addresses:
            out.setdefault(str(addr), set()).add(key)
    return out


def _check(
    probe: Probe,
    inv: Inventory,
    prod_nets: list[IPNetwork],
    controls: dict[str, set[tuple[str, int]]],
) -> list[str]:
    label = f"{probe.kind} {probe.target}"
    try:
        target = ipaddress.ip_network(probe.target, strict=True)
    except ValueError:
        return [f"{label}: target is not an address or network"]
    if probe.kind == "control":
        allowed = controls.get(probe.target, set())
        ports = set(probe.ports or ()) or ({0} if probe.protocol == "icmp" else set())
        if (
            target.num_addresses != 1
            or not ports
            or not ports <= {p for proto, p in allowed if proto == probe.protocol}
        ):
            return [f"{label}: positive control is not an allowed flow of the inventory"]
        return []
    out = []
    if not any(
        target.version == n.version and target.subnet_of(n)  # type: ignore[arg-type]
        for n in prod_nets
    ):
        out.append(f"{label}: outside every declared production network")
    if probe.kind == "route":
        return out  # a route lookup sends nothing; only the scope itself matters
    if target.is_global and not inv.scope.allow_public:
        out.append(
            f"{label}: public address space; set scope.allow_public: true if production "
            "really lives there and you are authorised to probe it"
        )
    if target.num_addresses > inv.scope.max_network_addresses and not inv.scope.allow_large_ranges:
        out.append(
            f"{label}: {target.num_addresses:,} addresses, over "
            f"scope.max_network_addresses ({inv.scope.max_network_addresses:,}); set "
            "scope.allow_large_ranges: true to sweep it"
        )
    return out

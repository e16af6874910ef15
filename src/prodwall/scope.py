"""The scope guard: the last word on what may be probed.

It re-derives the allowed scope from the inventory on its own, instead of
trusting the planner, so a planner bug cannot send a packet out of scope.
"""

from __future__ import annotations

import ipaddress

from prodwall import hostforms
from prodwall.addresses import EMBEDDING, real_network
from prodwall.errors import ScopeError
from prodwall.inventory.model import Inventory, IPNetwork
from prodwall.plan import Plan, Probe

_EMBEDDING = EMBEDDING
# prefixes whose addresses carry IPv4 ones the kernel does not see: Teredo (server and
# obfuscated client) and NAT64's local-use prefix (RFC 8215)
_RELAYED = (ipaddress.IPv6Network("2001::/32"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_SPECIAL = (
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_unspecified", "the unspecified address"),
    ("is_reserved", "reserved address space"),
)


def effective(net: IPNetwork) -> IPNetwork:
    """What the kernel would really send to (addresses.py)."""
    return real_network(net)


def _address_refusals(
    label: str, target: IPNetwork, inv: Inventory, sends: bool = True, production: bool = True
) -> list[str]:
    """Refusals every packet probe and positive control faces, on what the kernel would
    really send to: the whole address space, special ranges, and public space (which
    scope.allow_public opens for production networks only)."""
    if target.prefixlen == 0:
        return [f"{label}: the whole address space is not a production network"]
    if isinstance(target, ipaddress.IPv6Network) and any(
        target.overlaps(p) and not target.subnet_of(p) for p in (*_EMBEDDING, *_RELAYED)
    ):
        return [f"{label}: contains IPv4-embedding IPv6 space (mapped, NAT64, 6to4 or Teredo)"]
    relayed = next((p for p in _RELAYED if isinstance(target, ipaddress.IPv6Network)
                    and target.subnet_of(p)), None)  # fmt: skip
    if relayed is not None:  # Teredo, NAT64 local-use: judged by every IPv4 carried
        if target.num_addresses != 1:
            return [f"{label}: a range of {relayed} space carries IPv4 addresses it does not "
                    "fix; declare the production hosts' single addresses"]  # fmt: skip
        carried = hostforms.embedded_ipv4(target.network_address)  # type: ignore[arg-type]
        return [r for v4 in carried for r in _address_refusals(
            f"{label} (carrying {v4})", ipaddress.ip_network(v4), inv, sends, production)]
    real = effective(target)
    shown = f" (that is {real})" if real != target else ""
    if real.prefixlen == 0:
        return [f"{label}{shown}: the whole address space is not a production network"]
    for attribute, name in _SPECIAL:
        if getattr(real, attribute):
            return [
                f"{label}{shown}: {name} is not a production network; declare the "
                "production hosts' real addresses"
            ]
    documentation = next((d for d in DOCUMENTATION if real.overlaps(d)), None)
    if documentation is not None and not inv.scope.allow_documentation:
        return [
            f"{label}{shown}: overlaps {documentation}, a documentation-only range (RFC 5737, "
            "RFC 3849, RFC 9637) that no real network uses (copied from a sample?); declare "
            "the real addresses, or set scope.allow_documentation: true in a sample or test "
            "inventory"
        ]
    if real.version == 4 and real.broadcast_address == ipaddress.IPv4Address("255.255.255.255"):
        return [f"{label}{shown}: the limited broadcast address is not a production network"]
    if sends and real.is_global and not (inv.scope.allow_public and production):
        if not production:
            return [f"{label}{shown}: public address space; scope.allow_public opens "
                    "production networks only, never a positive control"]  # fmt: skip
        return [
            f"{label}{shown}: public address space; set scope.allow_public: true if "
            "production really lives there and you are authorised to probe it"
        ]
    return []


DOCUMENTATION: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
CEILING = 10_000_000  # probes per plan, unless --max-probes on the command line says more


def guard(plan: Plan, inv: Inventory, max_probes: int | None = None) -> None:
    """Raise ScopeError naming every probe that leaves scope; return None if all is in scope."""
    prod_nets = [effective(n) for n in inv.production_networks()]
    controls = _control_targets(inv, plan.vantage.environment)
    refusals: list[str] = []
    for probe in plan.probes:
        # every probe whose target is an address is checked, whatever it claims to send
        refusals.extend(_check(probe, inv, prod_nets, controls))
    # an inventory may lower the cap but not lift it past the ceiling: only the person
    # running prodwall can, on the command line (--max-probes)
    ceiling = max_probes if max_probes else CEILING
    cap = min(inv.scope.max_probes, ceiling)
    total = sum(p.count for p in plan.probes)
    if total > cap:
        if cap == inv.scope.max_probes:
            how = "narrow probing.tcp_ports or the swept networks, or raise scope.max_probes"
        elif max_probes:
            how = f"--max-probes {max_probes} on the command line set it"
        else:
            how = (
                f"the inventory allows {inv.scope.max_probes:,}, but past prodwall's ceiling "
                f"of {CEILING:,} only --max-probes {total} on the command line lifts it"
            )
        refusals.append(f"the plan has {total:,} probes, over the cap of {cap:,}: {how}")
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
        if probe.sends in ("nothing", "api", "lookup"):
            # a name, an ARN, a count: nothing is sent to it (a name lookup asks the
            # vantage's own resolver, as every program there does)
            return []
        return [f"{label}: target is not an address or network"]
    if probe.allowed_by == "control-target":  # a server the vantage may use, on any port
        if target.num_addresses != 1 or probe.target not in controls:
            return [f"{label}: not a control target of this vantage in the inventory"]
        return _address_refusals(label, target, inv, production=False)
    if probe.is_control:
        allowed = controls.get(probe.target, set())
        ports = set(probe.ports or ()) or ({0} if probe.protocol == "icmp" else set())
        if (
            target.num_addresses != 1
            or not ports
            or not ports <= {p for proto, p in allowed if proto == probe.protocol}
        ):
            return [f"{label}: positive control is not an allowed flow of the inventory"]
        # a control sends packets like any probe: the same refusals (no side door), and
        # scope.allow_public, which speaks for production networks, never covers it
        return _address_refusals(label, target, inv, production=False)
    out = []
    real = effective(target)
    if not any(
        real.version == n.version and real.subnet_of(n)  # type: ignore[arg-type]
        for n in prod_nets
    ):
        out.append(f"{label}: outside every declared production network")
    # a route lookup sends nothing: public space and size are no concern, special ranges are
    out += _address_refusals(label, target, inv, sends=probe.sends == "packets")
    if probe.sends == "lookup":
        return out
    if target.num_addresses > inv.scope.max_network_addresses and not inv.scope.allow_large_ranges:
        out.append(
            f"{label}: {target.num_addresses:,} addresses, over "
            f"scope.max_network_addresses ({inv.scope.max_network_addresses:,}); set "
            "scope.allow_large_ranges: true to sweep it"
        )
    return out

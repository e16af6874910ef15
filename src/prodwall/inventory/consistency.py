"""Rules that span several inventory objects: overlaps, references, uniqueness.

Each rule yields (location, message, fix); the loader turns the location into
a file line. Expired approvals are not errors: they are returned as notices.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Collection, Iterator
from datetime import date, timedelta
from typing import Any

from prodwall.inventory.model import Inventory
from prodwall.services import Service

Finding = tuple[tuple[str | int, ...], str, str]

_CONTROL_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


LONGEST_APPROVAL = timedelta(days=366)


def check(inv: Inventory, known_controls: Collection[str] | None = None) -> list[Finding]:
    """Every finding; waiver control ids are checked when the catalogue's ids are given."""
    return [
        *_environments(inv),
        *_overlaps(inv),
        *_domains(inv),
        *_hosts(inv),
        *_vantages(inv),
        *_policy(inv),
        *(_waiver_controls(inv, known_controls) if known_controls is not None else ()),
    ]


def expired_notices(inv: Inventory, today: date) -> list[str]:
    """Not errors, but the report and `validate` say so: expired or too-long approvals."""
    notes = []
    for i, flow in enumerate(inv.policy.allowed_flows):
        what = f"policy.allowed_flows[{i}] ({flow.from_} -> {flow.to}, {flow.ticket})"
        if flow.is_expired(today):
            notes.append(f"{what} expired on {flow.expires}: it no longer applies")
        elif flow.expires - today > LONGEST_APPROVAL:
            notes.append(
                f"warning: {what} expires on {flow.expires}, more than a year ahead: "
                "approvals are reviewed at least yearly; shorten it"
            )
    for waiver in inv.policy.waivers:
        if waiver.is_expired(today):
            notes.append(
                f"waiver {waiver.id} ({waiver.ticket}) expired on {waiver.expires}: "
                "it no longer applies"
            )
        elif waiver.expires - today > LONGEST_APPROVAL:
            notes.append(
                f"warning: waiver {waiver.id} ({waiver.ticket}) expires on {waiver.expires}, "
                "more than a year ahead: exceptions are reviewed at least yearly; shorten it"
            )
    return notes


def _domains(inv: Inventory) -> Iterator[Finding]:
    """A production domain declared elsewhere too: its DNS checks could not tell the two apart."""
    prod = {
        d.lower().rstrip("."): name
        for name, env in inv.production().items()
        for d in env.dns_domains
    }
    for name, env in inv.environments.items():
        if env.is_production:
            continue
        for i, domain in enumerate(env.dns_domains):
            owner = prod.get(domain.lower().rstrip("."))
            if owner is not None:
                yield (
                    ("environments", name, "dns_domains", i),
                    f"DNS domain '{domain}' of non-production '{name}' is also a production "
                    f"domain of '{owner}'",
                    "a production domain belongs to production only; remove it here or give "
                    "this environment its own domain",
                )


def _waiver_controls(inv: Inventory, known: Collection[str]) -> Iterator[Finding]:
    """A waiver for a control that does not exist would be accepted and never apply."""
    for i, waiver in enumerate(inv.policy.waivers):
        if waiver.control is None or waiver.control in known:
            continue
        guess = difflib.get_close_matches(waiver.control, list(known), n=1, cutoff=0.6)
        yield (
            ("policy", "waivers", i, "control"),
            f"waiver {waiver.id} names unknown control '{waiver.control}'",
            f"did you mean '{guess[0]}'?"
            if guess
            else "use a control id of the catalogue (checks/controls.yaml)",
        )


def _environments(inv: Inventory) -> Iterator[Finding]:
    if not inv.production():
        yield (
            ("environments",),
            "no environment has tier: production",
            "mark the production environment(s) with `tier: production`",
        )
    for name, env in inv.environments.items():
        for i, gateway in enumerate(env.boundary_gateways):
            if not any(gateway in net for net in env.networks):
                yield (
                    ("environments", name, "boundary_gateways", i),
                    f"boundary gateway {gateway} is outside every network of '{name}'",
                    "a gateway is on the environment's own subnet; fix the address",
                )
    for name, env in inv.production().items():
        if not env.networks:
            yield (
                ("environments", name, "tier"),
                f"production environment '{name}' declares no networks",
                "list its IPv4 and IPv6 CIDRs under `networks:`; they are the probe scope",
            )


def _overlaps(inv: Inventory) -> Iterator[Finding]:
    """Every non-production network that overlaps a production one, found by a sweep over
    the networks sorted by first address (n log n: 100k networks validate in seconds; a
    pairwise comparison took minutes)."""
    nets = sorted(
        (net.version, int(net.network_address), int(net.broadcast_address),
         env.is_production, env_name, i, net)
        for env_name, env in inv.environments.items()
        for i, net in enumerate(env.networks)
    )  # fmt: skip
    # the networks still open at this point of the sweep, by side, each a min-heap by end
    open_: dict[bool, list[tuple[int, int, str, int, Any]]] = {True: [], False: []}
    version_now = 0
    pairs = []
    # seq: a tie-breaker, so heap entries never compare networks
    for seq, (version, first, last, prod, env_name, i, net) in enumerate(nets):
        if version != version_now:
            open_ = {True: [], False: []}
            version_now = version
        for side in open_.values():
            while side and side[0][0] < first:
                heapq.heappop(side)
        here = (env_name, i, net)
        for _last, _seq, o_env, o_i, o_net in open_[not prod]:
            other = (o_env, o_i, o_net)
            pairs.append((here, other) if prod else (other, here))
        heapq.heappush(open_[prod], (last, seq, env_name, i, net))
    env_order = {name: k for k, name in enumerate(inv.environments)}
    pairs.sort(key=lambda pr: (env_order[pr[1][0]], pr[1][1], env_order[pr[0][0]], pr[0][1]))
    for prod_side, other in pairs:
        yield (
            ("environments", other[0], "networks", other[1]),
            f"non-production network {other[2]} of '{other[0]}' overlaps production network "
            f"{prod_side[2]} of '{prod_side[0]}'",
            "production and non-production address space must be disjoint; correct one CIDR",
        )


def _hosts(inv: Inventory) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    prod_nets = [(n, e) for e, env in inv.production().items() for n in env.networks]
    for env_name, env in inv.environments.items():
        for host_name, host in env.hosts.items():
            if not env.is_production:  # whatever networks its environment declares (or not)
                for j, addr in enumerate(host.addresses):
                    inside = next((f"{n} of '{e}'" for n, e in prod_nets
                                   if n.version == addr.version and addr in n), None)  # fmt: skip
                    if inside is not None:
                        yield (
                            ("environments", env_name, "hosts", host_name, "addresses", j),
                            f"address {addr} of non-production host '{host_name}' lies in "
                            f"production network {inside}",
                            "a host is in one environment: fix the address, or declare the "
                            "host under its production environment",
                        )
            loc = ("environments", env_name, "hosts", host_name)
            if host_name in seen:
                yield (
                    loc,
                    f"host '{host_name}' is also declared in environment '{seen[host_name]}'",
                    "host names must be unique; rename one",
                )
            seen.setdefault(host_name, env_name)
            if not env.networks:
                continue
            for j, addr in enumerate(host.addresses):
                if not any(addr in net for net in env.networks):
                    yield (
                        (*loc, "addresses", j),
                        f"address {addr} of host '{host_name}' is outside every network of "
                        f"environment '{env_name}'",
                        "fix the address or add its network to the environment",
                    )


def _vantages(inv: Inventory) -> Iterator[Finding]:
    for name, vantage in inv.vantages.items():
        loc = ("vantages", name, "environment")
        env = inv.environments.get(vantage.environment)
        if env is None:
            yield (
                loc,
                f"vantage '{name}' names undeclared environment '{vantage.environment}'",
                f"use one of: {', '.join(sorted(inv.environments))}",
            )
        elif env.is_production:
            yield (
                loc,
                f"vantage '{name}' belongs to production environment '{vantage.environment}'",
                "prodwall probes production from non-production vantages; pick a dev or "
                "test environment",
            )


def _policy(inv: Inventory) -> Iterator[Finding]:
    for i, flow in enumerate(inv.policy.allowed_flows):
        loc = ("policy", "allowed_flows", i)
        if flow.from_ not in inv.environments:
            yield (
                (*loc, "from"),
                f"allowed flow starts in undeclared environment '{flow.from_}'",
                f"use one of: {', '.join(sorted(inv.environments))}",
            )
        yield from _service_refs(inv, (*loc,), flow.to, flow.services, "allowed flow")
    for i, ct in enumerate(inv.policy.control_targets):
        loc = ("policy", "control_targets", i)
        if ct.from_ is not None and ct.from_ not in inv.environments:
            yield (
                (*loc, "from"),
                f"control target starts in undeclared environment '{ct.from_}'",
                f"use one of: {', '.join(sorted(inv.environments))}",
            )
        found = inv.host(ct.to)
        if found is None:
            yield (
                (*loc, "to"),
                f"control target names undeclared host '{ct.to}'",
                "declare the host under a non-production environment, or fix the name",
            )
        elif inv.environments[found[0]].is_production:
            yield (
                (*loc, "to"),
                f"control target '{ct.to}' is a production host",
                "a positive control must be a non-production service the vantage may reach",
            )
    ids: set[str] = set()
    for i, waiver in enumerate(inv.policy.waivers):
        loc = ("policy", "waivers", i)
        if waiver.id in ids:
            yield ((*loc, "id"), f"waiver id '{waiver.id}' is used twice", "give each a unique id")
        ids.add(waiver.id)
        if waiver.vantage is not None and waiver.vantage not in inv.vantages:
            yield (
                (*loc, "vantage"),
                f"waiver names undeclared vantage '{waiver.vantage}'",
                f"use one of: {', '.join(sorted(inv.vantages)) or '(none declared)'}",
            )
        if waiver.control is not None and not _CONTROL_RE.match(waiver.control):
            yield (
                (*loc, "control"),
                f"'{waiver.control}' is not a control id",
                "use an id from checks/controls.yaml, e.g. NET-TCP-01",
            )
        if waiver.target is None:
            continue  # a secrets finding's waiver: matched by fingerprint and path
        found = inv.host(waiver.target)
        if found is not None and not inv.environments[found[0]].is_production:
            yield (
                (*loc, "target"),
                f"waiver target '{waiver.target}' is not a production host",
                "waivers accept reachable production hosts; name one",
            )
        yield from _service_refs(inv, loc, waiver.target, waiver.services, "waiver", key="target")


def _service_refs(
    inv: Inventory,
    loc: tuple[str | int, ...],
    host_name: str,
    services: list[Service],
    what: str,
    key: str = "to",
) -> Iterator[Finding]:
    found = inv.host(host_name)
    if found is None:
        yield (
            (*loc, key),
            f"{what} names undeclared host '{host_name}'",
            "declare the host under an environment's hosts, or fix the name",
        )
        return
    declared = {(s.protocol, s.port) for s in found[1].services}
    for j, svc in enumerate(services):
        if (svc.protocol, svc.port) not in declared:
            yield (
                (*loc, "services", j),
                f"service {svc.protocol}/{svc.port} is not declared on host '{host_name}'",
                "declare it under the host's services, or fix the port",
            )

"""Route lookups at the vantage: is there any path towards each production network?

The lookups run at the vantage (routeagent, through its backend); this side
judges them. The vantage's own kernel (`ip route get`, netlink underneath)
tells blackhole, unreachable, prohibit and missing routes apart; scapy's
routing table cannot (LAB-FACTS.md). A lookup sends no packet.
"""

from __future__ import annotations

import ipaddress
import json

from prodwall.engine.protocol import ProtocolError
from prodwall.families.routes.records import IpOutput, RouteJob, RouteResult
from prodwall.plan import Plan, Probe
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import Observation, Signal

AGENT = "prodwall.families.routes.vantage_agent"

# `ip route get` error text -> what kind of non-route it is. Each is positive
# evidence from the vantage's own kernel that a packet would not leave.
_NO_PATH = {
    "Network is unreachable": "no route (ENETUNREACH)",
    "No route to host": "unreachable route (EHOSTUNREACH)",
    "Invalid argument": "blackhole route (EINVAL)",
    "Permission denied": "prohibit route (EACCES)",
}
_STOP_TYPES = {"blackhole", "unreachable", "prohibit", "throw"}


def sample_addresses(network: str) -> list[str]:
    """First, middle and last usable address: a route covering part of a network is found."""
    net = ipaddress.ip_network(network)
    if net.num_addresses <= 2:
        return [str(a) for a in net]
    first, last = net.network_address + 1, net.broadcast_address - 1
    middle = net.network_address + net.num_addresses // 2
    return [str(a) for a in dict.fromkeys([first, middle, last])]


def run(probes: tuple[Probe, ...], plan: Plan) -> tuple[Observation, ...]:
    wanted = [
        (address, probe)
        for probe in probes
        for address in dict.fromkeys([*sample_addresses(probe.target), *probe.addresses])
    ]
    if not wanted:
        return ()
    job = RouteJob(lookups=tuple(a for a, _ in wanted))
    try:
        raw = run_agent(plan.vantage, AGENT, job.to_json(), 60 + len(wanted))
        result = RouteResult.from_json(raw)
    except (AgentError, ProtocolError) as exc:
        return tuple(
            Observation("route", a, Signal.FAILED, str(exc), evidence={"network": p.target})
            for a, p in wanted
        )
    return tuple(
        judge_lookup(raw, address, probe.target, probe.boundary)
        for raw, (address, probe) in zip(result.lookups, wanted, strict=True)
    )


def judge_lookup(
    raw: IpOutput, address: str, network: str, boundary: tuple[str, ...] = ()
) -> Observation:
    """One `ip -j route get` output, read at the vantage, as an observation."""
    evidence: dict[str, object] = {"network": network, "command": raw.command}
    if raw.returncode is None:
        return Observation(
            "route",
            address,
            Signal.FAILED,
            f"route lookup failed: {raw.error}",
            evidence=evidence,
        )
    if raw.returncode != 0:
        err = raw.stderr.removeprefix("RTNETLINK answers: ")
        evidence["kernel"] = err
        for text, meaning in _NO_PATH.items():
            if text in err:
                return Observation("route", address, Signal.STOPPED, meaning, evidence=evidence)
        return Observation(
            "route", address, Signal.FAILED, f"route lookup failed: {err}", evidence=evidence
        )
    try:
        route = json.loads(raw.stdout)[0]
    except (json.JSONDecodeError, IndexError, KeyError):
        return Observation(
            "route", address, Signal.FAILED, "unreadable `ip route get` output", evidence=evidence
        )
    evidence["route"] = route
    kind = route.get("type", "unicast")
    if kind in _STOP_TYPES:
        return Observation("route", address, Signal.STOPPED, f"{kind} route", evidence=evidence)
    gateway = route.get("gateway")
    via = f" via {gateway}" if gateway else ""
    detail = f"{kind} route{via} dev {route.get('dev', '?')}"
    if gateway and gateway in boundary:
        # Handed to the declared boundary firewall: the packet probes judge the
        # firewall itself; this control is about routes that bypass it.
        return Observation(
            "route",
            address,
            Signal.STOPPED,
            f"{detail} (declared boundary gateway)",
            evidence=evidence,
        )
    why = "bypasses the declared boundary" if boundary else "no boundary gateway is declared"
    return Observation("route", address, Signal.CROSSED, f"{detail} ({why})", evidence=evidence)

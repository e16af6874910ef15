"""Route lookups at the vantage: is there any path towards each production network?

Uses the vantage's own kernel (`ip route get`, netlink underneath), which tells
blackhole, unreachable, prohibit and missing routes apart; scapy's routing
table cannot (LAB-FACTS.md). A lookup sends no packet.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

from ..inventory.model import Vantage
from ..plan import Plan, Probe
from ..verdicts import Observation, Signal

# `ip route get` error text -> what kind of non-route it is. Each is positive
# evidence from the vantage's own kernel that a packet would not leave.
_NO_PATH = {
    "Network is unreachable": "no route (ENETUNREACH)",
    "No route to host": "unreachable route (EHOSTUNREACH)",
    "Invalid argument": "blackhole route (EINVAL)",
    "Permission denied": "prohibit route (EACCES)",
}
_STOP_TYPES = {"blackhole", "unreachable", "prohibit", "throw"}
TIMEOUT_S = 10.0


def ip_command(vantage: Vantage) -> list[str] | None:
    transport, _, rest = vantage.location.partition(":")
    if transport == "local":
        return ["ip"]
    if transport == "netns":
        return ["ip", "-n", rest]
    return None


def sample_addresses(network: str) -> list[str]:
    """First, middle and last usable address: a route covering part of a network is found."""
    net = ipaddress.ip_network(network)
    if net.num_addresses <= 2:
        return [str(a) for a in net]
    first, last = net.network_address + 1, net.broadcast_address - 1
    middle = net.network_address + net.num_addresses // 2
    return [str(a) for a in dict.fromkeys([first, middle, last])]


def run(probes: tuple[Probe, ...], plan: Plan) -> tuple[Observation, ...]:
    vantage = plan.vantage
    base = ip_command(vantage)
    out = []
    for probe in probes:
        for address in dict.fromkeys([*sample_addresses(probe.target), *probe.addresses]):
            if base is None:
                out.append(
                    Observation(
                        "route",
                        address,
                        Signal.FAILED,
                        f"route lookups are not supported on {vantage.transport} vantages",
                        evidence={"network": probe.target},
                    )
                )
                continue
            out.append(lookup(base, address, probe.target, probe.boundary))
    return tuple(out)


def lookup(
    base: list[str], address: str, network: str, boundary: tuple[str, ...] = ()
) -> Observation:
    cmd = [*base, "-j", "route", "get", address]
    evidence: dict[str, object] = {"network": network, "command": " ".join(cmd)}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Observation(
            "route",
            address,
            Signal.FAILED,
            f"route lookup failed: {exc.__class__.__name__}",
            evidence=evidence,
        )
    if done.returncode != 0:
        err = done.stderr.strip().removeprefix("RTNETLINK answers: ")
        evidence["kernel"] = err
        for text, meaning in _NO_PATH.items():
            if text in err:
                return Observation("route", address, Signal.STOPPED, meaning, evidence=evidence)
        return Observation(
            "route", address, Signal.FAILED, f"route lookup failed: {err}", evidence=evidence
        )
    try:
        route = json.loads(done.stdout)[0]
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

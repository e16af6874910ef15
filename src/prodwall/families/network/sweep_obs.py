"""From a sweep's groups (TCP or UDP, the same engine) to observations.

Who answered decides (docs/design.md): an answer from production crossed the boundary; an
ICMP error from a non-production device is a refusal; an answer in production's name
that came from nearer than production was made on the path (engine/distance.py); a
refusal by the vantage's own filter is host evidence, not the network's; silence is
only silence, and not even that where the receiver lost answers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prodwall.engine import distance
from prodwall.engine.wire import icmp_name
from prodwall.families.network.records import Sweep, SweepGroup, Trace
from prodwall.inventory.model import IPNetwork
from prodwall.plan import network_of
from prodwall.services import PortSet
from prodwall.verdicts import Observation, Signal


def classify(status: str, responder: str, prod: list[IPNetwork]) -> Signal:
    """What an agent result says about the boundary: who answered decides."""
    if status in ("open", "closed", "reply"):
        return Signal.CROSSED
    if status == "filtered-icmp":
        # an ICMP error sent by a production host means the packet got there
        return Signal.CROSSED if responder and network_of(responder, prod) else Signal.STOPPED
    if status == "no-route":
        return Signal.STOPPED
    if status == "local-filter":  # the vantage's own filter: host evidence, not the network's
        return Signal.FAILED
    if status in ("silent", "open|filtered"):
        return Signal.SILENT
    return Signal.FAILED


def stats(sweep: Sweep) -> dict[str, Any]:
    """What every observation of one sweep carries (evidence, JSON): how it ran, how long
    silence was waited on, answers the receiver lost, and the vantage's own filter."""
    out: dict[str, Any] = {
        "method": sweep.method,
        "sent": sweep.sent,
        "retransmitted": sweep.retransmitted,
        "seconds": sweep.seconds,
    }
    framed = sorted(sweep.framed_targets)
    out["framed"] = framed
    if sweep.windows is not None:  # how long silence was waited on: part of what it means
        out["answer_windows"] = sweep.windows.to_json()
    if sweep.receive_drops:  # answers the receiver lost; did re-probing prove every silence
        out["receiver"] = {
            "answers_lost": sweep.receive_drops,
            "recovery": sweep.recovery.to_json(),
        }
    if sweep.host_filter != "none":
        out["vantage_filter"] = {
            "filter": sweep.host_filter,
            "kernel_path": dict(sweep.kernel_path),
            "network_tested_past_it": framed,
        }
    return out


def without_controls(g: SweepGroup, allowed: set[tuple[str, int]], kind: str) -> SweepGroup | None:
    """A sweep group less the ports probed as positive controls (None if nothing is left):
    an allowed flow is reported as allowed, by its control, never as a finding."""
    control_ports = {port for proto, port in allowed if proto == kind}
    if not control_ports:
        return g
    ports = PortSet.parse(g.ports)
    if not any(p in ports for p in control_ports):
        return g
    left = [p for p in ports if p not in control_ports]
    if not left:
        return None
    rest = PortSet.of(left)
    return replace(g, ports=str(rest), count=len(rest))


def _plain_detail(kind: str, g: SweepGroup) -> str:
    if kind == "udp" and g.status == "open":
        return "open: " + (g.detail or "a UDP answer")
    if kind == "udp" and g.status == "closed":
        return f"ICMP port-unreachable from {g.responder} (the packet reached the host)"
    plain = {
        "open": "open (SYN-ACK)",
        "closed": "closed (RST: the packet reached the host)",
        "silent": "silent" if kind == "tcp" else "silent (open|filtered)",
        "no-route": "refused at the vantage (no route)",
    }
    return plain.get(g.status, g.detail or str(g.status))


def observe(
    kind: str,
    g: SweepGroup,
    st: dict[str, Any],
    hosts: dict[str, str | None],
    prod: list[IPNetwork],
    trace: Trace | None = None,
    dist: distance.Distances | None = None,
) -> Observation:
    """One group of identical outcomes of a TCP or UDP sweep as an observation."""
    signal = classify(g.status, g.responder, prod)
    version = 6 if ":" in g.target else 4
    icmp = icmp_name(version, g.icmp_type, g.icmp_code) if g.responder else g.detail
    detail = _plain_detail(kind, g)
    if g.status == "filtered-icmp":
        who = g.responder or "unknown sender"
        where = "production host" if signal is Signal.CROSSED else "non-production device"
        detail = f"ICMP {icmp} from {who} ({where})"
    if g.status == "local-filter":
        detail = (
            "refused by the vantage's own filter "
            f"({st.get('vantage_filter', {}).get('filter', 'EPERM')}): the network past it "
            "was not tested (no Ethernet path to the next hop to send past it)"
        )
    reading = None
    if signal is Signal.CROSSED and dist is not None and g.ttl:
        # an answer in production's name: did production send it? (engine/distance.py)
        reading = dist.read(g.responder or g.target, g.ttl)
        hops = reading.answer_hops
        by = f"hop {hops}" + (f" ({reading.refused_by})" if reading.refused_by else "")
        if reading.forged and kind == "tcp" and g.status == "closed":
            signal = Signal.STOPPED
            detail = f"refused by {by} with a TCP reset in production's name"
        elif reading.forged and g.status in ("closed", "filtered-icmp"):
            signal = Signal.STOPPED
            detail = f"refused by {by} with ICMP {icmp} in production's name ({g.responder})"
        elif reading.forged:  # an answer is a connection, whoever completed it
            detail += f" from {by}, nearer than production: a device on the path answered"
    lost = answers_lost(st)
    if signal is Signal.SILENT and lost:
        # the receiver lost answers even in its last re-probing round: this silence may be
        # an answer that was dropped on the vantage, not a packet the network stopped
        signal = Signal.FAILED
        detail = f"silent, but the vantage's receiver lost {lost} answers: silence is no evidence"
    if st["method"] == "tcp-connect":
        detail += " [tcp-connect: weaker evidence]"
    single = g.count == 1
    sweep = {k: v for k, v in st.items() if k not in ("framed", "vantage_filter")}
    return Observation(
        kind,
        g.target,
        signal,
        detail,
        hosts.get(g.target),
        kind,
        int(g.ports) if single else None,
        g.responder or None,
        {
            "network": network_of(g.target, prod),
            "method": st["method"],
            "ttl": g.ttl,
            "icmp": [g.icmp_type, g.icmp_code],
            "sweep": sweep,
            **({"distance": reading.evidence()} if reading is not None else {}),
            **({"vantage_filter": st["vantage_filter"]} if "vantage_filter" in st else {}),
            **(
                {"sent_as": "ethernet frames to the next hop (the vantage's own filter skipped)"}
                if g.target in st.get("framed", ())
                else {}
            ),
            **trace_evidence(trace),
        },
        count=g.count,
        ports=None if single else g.ports,
        state=g.status,
    )


def answers_lost(st: dict[str, Any]) -> str:
    """How many answers the receiver lost in the sweep's last round ("" if none)."""
    receiver = st.get("receiver")
    if not receiver:
        return ""
    if receiver["answers_lost"] < 0:
        return "an unknown number of"
    last = int(receiver["recovery"].get("lost_in_last_round", 0))
    return f"{last:,}" if last else ""


def trace_evidence(trace: Trace | None) -> dict[str, Any]:
    """Where the probe stopped: the last hop that answered a traceroute, and the hops. An
    answer in the target's name from nearer than the hop it came back at names the device
    at its real distance instead (engine/distance.py)."""
    if not trace:
        return {}
    last = trace.last_hop
    hops = trace.hops
    final = hops[-1] if hops else None
    sender = distance.sender_hops(final.ttl_in) if final is not None else None
    answered = final is not None and final.what in ("open", "closed")
    if answered and final is not None and sender is not None and sender < final.ttl:
        seen = {h.ttl: h.responder for h in hops if h.responder}
        last = f"{seen.get(sender, f'hop {sender}')} (answering in {trace.target}'s name)"
    return {"last_hop": last, "traceroute": [h.to_json() for h in hops]}

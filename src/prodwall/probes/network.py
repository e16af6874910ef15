"""The network family: TCP, UDP and ICMP probes plus their positive controls.

Runs the agent once at the vantage, then classifies each result (DESIGN.md):
an answer from production (SYN-ACK, RST, an ICMP error sent by a production
host) crossed the boundary; an ICMP error from a non-production device, or a
refusal by the vantage's own kernel, is positive evidence of a block; silence
is only silence.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..inventory.model import IPNetwork
from ..plan import Plan, Probe
from ..services import PortSet
from ..verdicts import Observation, Signal
from . import distance, packet_evidence
from .pcap import write_pcap
from .transport import AgentError, run_agent
from .wire import icmp_name

KINDS = frozenset({"tcp", "udp", "icmp", "control"})
EVIDENCE_DIR_ENV = "PRODWALL_EVIDENCE_DIR"


def network_of(address: str, nets: list[IPNetwork]) -> str:
    ip = ipaddress.ip_address(address)
    return next((str(n) for n in nets if ip.version == n.version and ip in n), "")


def build_job(probes: tuple[Probe, ...], plan: Plan) -> dict[str, Any]:
    p = plan.probing
    controls = []
    for probe in probes:
        if probe.kind != "control":
            continue
        port = next(iter(probe.ports)) if probe.ports else 0
        controls.append(
            {
                "kind": probe.protocol,
                "address": probe.target,
                "port": port,
                "expect": probe.expect,
                "host": probe.host,
                "why": probe.why,
            }
        )
    return {
        "options": {
            "rate": p.rate,
            "retries": p.retries,
            "wait": p.wait_seconds,
            "retry_wait": p.retry_wait_seconds,
            "method": p.method,
        },
        "controls": controls,
        "tcp": [
            {"target": pr.target, "ports": str(pr.ports)}
            for pr in probes
            if pr.kind == "tcp" and pr.ports is not None
        ],
        "udp": [
            {"target": pr.target, "ports": str(pr.ports)}
            for pr in probes
            if pr.kind == "udp" and pr.ports is not None
        ],
        "icmp": [pr.target for pr in probes if pr.kind == "icmp"],
        "trace": _trace_samples(probes),
    }


def _trace_samples(probes: tuple[Probe, ...]) -> list[dict[str, Any]]:
    """The first TCP target of each production network (its lowest port) is traced."""
    seen: set[str] = set()
    out = []
    for pr in probes:
        if pr.kind != "tcp" or pr.ports is None:
            continue
        net = pr.environment + ("6" if ":" in pr.target else "4")
        if net not in seen:
            seen.add(net)
            out.append({"target": pr.target, "port": next(iter(pr.ports))})
    return out


def _timeout(job: dict[str, Any], rate: int) -> float:
    total = sum(len(PortSet.parse(s["ports"])) for s in job["tcp"])
    return 120 + 3 * total / max(rate, 1)


def run(probes: tuple[Probe, ...], plan: Plan) -> tuple[Observation, ...]:
    if not probes:
        return ()
    job = build_job(probes, plan)
    hosts = {pr.target: pr.host for pr in probes if pr.kind != "control"}
    prod_nets = [ipaddress.ip_network(pr.target) for pr in plan.of_kind("route")]
    try:
        result = run_agent(plan.vantage, job, _timeout(job, plan.probing.rate))
    except AgentError as exc:
        return tuple(
            Observation(
                pr.kind if pr.kind != "control" else "control",
                pr.target,
                Signal.FAILED,
                str(exc),
                pr.host,
                pr.protocol,
                evidence={"network": network_of(pr.target, prod_nets)},
            )
            for pr in probes
        )
    obs: list[Observation] = [*_controls(result["controls"], prod_nets)]
    # ports of an allowed flow ride in the sweep as positive controls: they are reported as
    # allowed (with their ticket) by the controls, never as findings of the TCP check
    allowed: dict[str, set[int]] = {}
    for c in result["controls"]:
        if c["kind"] == "tcp":
            allowed.setdefault(c["address"], set()).add(int(c["port"]))
    pcap_packets: list[tuple[float, bytes]] = []
    traces = {t["target"]: t for t in result.get("traces", [])}
    for sweep in [result["tcp"]] if result.get("tcp") else []:
        pcap_packets += [(ts, base64.b64decode(p)) for ts, p in sweep.get("pcap", [])]
        for t in result.get("traces", []):  # traced probes: our SYNs and what answered them
            pcap_packets += [(ts, base64.b64decode(p)) for ts, p in t.get("packets", [])]
        stats = {k: sweep[k] for k in ("method", "sent", "retransmitted", "seconds")}
        framed = set(sweep.get("framed_targets", []))
        if "windows" in sweep:  # how long silence was waited on: part of what silence means
            stats["answer_windows"] = sweep["windows"]
        drops, recovery = sweep.get("receive_drops", 0), sweep.get("recovery", {})
        if drops:  # answers the receiver lost, and whether re-probing proved every silence
            stats["receiver"] = {"answers_lost": drops, "recovery": recovery}
        host_filter = sweep.get("host_filter", "none")
        if host_filter != "none":  # host evidence, apart from the network's verdict
            stats["vantage_filter"] = {
                "filter": host_filter,
                "kernel_path": sweep.get("kernel_path", {}),
                "network_tested_past_it": sorted(framed),
            }
        # who really answered: production's distance, measured in this run
        dist = distance.measure(
            result.get("traces", []),
            result.get("next_hops", {}),
            [
                (g["target"], g["ttl"], "a SYN-ACK")
                for g in sweep["groups"]
                if g["status"] == "open"
            ],
        )
        for g in sweep["groups"]:
            if g["target"] not in hosts:  # control blocks share the sweep; reported above
                continue
            kept = _without_controls(g, allowed.get(g["target"], set()))
            if kept is not None:
                obs.append(
                    _tcp_obs(kept, stats, hosts, prod_nets, traces.get(g["target"]), framed, dist)
                )
    udp_traces = {t["target"]: t for t in result.get("udp_traces", [])}  # one per address
    for u in result["udp"]:
        obs.append(_udp_obs(u, hosts, prod_nets, udp_traces.get(u["target"])))
    for e in result["icmp"]:
        obs.append(_icmp_obs(e, hosts, prod_nets))
    for err in result.get("errors", []):
        kind = err.split(":", 1)[0]
        obs += [
            Observation(
                kind,
                pr.target,
                Signal.FAILED,
                err,
                pr.host,
                kind,
                evidence={"network": network_of(pr.target, prod_nets)},
            )
            for pr in probes
            if pr.kind == kind
        ]
    saved = _save_pcap(pcap_packets, plan)
    if saved:  # every TCP verdict names the capture of its answers, with its hash
        decoded = packet_evidence.by_address(pcap_packets)
        obs = [
            replace(
                o,
                evidence={
                    **o.evidence,
                    "pcap": saved,
                    **({"packets": decoded[o.target]} if o.target in decoded else {}),
                },
            )
            if o.kind == "tcp"
            else o
            for o in obs
        ]
    return tuple(obs)


def _without_controls(g: dict[str, Any], control_ports: set[int]) -> dict[str, Any] | None:
    """A sweep group less the ports probed as positive controls (None if nothing is left)."""
    if not control_ports:
        return g
    ports = PortSet.parse(g["ports"])
    if not any(p in ports for p in control_ports):
        return g
    left = [p for p in ports if p not in control_ports]
    if not left:
        return None
    rest = PortSet.of(left)
    return {**g, "ports": str(rest), "count": len(rest)}


def _save_pcap(packets: list[tuple[float, bytes]], plan: Plan) -> dict[str, Any] | None:
    folder = os.environ.get(EVIDENCE_DIR_ENV)
    if not folder or not packets:
        return None
    path = Path(folder) / f"{plan.vantage_name}-tcp.pcap"
    packets = sorted(packets, key=lambda tp: tp[0])
    return {"file": str(path), "sha256": write_pcap(path, packets), "packets": len(packets)}


def _controls(controls: list[dict[str, Any]], prod: Sequence[IPNetwork] = ()) -> list[Observation]:
    out = []
    for c in controls:
        want = {"answer": {"open", "reply"}, "closed": {"closed"}}[c["expect"]]
        ok = c["observed"] in want
        where = f"{c['address']} {c['kind']}" + (f"/{c['port']}" if c["port"] else "")
        out.append(
            Observation(
                "control",
                c["address"],
                Signal.CROSSED if ok else Signal.FAILED,
                f"positive control {where} ({c['host']}): expected {c['expect']}, saw "
                f"{c['observed']}",
                c["host"],
                c["kind"],
                c["port"] or None,
                evidence={
                    "network": network_of(c["address"], list(prod)),
                    "passed": ok,
                    "expect": c["expect"],
                    "observed": c["observed"],
                    "method": c.get("method", ""),
                    "why": c["why"],
                    # routed through a gateway: its answer crossed the vantage's boundary
                    "next_hop": c.get("next_hop", ""),
                    "beyond_boundary": bool(c.get("next_hop"))
                    and c.get("next_hop") != c["address"],
                },
            )
        )
    return out


def control_status(observations: tuple[Observation, ...], protocol: str) -> tuple[bool, str]:
    """Did this run's positive controls for `protocol` pass? (False with the reason if not.)

    For TCP, silence is evidence when a known-closed port's RST came back (the
    strongest proof: even a refusal by the host would be seen) or, where the
    boundary lets no closed port through, when a control answered from beyond
    the boundary (answers come back; the missing RST control is stated as a
    limitation, see `control_limitations`)."""
    mine = [o for o in observations if o.kind == "control" and o.protocol == protocol]
    if not mine:
        return False, f"no positive control for {protocol} is declared for this vantage"
    failed = [o.detail for o in mine if not o.evidence.get("passed")]
    if failed:
        return False, "; ".join(failed)
    if protocol == "tcp" and not _closed_controls(mine) and not _answers_from_beyond(mine):
        return False, (
            "no known-closed TCP control and no control answered from beyond the boundary: "
            "an answer would not be proven visible"
        )
    return True, ""


def control_limitations(observations: tuple[Observation, ...], protocol: str) -> list[str]:
    """What this run's controls did not prove, stated in the evidence of every verdict."""
    mine = [o for o in observations if o.kind == "control" and o.protocol == protocol]
    if protocol != "tcp" or _closed_controls(mine) or not _answers_from_beyond(mine):
        return []
    names = ", ".join(
        f"{o.target} tcp/{o.port} via {o.evidence['next_hop']}" for o in _answers_from_beyond(mine)
    )
    return [
        "no known-closed TCP control: a RST from production was not proven visible; silence "
        f"counts as blocked on the strength of the answer of {names} from beyond the boundary"
    ]


def allowed_flows(observations: tuple[Observation, ...], protocol: str, network: str) -> list[str]:
    """The allowed flows into `network` this run probed (as controls): shown as allowed."""
    return [
        f"{o.detail.removeprefix('positive control ')} [allowed: {o.evidence.get('why', '')}]"
        for o in observations
        if o.kind == "control"
        and o.protocol == protocol
        and o.evidence.get("expect") == "answer"
        and o.evidence.get("network") == network
    ]


def _closed_controls(mine: list[Observation]) -> list[Observation]:
    return [o for o in mine if o.evidence.get("expect") == "closed" and o.evidence.get("passed")]


def _answers_from_beyond(mine: list[Observation]) -> list[Observation]:
    return [
        o
        for o in mine
        if o.evidence.get("expect") == "answer"
        and o.evidence.get("passed")
        and o.evidence.get("beyond_boundary")
    ]


def _classify(status: str, responder: str, prod: list[IPNetwork]) -> Signal:
    """What an agent result says about the boundary (DESIGN.md): who answered decides."""
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


def _tcp_obs(
    g: dict[str, Any],
    stats: dict[str, Any],
    hosts: dict[str, str | None],
    prod: list[IPNetwork],
    trace: dict[str, Any] | None = None,
    framed: set[str] | frozenset[str] = frozenset(),
    dist: distance.Distances | None = None,
) -> Observation:
    signal = _classify(g["status"], g["responder"], prod)
    detail = {
        "open": "open (SYN-ACK)",
        "closed": "closed (RST: the packet reached the host)",
        "silent": "silent",
        "no-route": "refused at the vantage (no route)",
        "local-filter": "refused by the vantage's own filter "
        f"({stats.get('vantage_filter', {}).get('filter', 'EPERM')}): the network past it "
        "was not tested (no Ethernet path to the next hop to send past it)",
    }.get(g["status"], g["status"])
    version = 6 if ":" in g["target"] else 4
    icmp = icmp_name(version, *g["icmp"]) if g["responder"] else g["detail"]
    if g["status"] == "filtered-icmp":
        who = g["responder"] or "unknown sender"
        where = "production host" if signal is Signal.CROSSED else "non-production device"
        detail = f"ICMP {icmp} from {who} ({where})"
    reading = None
    if signal is Signal.CROSSED and dist is not None and stats["method"] == "raw-syn":
        # an answer in production's name: did production send it? (probes/distance.py)
        reading = dist.read(g["responder"] or g["target"], int(g["ttl"]))
        hops = reading.answer_hops
        by = f"hop {hops}" + (f" ({reading.refused_by})" if reading.refused_by else "")
        if reading.forged and g["status"] == "closed":
            signal = Signal.STOPPED
            detail = f"refused by {by} with a TCP reset in production's name"
        elif reading.forged and g["status"] == "filtered-icmp":
            signal = Signal.STOPPED
            detail = f"refused by {by} with ICMP {icmp} in production's name ({g['responder']})"
        elif reading.forged:  # a SYN-ACK is a connection, whoever completed it
            detail += f" from {by}, nearer than production: a device on the path answered"
    lost = _answers_lost(stats)
    if signal is Signal.SILENT and lost:
        # the receiver lost answers even in its last re-probing round: this silence may be
        # an answer that was dropped on the vantage, not a packet the network stopped
        signal = Signal.FAILED
        detail = f"silent, but the vantage's receiver lost {lost} answers: silence is no evidence"
    if stats["method"] == "tcp-connect":
        detail += " [tcp-connect: weaker evidence]"
    single = g["count"] == 1
    return Observation(
        "tcp",
        g["target"],
        signal,
        detail,
        hosts.get(g["target"]),
        "tcp",
        int(g["ports"]) if single else None,
        g["responder"] or None,
        {
            "network": network_of(g["target"], prod),
            "method": stats["method"],
            "ttl": g["ttl"],
            "icmp": g["icmp"],
            "sweep": stats,
            **({"distance": reading.evidence()} if reading is not None else {}),
            **({"vantage_filter": stats["vantage_filter"]} if "vantage_filter" in stats else {}),
            **(
                {"sent_as": "ethernet frames to the next hop (the vantage's own filter skipped)"}
                if g["target"] in framed
                else {}
            ),
            **_trace_evidence(trace),
        },
        count=g["count"],
        ports=None if single else g["ports"],
    )


def _answers_lost(stats: dict[str, Any]) -> str:
    """How many answers the receiver lost in the sweep's last round ("" if none)."""
    receiver = stats.get("receiver")
    if not receiver:
        return ""
    if receiver["answers_lost"] < 0:
        return "an unknown number of"
    last = int(receiver["recovery"].get("lost_in_last_round", 0))
    return f"{last:,}" if last else ""


def _trace_evidence(trace: dict[str, Any] | None) -> dict[str, Any]:
    """Where the probe stopped: the last hop that answered a traceroute, and the hops. An
    answer in the target's name from nearer than the hop it came back at names the device
    at its real distance instead (probes/distance.py)."""
    if not trace:
        return {}
    last = trace["last_hop"]
    hops = trace["hops"]
    final = hops[-1] if hops else {}
    sender = distance.sender_hops(int(final.get("ttl_in", 0)))
    if final.get("what") in ("open", "closed") and sender is not None and sender < final["ttl"]:
        seen = {h["ttl"]: h["responder"] for h in hops if h.get("responder")}
        last = f"{seen.get(sender, f'hop {sender}')} (answering in {trace['target']}'s name)"
    return {"last_hop": last, "traceroute": hops}


def _udp_obs(
    u: dict[str, Any],
    hosts: dict[str, str | None],
    prod: list[IPNetwork],
    trace: dict[str, Any] | None = None,
) -> Observation:
    signal = _classify(u["status"], u["responder"], prod)
    detail = u["status"] + (f": {u['detail']}" if u["detail"] else "")
    if u["status"] in ("closed", "filtered-icmp"):
        version = 6 if ":" in u["target"] else 4
        name = (
            icmp_name(version, 3 if version == 4 else 1, u["icmp_code"])
            if u["icmp_type"] >= 0
            else u["detail"]
        )
        detail = f"ICMP {name} from {u['responder']}"
    return Observation(
        "udp",
        u["target"],
        signal,
        detail,
        hosts.get(u["target"]),
        "udp",
        u["port"],
        u["responder"] or None,
        {
            "network": network_of(u["target"], prod),
            "method": "udp-payload",
            **_trace_evidence(trace),
        },
    )


def _icmp_obs(
    e: dict[str, Any], hosts: dict[str, str | None], prod: list[IPNetwork]
) -> Observation:
    signal = _classify(e["status"], e["responder"], prod)
    detail = "echo reply" if e["status"] == "reply" else e["status"]
    if e["status"] == "filtered-icmp":
        version = 6 if ":" in e["target"] else 4
        detail = f"ICMP {icmp_name(version, e['icmp_type'], e['icmp_code'])} from {e['responder']}"
    return Observation(
        "icmp",
        e["target"],
        signal,
        detail,
        hosts.get(e["target"]),
        "icmp",
        None,
        e["responder"] or None,
        {"network": network_of(e["target"], prod), "method": "icmp-echo"},
    )

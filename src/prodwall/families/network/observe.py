"""The network family: TCP, UDP and ICMP probes plus their positive controls.

Runs the agent once at the vantage, then classifies each result (docs/design.md):
an answer from production (SYN-ACK, RST, an ICMP error sent by a production
host) crossed the boundary; an ICMP error from a non-production device, or a
refusal by the vantage's own kernel, is positive evidence of a block; silence
is only silence.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from prodwall.engine import distance, packet_evidence
from prodwall.engine.pcap import write_pcap
from prodwall.engine.protocol import ProtocolError, one_of
from prodwall.engine.wire import icmp_name
from prodwall.families.network import sweep_obs
from prodwall.families.network.records import (
    ControlJob,
    ControlResult,
    EchoResult,
    NetworkJob,
    NetworkResult,
    Packet,
    PortTarget,
    ProbeProtocol,
    SweepOptions,
    TraceTarget,
)
from prodwall.families.network.sweep_obs import classify as _classify
from prodwall.inventory.model import IPNetwork
from prodwall.plan import Plan, Probe, network_of
from prodwall.services import PortSet
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import ControlEvidence, Observation, Signal

AGENT = "prodwall.families.network.vantage_agent"


def build_job(probes: tuple[Probe, ...], plan: Plan) -> NetworkJob:
    p = plan.probing
    return NetworkJob(
        options=SweepOptions(
            rate=p.rate,
            retries=p.retries,
            wait=p.wait_seconds,
            retry_wait=p.retry_wait_seconds,
            method=p.method,
        ),
        controls=tuple(
            ControlJob(
                kind=one_of(ProbeProtocol, probe.protocol),
                address=probe.target,
                port=next(iter(probe.ports)) if probe.ports else 0,
                expect="closed" if probe.expect == "closed" else "answer",  # a control's
                host=probe.host or "",
                why=probe.why,
            )
            for probe in probes
            if probe.kind == "control"
        ),
        tcp=_port_targets(probes, "tcp"),
        udp=_port_targets(probes, "udp"),
        icmp=tuple(pr.target for pr in probes if pr.kind == "icmp"),
        trace=_trace_samples(probes),
    )


def _port_targets(probes: tuple[Probe, ...], kind: str) -> tuple[PortTarget, ...]:
    return tuple(
        PortTarget(target=pr.target, ports=str(pr.ports))
        for pr in probes
        if pr.kind == kind and pr.ports is not None
    )


def _trace_samples(probes: tuple[Probe, ...]) -> tuple[TraceTarget, ...]:
    """The first TCP target of each production network (its lowest port) is traced."""
    seen: set[str] = set()
    out = []
    for pr in probes:
        if pr.kind != "tcp" or pr.ports is None:
            continue
        net = pr.environment + ("6" if ":" in pr.target else "4")
        if net not in seen:
            seen.add(net)
            out.append(TraceTarget(target=pr.target, port=next(iter(pr.ports))))
    return tuple(out)


def _timeout(job: NetworkJob, rate: int) -> float:
    total = sum(len(PortSet.parse(s.ports)) for s in [*job.tcp, *job.udp])
    return 120 + 3 * total / max(rate, 1)


def run(
    probes: tuple[Probe, ...], plan: Plan, evidence_dir: Path | None = None
) -> tuple[Observation, ...]:
    if not probes:
        return ()
    job = build_job(probes, plan)
    hosts = {pr.target: pr.host for pr in probes if pr.kind != "control"}
    prod_nets = list(plan.production)
    try:
        raw = run_agent(plan.vantage, AGENT, job.to_json(), _timeout(job, plan.probing.rate))
        result = NetworkResult.from_json(raw)
    except (AgentError, ProtocolError) as exc:
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
    obs: list[Observation] = [*_controls(result.controls, prod_nets)]
    # ports of an allowed flow ride in the sweep as positive controls: they are reported as
    # allowed (with their ticket) by the controls, never as findings of the TCP check
    allowed: dict[str, set[tuple[str, int]]] = {}
    for c in (r.control for r in result.controls):
        if c.kind in ("tcp", "udp"):
            allowed.setdefault(c.address, set()).add((c.kind, c.port))
    pcap_packets: list[tuple[float, bytes]] = []
    for t in result.traces:  # traced probes: our SYNs and what answered them
        pcap_packets += _decoded(t.packets)
    sweeps = {"tcp": result.tcp, "udp": result.udp}
    # who really answered: production's distance, measured in this run by traceroutes
    # and answers that are connections whoever sent them (SYN-ACKs, UDP replies)
    dist = distance.measure(
        [*result.traces, *result.udp_traces],
        [
            (g.target, g.ttl, f"a {kind.upper()} answer")
            for kind, sweep in sweeps.items()
            if sweep is not None
            for g in sweep.groups
            if g.status == "open" and g.ttl
        ],
    )
    trace_of = {
        "tcp": {t.target: t for t in result.traces},
        "udp": {t.target: t for t in result.udp_traces},
    }
    for kind, sweep in sweeps.items():
        if sweep is None:
            continue
        pcap_packets += _decoded(sweep.pcap)
        stats = sweep_obs.stats(sweep)
        for g in sweep.groups:
            if g.target not in hosts:  # control blocks share the sweep; reported above
                continue
            kept = sweep_obs.without_controls(g, allowed.get(g.target, set()), kind)
            if kept is not None:
                obs.append(
                    sweep_obs.observe(
                        kind, kept, stats, hosts, prod_nets, trace_of[kind].get(g.target), dist
                    )
                )
    for e in result.icmp:
        obs.append(_icmp_obs(e, hosts, prod_nets, dist))
    pcap_packets += _decoded(result.icmp_pcap)
    for err in result.errors:
        obs += [
            Observation(
                err.kind,
                pr.target,
                Signal.FAILED,
                f"{err.kind}: {err.message}",
                pr.host,
                err.kind,
                evidence={"network": network_of(pr.target, prod_nets)},
            )
            for pr in probes
            if pr.kind == err.kind
        ]
    saved = _save_pcap(pcap_packets, plan, evidence_dir)
    if saved:  # every TCP, UDP and ICMP verdict names the capture of its answers, with its hash
        # each verdict's sample is of its own kind's packets (an ICMP error counts for the
        # probe it quotes): echo replies are not crowded out by a thousand RSTs
        decoded = {k: packet_evidence.by_address(pcap_packets, k) for k in ("tcp", "udp", "icmp")}
        obs = [
            replace(
                o,
                evidence={
                    **o.evidence,
                    "pcap": saved,
                    **(
                        {"packets": decoded[o.kind][o.target]}
                        if o.target in decoded[o.kind]
                        else {}
                    ),
                },
            )
            if o.kind in ("tcp", "udp", "icmp")
            else o
            for o in obs
        ]
    return tuple(obs)


def _save_pcap(
    packets: list[tuple[float, bytes]], plan: Plan, folder: Path | None
) -> dict[str, Any] | None:
    if folder is None or not packets:
        return None
    path = Path(folder) / f"{plan.vantage_name}-sweeps.pcap"  # TCP, UDP and ICMP answers
    packets = sorted(packets, key=lambda tp: tp[0])
    # cited by its place in the bundle (evidence/NAME), never by where the run wrote it
    rel = f"{Path(folder).name}/{path.name}"
    return {"file": rel, "sha256": write_pcap(path, packets), "packets": len(packets)}


def _decoded(packets: tuple[Packet, ...]) -> list[tuple[float, bytes]]:
    return [(p.at, base64.b64decode(p.data)) for p in packets]


def _controls(
    controls: tuple[ControlResult, ...], prod: Sequence[IPNetwork] = ()
) -> list[Observation]:
    out = []
    for r in controls:
        c = r.control
        want = {"answer": {"open", "reply"}, "closed": {"closed"}}[c.expect]
        ok = r.observed in want
        where = f"{c.address} {c.kind}" + (f"/{c.port}" if c.port else "")
        control = ControlEvidence(
            passed=ok,
            expect=c.expect,
            observed=str(r.observed),
            network=network_of(c.address, list(prod)) or "",
            why=c.why,
            next_hop=r.next_hop,
            beyond_boundary=bool(r.next_hop) and r.next_hop != c.address,
            method=r.method,
        )
        out.append(
            Observation(
                "control",
                c.address,
                Signal.CROSSED if ok else Signal.FAILED,
                f"positive control {where} ({c.host}): expected {c.expect}, saw {r.observed}",
                c.host,
                c.kind,
                c.port or None,
                evidence=control.as_evidence(),
                control=control,
            )
        )
    return out


def _icmp_obs(
    e: EchoResult,
    hosts: dict[str, str | None],
    prod: list[IPNetwork],
    dist: distance.Distances | None = None,
) -> Observation:
    signal = _classify(e.status, e.responder, prod)
    detail = "echo reply" if e.status == "reply" else str(e.status)
    if e.status == "local-filter":
        detail = (
            f"refused by the vantage's own filter ({e.detail}): the network past it was not tested"
        )
    version = 6 if ":" in e.target else 4
    name = icmp_name(version, e.icmp_type, e.icmp_code)
    if e.status == "filtered-icmp":
        detail = f"ICMP {name} from {e.responder}"
    extra: dict[str, Any] = {}
    if signal is Signal.CROSSED and dist is not None and e.ttl:
        reading = dist.read(e.responder or e.target, e.ttl)
        extra["distance"] = reading.evidence()
        if reading.forged and e.status == "filtered-icmp":
            by = f"hop {reading.answer_hops}" + (
                f" ({reading.refused_by})" if reading.refused_by else ""
            )
            signal = Signal.STOPPED
            detail = f"refused by {by} with ICMP {name} in production's name ({e.responder})"
    return Observation(
        "icmp",
        e.target,
        signal,
        detail,
        hosts.get(e.target),
        "icmp",
        None,
        e.responder or None,
        {
            "network": network_of(e.target, prod),
            "method": "icmp-echo",
            "sent_as": e.sent_as,
            **extra,
        },
    )

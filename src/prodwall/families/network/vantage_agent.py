"""The network agent: runs *at* the vantage, shipped there in the agent file.

It reads one job as JSON on stdin, sends only what the job lists (the job was
built from a scope-guarded plan), reports progress on stderr and writes one
JSON result on stdout. It never judges: the parent turns results into
observations.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prodwall.engine import icmp, linkpath, synscan, traceroute, udp
from prodwall.engine.sweeps import echo_sweep, tcp_sweep, udp_sweep
from prodwall.engine.synscan import RawSocketsUnavailable
from prodwall.engine.vantage_log import say as _say
from prodwall.families.network.records import (
    ControlJob,
    ControlResult,
    EchoResult,
    KindError,
    NetworkJob,
    NetworkResult,
    Packet,
    PortTarget,
    ProbeStatus,
    Sweep,
    SweepOptions,
    Trace,
    TraceTarget,
)
from prodwall.services import PortSet


def _first_port(text: str) -> int:
    return next(iter(PortSet.parse(text)))


def _blocks(specs: list[PortTarget]) -> list[synscan.Block]:
    """Targets with their merged port ranges (PortSet): no port is ever expanded."""
    merged: dict[str, PortSet] = {}
    for spec in specs:
        ports = PortSet.parse(spec.ports)
        known = merged.get(spec.target)
        merged[spec.target] = known.union(ports) if known else ports
    return [synscan.Block.of_ranges(t, p.ranges) for t, p in merged.items()]


def run(raw_job: dict[str, Any]) -> dict[str, Any]:
    job = NetworkJob.from_json(raw_job)
    result: dict[str, Any] = collect(job).to_json()
    return result


def collect(job: NetworkJob) -> NetworkResult:
    """Every kind of the job; one kind failing never loses another's results: each stands
    on its own evidence, and a failure is named by kind (its probes are inconclusive)."""
    opts = job.options
    errors: list[KindError] = []
    tcp: Sweep | None = None
    # TCP controls ride in the same sweep as the probes: same method, same run, same time
    blocks = _blocks(
        [
            *job.tcp,
            *(
                PortTarget(target=c.address, ports=str(c.port))
                for c in job.controls
                if c.kind == "tcp"
            ),
        ]
    )
    if blocks:
        _say(f"tcp: {len(blocks)} addresses, {sum(b.count for b in blocks):,} probes")
        try:
            tcp = tcp_sweep(blocks, opts)
        except Exception as exc:  # reported as this kind's failure
            errors.append(KindError(kind="tcp", message=f"the sweep failed: {_named(exc)}"))
    controls = _controls(job.controls, tcp)
    traces = _traces(tcp, job.trace, opts) if tcp is not None and tcp.method == "raw-syn" else []
    udp_sweep_: Sweep | None = None
    udp_traces: list[Trace] = []
    if job.udp:
        try:
            udp_sweep_ = udp_sweep(_blocks(list(job.udp)), opts)
            udp_traces = _udp_traces(udp_sweep_, job.trace, opts)
        except Exception as exc:  # reported as this kind's failure
            udp_sweep_ = None
            errors.append(KindError(kind="udp", message=f"the sweep failed: {_named(exc)}"))
    echoes: list[EchoResult] = []
    echo_pcap: list[Packet] = []
    if job.icmp:
        _say(f"icmp: {len(job.icmp)} echo requests")
        try:
            echoes, echo_pcap = echo_sweep(list(job.icmp), opts)
        except RawSocketsUnavailable:
            errors.append(KindError(kind="icmp", message="raw ICMP sockets need CAP_NET_RAW"))
        except Exception as exc:  # reported as this kind's failure
            errors.append(KindError(kind="icmp", message=f"the probes failed: {_named(exc)}"))
    return NetworkResult(
        controls=tuple(controls),
        tcp=tcp,
        udp=udp_sweep_,
        icmp=tuple(echoes),
        icmp_pcap=tuple(echo_pcap),
        traces=tuple(traces),
        udp_traces=tuple(udp_traces),
        errors=tuple(errors),
    )


def _named(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _controls(jobs: tuple[ControlJob, ...], tcp: Sweep | None) -> list[ControlResult]:
    """Each positive control's outcome, and where its answer comes from: through a gateway
    (beyond the boundary) or on-link."""
    hops = linkpath.routes(sorted({c.address for c in jobs})) if jobs else {}
    out = []
    for c in jobs:
        r = hops.get(c.address)
        found = _tcp_control(c, tcp) if c.kind == "tcp" else _control(c)
        out.append(dataclasses.replace(found, next_hop=r.next_hop if r is not None else ""))
    return out


def _tcp_control(c: ControlJob, tcp: Sweep | None) -> ControlResult:
    if tcp is None:
        return ControlResult(control=c, observed=ProbeStatus.ERROR, detail="the sweep failed")
    return ControlResult(control=c, observed=_status_of(tcp, c.address, c.port), method=tcp.method)


def _traces(sweep: Sweep, samples: tuple[TraceTarget, ...], opts: SweepOptions) -> list[Trace]:
    """Where-blocked evidence: every reachable target and a sample per production network."""
    reached: dict[str, int] = {}
    for g in sweep.groups:
        if g.status in ("open", "closed") and g.target not in reached:
            reached[g.target] = _first_port(g.ports)
    chosen = _choose(reached, {s.target: s.port for s in samples}, opts)
    _say(f"traceroute: {len(chosen)} targets")
    with ThreadPoolExecutor(max_workers=8) as pool:  # each trace waits on silent hops
        return list(pool.map(lambda tp: traceroute.trace(*tp), chosen))


def _choose(
    reached: dict[str, int], samples: dict[str, int], opts: SweepOptions
) -> list[tuple[str, int]]:
    """(target, port) to trace: sampled addresses first, so a cap on traces never drops a
    network's only sample, then every other reached address; a reached address is traced
    on a port that got through, which shows the path into production."""
    order = [*samples, *(t for t in reached if t not in samples)]
    picks = [(t, reached.get(t, samples.get(t, 0))) for t in order]
    # every reached address is traced: its own traceroute is what tells an answer made on
    # the path in its name from its own (engine/distance.py)
    return picks[: opts.max_traces]


def _udp_traces(sweep: Sweep, samples: tuple[TraceTarget, ...], opts: SweepOptions) -> list[Trace]:
    """UDP where-blocked evidence: the first UDP port probed on each sampled address, and
    on every address that answered a UDP probe itself."""
    sampled = {s.target for s in samples}
    first: dict[str, int] = {}  # the first UDP port probed on each sampled address
    reached: dict[str, int] = {}
    for g in sweep.groups:
        port = _first_port(g.ports)
        if g.target in sampled:
            first[g.target] = min(first.get(g.target, port), port)
        if g.status in ("open", "closed") or g.responder == g.target:
            reached.setdefault(g.target, port)
    chosen = _choose(reached, first, opts)
    if not chosen:
        return []
    _say(f"udp traceroute: {len(chosen)} targets")
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda tp: traceroute.trace_udp(*tp), chosen))


def _status_of(sweep: Sweep, address: str, port: int) -> ProbeStatus:
    for g in sweep.groups:
        if g.target == address and port in PortSet.parse(g.ports):
            return g.status
    return ProbeStatus.ERROR


def _control(control: ControlJob) -> ControlResult:
    if control.kind == "udp":
        r = udp.probe_all([(control.address, control.port)], retries=2)[0]
        return ControlResult(control=control, observed=ProbeStatus(r.status), detail=r.detail)
    try:
        e = icmp.echo_all([control.address], retries=2)[0]
    except PermissionError:
        return ControlResult(
            control=control, observed=ProbeStatus.ERROR, detail="raw ICMP needs CAP_NET_RAW"
        )
    return ControlResult(control=control, observed=e.status, detail=e.detail)


def main() -> int:
    job = json.load(sys.stdin)
    result = run(job)
    json.dump(result, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

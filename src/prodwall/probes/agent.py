"""The network agent: runs *at* the vantage, shipped there in the agent file.

It reads one job as JSON on stdin, sends only what the job lists (the job was
built from a scope-guarded plan), reports progress on stderr and writes one
JSON result on stdout. It never judges: the parent turns results into
observations.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..services import PortSet
from . import icmp, linkpath, synscan, traceroute, udp
from .codec import ECHO_PORT, ICMP_ECHO, TCP, UDP, Codec
from .grouping import group_rows, group_sweep
from .payloads import UDP_PAYLOADS
from .protocol import ControlJob, NetworkJob, PortTarget, ProbeRow, SweepOptions, TraceTarget
from .synscan import STATUS_NAMES, RawSocketsUnavailable


def _say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parse_ports(text: str) -> list[int]:
    return list(PortSet.parse(text))


def _raw_sweep(
    blocks: list[synscan.Block], opts: SweepOptions, codec: Codec = TCP
) -> synscan.SweepResult:
    """The sweep engine with the job's options (raises RawSocketsUnavailable)."""
    return synscan.sweep(
        blocks,
        rate=opts.rate,
        retries=opts.retries,
        wait=opts.wait,
        retry_wait=opts.retry_wait,
        progress=_say,
        codec=codec,
    )


def tcp_sweep(blocks: list[synscan.Block], opts: SweepOptions) -> dict[str, Any]:
    method = opts.method
    if method != "connect":
        try:
            return {"method": "raw-syn", **group_sweep(_raw_sweep(blocks, opts))}
        except RawSocketsUnavailable:
            _say("no CAP_NET_RAW here: falling back to TCP connect() (weaker evidence)")
    from . import connect  # asyncio: only the fallback pays for importing it

    def probe(pairs: list[tuple[str, int]]) -> list[ProbeRow]:
        found = connect.connect_all(
            pairs,
            timeout=opts.connect_timeout,
            concurrency=opts.concurrency,
        )
        return [
            ProbeRow(target=r.target, port=r.port, status=r.status, detail=r.detail) for r in found
        ]

    return _per_socket("tcp-connect", blocks, probe)


def _per_socket(
    method: str,
    blocks: list[synscan.Block],
    probe: Callable[[list[tuple[str, int]]], list[ProbeRow]],
) -> dict[str, Any]:
    """A fallback without raw sockets: every (target, port) probed one socket at a time,
    the outcomes grouped like the engine's (no TTLs, no capture)."""
    started = time.monotonic()
    pairs = [(b.target, p) for b in blocks for p in b.ports.tolist()]
    return {
        "method": method,
        "sent": len(pairs),
        "retransmitted": 0,
        "groups": group_rows(probe(pairs)),
        "seconds": round(time.monotonic() - started, 3),
        "pcap": [],
    }


MAX_TRACES = SweepOptions().max_traces


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
    out: dict[str, Any] = {"controls": [], "tcp": None, "udp": [], "icmp": [], "errors": []}
    opts = job.options
    controls = job.controls
    # TCP controls ride in the same sweep as the probes: same method, same run, same time
    blocks = _blocks(
        [
            *job.tcp,
            *(PortTarget(target=c.address, ports=str(c.port)) for c in controls if c.kind == "tcp"),
        ]
    )
    if blocks:
        _say(f"tcp: {len(blocks)} addresses, {sum(b.count for b in blocks):,} probes")
        # one kind failing never loses another's results: each stands on its own evidence
        try:
            out["tcp"] = tcp_sweep(blocks, opts)
        except Exception as exc:  # reported as this kind's failure
            out["errors"].append(f"tcp: the sweep failed: {type(exc).__name__}: {exc}")
    for c in controls:
        if c.kind == "tcp":
            status = _status_of(out["tcp"], c.address, c.port) if out["tcp"] else "error"
            method = out["tcp"]["method"] if out["tcp"] else ""
            out["controls"].append({**c.to_json(), "observed": status, "method": method})
        else:
            out["controls"].append(_control(c))
    # where each control's answer comes from: through a gateway (beyond the boundary) or on-link
    hops = linkpath.routes(sorted({c.address for c in controls})) if controls else {}
    for c in out["controls"]:
        r = hops.get(c["address"])
        c["next_hop"] = r.next_hop if r is not None else ""
    if out["tcp"] is not None and out["tcp"]["method"] == "raw-syn":
        out["traces"] = _traces(out["tcp"], job.trace, opts)
    if job.udp:
        try:
            out["udp"] = udp_sweep(_blocks(list(job.udp)), opts)
            out["udp_traces"] = _udp_traces(out["udp"], job.trace, opts)
        except Exception as exc:  # reported as this kind's failure
            out["udp"] = None
            out["errors"].append(f"udp: the sweep failed: {type(exc).__name__}: {exc}")
    if job.icmp:
        _say(f"icmp: {len(job.icmp)} echo requests")
        try:
            out["icmp"] = echo_sweep(list(job.icmp), opts)
        except RawSocketsUnavailable:
            out["errors"].append("icmp: raw ICMP sockets need CAP_NET_RAW")
        except Exception as exc:  # reported as this kind's failure
            out["errors"].append(f"icmp: the probes failed: {type(exc).__name__}: {exc}")
    return out


def echo_sweep(targets: list[str], opts: SweepOptions) -> list[dict[str, Any]]:
    """An echo request to every target on the sweep engine: the same frames past the
    vantage's own filter, the same receiver, TTLs for the distance reasoning."""
    blocks = [synscan.Block.of_ranges(t, [(ECHO_PORT, ECHO_PORT)]) for t in dict.fromkeys(targets)]
    r = _raw_sweep(blocks, opts, ICMP_ECHO)
    names = {"open": "reply", "filtered-icmp": "filtered-icmp"}
    out = []
    for idx, blk in enumerate(r.blocks):
        status, who, itype, code, ttl = r.outcome(idx, blk.target)
        name = STATUS_NAMES.get(status, "error")
        out.append(
            {
                "target": blk.target,
                "status": names.get(name, name),
                "responder": who,
                "icmp_type": itype,
                "icmp_code": code,
                "ttl": ttl,
                "detail": "" if name != "local-filter" else "EPERM",
                "sent_as": "ethernet frames" if blk.target in r.framed else "kernel",
            }
        )
    return out


def udp_sweep(blocks: list[synscan.Block], opts: SweepOptions) -> dict[str, Any]:
    """Every UDP probe on the sweep engine (pre-built datagrams, batched sends, answers and
    ICMP errors matched back by the source-port cookie), and, meanwhile, protocol-aware
    requests to the well-known ports among them: a service's answer marks its port open."""
    total = sum(b.count for b in blocks)
    _say(f"udp: {len(blocks)} addresses, {total:,} probes")
    specials = [
        (b.target, p)
        for b in blocks
        for p in sorted(UDP_PAYLOADS)
        if any(lo <= p <= hi for lo, hi in b.ranges)
    ]
    method = opts.method
    if method != "connect" and synscan.raw_available():
        # the protocol-aware requests wait on their answers while the engine sweeps
        with ThreadPoolExecutor(max_workers=1) as pool:
            requests = pool.submit(udp.probe_all, specials, retries=opts.retries)
            result = _raw_sweep(blocks, opts, UDP)
            answered = {
                (a.target, a.port): a.detail for a in requests.result() if a.status == "open"
            }
        return {"method": "raw-udp", **group_sweep(result, answered)}
    if method != "connect":
        _say("udp: no CAP_NET_RAW here: one socket per probe (slower, no TTLs)")

    def probe(pairs: list[tuple[str, int]]) -> list[ProbeRow]:
        return [
            ProbeRow(
                target=r.target,
                port=r.port,
                status="silent" if r.status == "open|filtered" else r.status,
                responder=r.responder,
                icmp_type=r.icmp_type,
                icmp_code=r.icmp_code,
                detail=r.detail if r.status in ("open", "error", "local-filter") else "",
            )
            for r in udp.probe_all(pairs, retries=opts.retries)
        ]

    return _per_socket("udp-socket", blocks, probe)


def _traces(
    sweep: dict[str, Any], samples: tuple[TraceTarget, ...], opts: SweepOptions
) -> list[dict[str, Any]]:
    """Where-blocked evidence: every reachable target and a sample per production network."""
    reached: dict[str, int] = {}
    for g in sweep["groups"]:
        if g["status"] in ("open", "closed") and g["target"] not in reached:
            reached[g["target"]] = _parse_ports(g["ports"])[0]
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
    # the path in its name from its own (probes/distance.py)
    return picks[: opts.max_traces]


def _udp_traces(
    sweep: dict[str, Any], samples: tuple[TraceTarget, ...], opts: SweepOptions
) -> list[dict[str, Any]]:
    """UDP where-blocked evidence: the first UDP port probed on each sampled address, and
    on every address that answered a UDP probe itself."""
    sampled = {s.target for s in samples}
    first: dict[str, int] = {}  # the first UDP port probed on each sampled address
    reached: dict[str, int] = {}
    for g in sweep["groups"]:
        port = _parse_ports(g["ports"])[0]
        if g["target"] in sampled:
            first[g["target"]] = min(first.get(g["target"], port), port)
        if g["status"] in ("open", "closed") or g["responder"] == g["target"]:
            reached.setdefault(g["target"], port)
    chosen = _choose(reached, first, opts)
    if not chosen:
        return []
    _say(f"udp traceroute: {len(chosen)} targets")
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda tp: traceroute.trace_udp(*tp), chosen))


def _status_of(sweep: dict[str, Any], address: str, port: int) -> str:
    for g in sweep["groups"]:
        if g["target"] == address and port in PortSet.parse(g["ports"]):
            return str(g["status"])
    return "error"


def _control(control: ControlJob) -> dict[str, Any]:
    base = control.to_json()
    if control.kind == "udp":
        r = udp.probe_all([(control.address, control.port)], retries=2)[0]
        return {**base, "observed": r.status, "detail": r.detail}
    try:
        e = icmp.echo_all([control.address], retries=2)[0]
    except PermissionError:
        return {**base, "observed": "error", "detail": "raw ICMP needs CAP_NET_RAW"}
    return {**base, "observed": e.status, "detail": e.detail}


def main() -> int:
    job = json.load(sys.stdin)
    result = run(job)
    json.dump(result, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

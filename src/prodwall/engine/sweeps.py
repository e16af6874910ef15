"""The sweeps at the vantage: TCP, UDP and ICMP echo on the raw sweep engine, with the
per-socket fallbacks where the vantage has no CAP_NET_RAW (weaker evidence, said so)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from prodwall.engine import synscan, udp
from prodwall.engine.codec import ECHO_PORT, ICMP_ECHO, TCP, UDP, Codec
from prodwall.engine.grouping import group_rows, group_sweep
from prodwall.engine.payloads import UDP_PAYLOADS
from prodwall.engine.protocol import one_of
from prodwall.engine.synscan import STATUS_NAMES, RawSocketsUnavailable
from prodwall.engine.vantage_log import say as _say
from prodwall.families.network.records import (
    EchoResult,
    Packet,
    ProbeRow,
    ProbeStatus,
    Sweep,
    SweepMethod,
    SweepOptions,
)


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


def tcp_sweep(blocks: list[synscan.Block], opts: SweepOptions) -> Sweep:
    method = opts.method
    if method != "connect":
        try:
            return group_sweep("raw-syn", _raw_sweep(blocks, opts))
        except RawSocketsUnavailable:
            _say("no CAP_NET_RAW here: falling back to TCP connect() (weaker evidence)")
    from prodwall.engine import connect  # asyncio: only the fallback pays for importing it

    def probe(pairs: list[tuple[str, int]]) -> list[ProbeRow]:
        found = connect.connect_all(
            pairs,
            timeout=opts.connect_timeout,
            concurrency=opts.concurrency,
        )
        return [
            ProbeRow(target=r.target, port=r.port, status=ProbeStatus(r.status), detail=r.detail)
            for r in found
        ]

    return _per_socket("tcp-connect", blocks, probe)


def _per_socket(
    method: str,
    blocks: list[synscan.Block],
    probe: Callable[[list[tuple[str, int]]], list[ProbeRow]],
) -> Sweep:
    """A fallback without raw sockets: every (target, port) probed one socket at a time,
    the outcomes grouped like the engine's (no TTLs, no capture)."""
    started = time.monotonic()
    pairs = [(b.target, p) for b in blocks for p in b.ports.tolist()]
    groups = tuple(group_rows(probe(pairs)))
    return Sweep(
        method=one_of(SweepMethod, method),
        sent=len(pairs),
        retransmitted=0,
        groups=groups,
        probes=len(pairs),
        seconds=round(time.monotonic() - started, 3),
    )


def echo_sweep(targets: list[str], opts: SweepOptions) -> tuple[list[EchoResult], list[Packet]]:
    """An echo request to every target on the sweep engine: the same frames past the
    vantage's own filter, the same receiver, TTLs for the distance reasoning; with the
    answers' packets as the engine captured them (the evidence file's share)."""
    blocks = [synscan.Block.of_ranges(t, [(ECHO_PORT, ECHO_PORT)]) for t in dict.fromkeys(targets)]
    r = _raw_sweep(blocks, opts, ICMP_ECHO)
    captured = [Packet(at=ts, data=base64.b64encode(p).decode()) for ts, p in r.answers_pcap]
    names = {"open": "reply", "filtered-icmp": "filtered-icmp"}
    out = []
    for idx, blk in enumerate(r.blocks):
        status, who, itype, code, ttl = r.outcome(idx, blk.target)
        name = STATUS_NAMES.get(status, "error")
        out.append(
            EchoResult(
                target=blk.target,
                status=ProbeStatus(names.get(name, name)),
                responder=who,
                icmp_type=itype,
                icmp_code=code,
                ttl=ttl,
                detail="" if name != "local-filter" else "EPERM",
                sent_as="ethernet frames" if blk.target in r.framed else "kernel",
            )
        )
    return out, captured


def udp_sweep(blocks: list[synscan.Block], opts: SweepOptions) -> Sweep:
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
        return group_sweep("raw-udp", result, answered)
    if method != "connect":
        _say("udp: no CAP_NET_RAW here: one socket per probe (slower, no TTLs)")

    def probe(pairs: list[tuple[str, int]]) -> list[ProbeRow]:
        return [
            ProbeRow(
                target=r.target,
                port=r.port,
                status=ProbeStatus.SILENT if r.status == "open|filtered" else ProbeStatus(r.status),
                responder=r.responder,
                icmp_type=r.icmp_type,
                icmp_code=r.icmp_code,
                detail=r.detail if r.status in ("open", "error", "local-filter") else "",
            )
            for r in udp.probe_all(pairs, retries=opts.retries)
        ]

    return _per_socket("udp-socket", blocks, probe)

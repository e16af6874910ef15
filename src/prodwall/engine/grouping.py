"""Sweep results as groups: run-length groups of identical outcomes per address, with
their ports as ranges ("1-79,82-65535"), built a block at a time from the one byte per
probe of the sweep (or from per-probe rows of the socket fallbacks)."""

from __future__ import annotations

import base64
import dataclasses
import itertools

import numpy as np
import numpy.typing as npt

from prodwall.engine import synscan
from prodwall.engine.protocol import one_of
from prodwall.engine.sweepstate import OVERFLOW, SERVICE_ANSWER
from prodwall.engine.synscan import STATUS_NAMES
from prodwall.families.network.records import (
    AnswerWindows,
    Packet,
    ProbeRow,
    ProbeStatus,
    Sweep,
    SweepGroup,
    SweepMethod,
)
from prodwall.services import PortSet


def _ranges(ports: list[int] | npt.NDArray[np.int64]) -> str:
    """Sorted ports as "1-1023,3306": breaks found with numpy, not a loop per port."""
    arr = np.asarray(ports, np.int64)
    breaks = np.flatnonzero(np.diff(arr) != 1)
    starts = arr[np.concatenate(([0], breaks + 1))].tolist()
    ends = arr[np.concatenate((breaks, [len(arr) - 1]))].tolist()
    return str(PortSet(tuple(zip(starts, ends, strict=True))))


def group_sweep(
    method: str, r: synscan.SweepResult, answered: dict[tuple[str, int], str] | None = None
) -> Sweep:
    """Run-length groups of identical outcomes per block, found with numpy a block at a
    time (one byte a probe, never the whole sweep copied): a hundred million probes come
    down to a few groups per address.

    `answered`: (target, port) -> detail of UDP ports whose service answered a
    protocol-aware request; each becomes its own open group."""
    groups: list[SweepGroup] = []
    layout = synscan.Layout(r.blocks)
    marked: dict[int, list[int]] = {}  # block -> probes answered by a service
    for (target, port), detail in (answered or {}).items():
        idx = layout.locate(target, port)
        if idx >= 0:
            marked.setdefault(layout.by_target[target], []).append(idx)
            groups.append(
                SweepGroup(
                    target=target,
                    status=ProbeStatus.OPEN,
                    ports=str(port),
                    count=1,
                    responder=target,
                    detail=detail,
                )
            )
    for b, (blk, start) in enumerate(zip(r.blocks, r.offsets, strict=True)):
        n = blk.count
        if not n:
            continue
        k = np.array(r.classes[start : start + n])  # this block's bytes only
        for idx in marked.get(b, []):
            k[idx - start] = SERVICE_ANSWER
        cuts = [0, *(np.flatnonzero(k[1:] != k[:-1]) + 1).tolist(), n]
        for a, z in itertools.pairwise(cuts):
            cls = int(k[a])
            if cls == SERVICE_ANSWER:
                continue  # already a group of its own
            if cls == OVERFLOW:  # outcomes that did not fit the class table: one by one
                for j in range(a, z):
                    groups.append(_group(r, blk.target, start + j, blk.port_ranges(j, j + 1), 1))
                continue
            groups.append(_group(r, blk.target, start + a, blk.port_ranges(a, z), z - a))
    first, retry, slowest = r.windows
    return Sweep(
        method=one_of(SweepMethod, method),
        sent=r.sent,
        retransmitted=r.retransmitted,
        seconds=round(r.seconds, 3),
        windows=AnswerWindows(
            first_s=first,
            retransmission_s=round(retry, 3),
            slowest_answer_s=round(slowest, 4),
        ),
        framed_targets=tuple(r.framed),
        host_filter=r.host_filter,
        kernel_path=dict(r.kernel_path),
        receive_drops=r.receive_drops,
        probes=sum(b.count for b in r.blocks),
        recovery=r.recovery,
        groups=tuple(groups),
        pcap=tuple(Packet(at=ts, data=base64.b64encode(p).decode()) for ts, p in r.answers_pcap),
    )


def _group(r: synscan.SweepResult, target: str, idx: int, ports: str, count: int) -> SweepGroup:
    status, who, itype, code, ttl = r.outcome(idx, target)
    return SweepGroup(
        target=target,
        status=ProbeStatus(STATUS_NAMES[status]),
        ports=ports,
        count=count,
        responder=who,
        icmp_type=itype,
        icmp_code=code,
        ttl=ttl,
    )


def group_rows(rows: list[ProbeRow]) -> list[SweepGroup]:
    """Run-length groups of identical outcomes per target, ports kept as ranges."""
    out: list[SweepGroup] = []
    first: ProbeRow | None = None
    ports: list[int] = []
    for r in rows:
        if first is not None and _same(first, r):
            ports.append(r.port)
            continue
        if first is not None:
            out.append(_of_rows(first, ports))
        first, ports = r, [r.port]
    if first is not None:
        out.append(_of_rows(first, ports))
    return out


def _same(a: ProbeRow, b: ProbeRow) -> bool:
    """The same outcome, whatever the port."""
    return dataclasses.replace(a, port=0) == dataclasses.replace(b, port=0)


def _of_rows(first: ProbeRow, ports: list[int]) -> SweepGroup:
    return SweepGroup(
        target=first.target,
        status=first.status,
        ports=_ranges(ports),
        count=len(ports),
        responder=first.responder,
        icmp_type=first.icmp_type,
        icmp_code=first.icmp_code,
        ttl=first.ttl,
        detail=first.detail,
    )

"""Sweep results as groups: run-length groups of identical outcomes per address, with
their ports as ranges ("1-79,82-65535"), built a block at a time from the one byte per
probe of the sweep (or from per-probe rows of the socket fallbacks)."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import numpy as np
import numpy.typing as npt

from ..services import PortSet
from . import synscan
from .protocol import ProbeRow
from .sweepstate import OVERFLOW, SERVICE_ANSWER
from .synscan import STATUS_NAMES


def _ranges(ports: list[int] | npt.NDArray[np.int64]) -> str:
    """Sorted ports as "1-1023,3306": breaks found with numpy, not a loop per port."""
    arr = np.asarray(ports, np.int64)
    breaks = np.flatnonzero(np.diff(arr) != 1)
    starts = arr[np.concatenate(([0], breaks + 1))].tolist()
    ends = arr[np.concatenate((breaks, [len(arr) - 1]))].tolist()
    return str(PortSet(tuple(zip(starts, ends, strict=True))))


def group_sweep(
    r: synscan.SweepResult, answered: dict[tuple[str, int], str] | None = None
) -> dict[str, Any]:
    """Run-length groups of identical outcomes per block, found with numpy a block at a
    time (one byte a probe, never the whole sweep copied): a hundred million probes come
    down to a few groups per address.

    `answered`: (target, port) -> detail of UDP ports whose service answered a
    protocol-aware request; each becomes its own open group."""
    groups: list[dict[str, Any]] = []
    layout = synscan.Layout(r.blocks)
    marked: dict[int, list[int]] = {}  # block -> probes answered by a service
    for (target, port), detail in (answered or {}).items():
        idx = layout.locate(target, port)
        if idx >= 0:
            marked.setdefault(layout.by_target[target], []).append(idx)
            groups.append(_emit((target, "open", target, -1, -1, 0, detail), str(port), 1))
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
                    row = _row_key(r, blk.target, start + j)
                    groups.append(_emit(row, blk.port_ranges(j, j + 1), 1))
                continue
            groups.append(_emit(_row_key(r, blk.target, start + a), blk.port_ranges(a, z), z - a))
    first, retry, slowest = r.windows
    return {
        "sent": r.sent,
        "retransmitted": r.retransmitted,
        "seconds": round(r.seconds, 3),
        "windows": {
            "first_s": first,
            "retransmission_s": round(retry, 3),
            "slowest_answer_s": round(slowest, 4),
        },
        "framed_targets": r.framed,
        "host_filter": r.host_filter,
        "kernel_path": r.kernel_path,
        "receive_drops": r.receive_drops,
        "probes": sum(b.count for b in r.blocks),
        "recovery": {
            "rounds": r.recovery.rounds,
            "sent": r.recovery.sent,
            "lost_in_last_round": r.recovery.lost_in_last_round,
            "rate": r.recovery.rate,
        },
        "groups": groups,
        "pcap": [[ts, base64.b64encode(p).decode()] for ts, p in r.answers_pcap],
    }


def _row_key(
    r: synscan.SweepResult, target: str, idx: int
) -> tuple[str, str, str, int, int, int, str]:
    status, who, itype, code, ttl = r.outcome(idx, target)
    return (target, STATUS_NAMES[status], who, itype, code, ttl, "")


def group_rows(rows: list[ProbeRow]) -> list[dict[str, Any]]:
    """Run-length groups of identical outcomes per target, ports kept as ranges."""
    out: list[dict[str, Any]] = []
    key: tuple[Any, ...] | None = None
    ports: list[int] = []
    for r in rows:
        new = (r.target, r.status, r.responder, r.icmp_type, r.icmp_code, r.ttl, r.detail)
        if new == key:
            ports.append(r.port)
            continue
        if key is not None:
            out.append(_emit(key, _ranges(ports), len(ports)))
        key, ports = new, [r.port]
    if key is not None:
        out.append(_emit(key, _ranges(ports), len(ports)))
    return out


def _emit(key: tuple[Any, ...], ports: str, count: int) -> dict[str, Any]:
    target, status, who, itype, code, ttl, detail = key
    return {
        "target": target,
        "status": status,
        "responder": who,
        "icmp": [itype, code],
        "ttl": ttl,
        "ports": ports,
        "count": count,
        "detail": detail,
    }

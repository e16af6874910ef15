"""The sweep's per-probe state, one byte a probe: a hundred million probes in 100 MB.

Probes are numbered end to end over the blocks (a target and its port ranges); a
probe's port is computed from its number and the ranges, never stored. What came
back for a probe is one byte, an *answer class*: an index into a small table of
distinct outcomes (status, who answered, ICMP type and code, received TTL). A host
answering for itself is recorded as "itself", not by address, so a thousand
production hosts resetting their closed ports share one class; the few distinct
refusals of a real network (a router or two, a handful of TTLs) fit in the table.
Should they not, the rest are kept exactly, one entry per probe, in an overflow map.
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from prodwall.engine.codec import CLOSED, ICMP, OPEN, SILENT, TCP, Codec
from prodwall.engine.mmsg import (
    BATCH as CHUNK,  # probes per send call; the unit of retransmission timing
)

NO_ROUTE, LOCAL_FILTER = 4, 5  # refused at the vantage (written by the senders)
FIRST_CLASS, SERVICE_ANSWER, OVERFLOW = 8, 254, 255  # answer classes 8..253
SELF = ""  # in a class key: the answer came from the probed address itself

# an answer class: (status, responder or SELF, ICMP type, ICMP code, received TTL)
ClassKey = tuple[int, str, int, int, int]
# what the receiver hands back: classes, overflow, captured answers, answers dropped
Findings = tuple[dict[int, ClassKey], dict[int, ClassKey], list[tuple[float, bytes]], int]


class Block:
    """One target address and the ports to probe on it, as sorted, merged ranges."""

    __slots__ = ("count", "ranges", "target")

    def __init__(self, target: str, ports: Iterable[int] | npt.NDArray[np.integer[Any]]) -> None:
        given = ports if isinstance(ports, np.ndarray) else np.asarray(list(ports), np.int64)
        values = sorted(set(given.astype(np.int64).tolist()))
        ranges: list[tuple[int, int]] = []
        for p in values:
            if ranges and p == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], p)
            else:
                ranges.append((p, p))
        self._set(target, ranges)

    @classmethod
    def of_ranges(cls, target: str, ranges: Iterable[tuple[int, int]]) -> Block:
        """From sorted, disjoint (low, high) ranges: 1-65535 costs two integers."""
        blk = cls.__new__(cls)
        blk._set(target, list(ranges))
        return blk

    def _set(self, target: str, ranges: list[tuple[int, int]]) -> None:
        if ranges and (ranges[0][0] < 1 or ranges[-1][1] > 65535):
            raise ValueError(f"{target}: ports must be 1-65535")
        self.target = target
        self.ranges = tuple(ranges)
        self.count = sum(hi - lo + 1 for lo, hi in ranges)

    @property
    def ports(self) -> npt.NDArray[np.uint16]:
        """Every port, materialised (for small blocks and tests; the sweep never does)."""
        parts = [np.arange(lo, hi + 1, dtype=np.uint16) for lo, hi in self.ranges]
        return np.concatenate(parts) if parts else np.zeros(0, np.uint16)

    def port_ranges(self, a: int, b: int) -> str:
        """The ports of this block's probes a..b-1 (in order), as "1-79,82-65535"."""
        out: list[str] = []
        seen = 0
        for lo, hi in self.ranges:
            n = hi - lo + 1
            start, stop = max(a, seen), min(b, seen + n)
            if start < stop:
                first, last = lo + start - seen, lo + stop - seen - 1
                out.append(str(first) if first == last else f"{first}-{last}")
            seen += n
            if seen >= b:
                break
        return ",".join(out)

    def __repr__(self) -> str:
        return f"Block({self.target!r}, {self.count} ports)"


class Layout:
    """Probe number <-> (block, port), through a table of port ranges: per range, the
    number of its first probe, its first port and its block."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.offsets: list[int] = []
        starts, lows, owner = [], [], []
        total = 0
        for b, blk in enumerate(blocks):
            self.offsets.append(total)
            for lo, hi in blk.ranges:
                starts.append(total)
                lows.append(lo)
                owner.append(b)
                total += hi - lo + 1
        self.total = total
        self.r_start = np.asarray(starts, np.int64)
        self.r_low = np.asarray(lows, np.int64)
        self.r_block = np.asarray(owner, np.intp)
        self.by_target = {blk.target: i for i, blk in enumerate(blocks)}

    def where(
        self, idx: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """(block, port) of each probe number, vectorised."""
        r = np.searchsorted(self.r_start, idx, side="right") - 1
        return self.r_block[r], self.r_low[r] + (idx - self.r_start[r])

    def locate(self, target: str, port: int) -> int:
        b = self.by_target.get(target)
        if b is None:
            return -1
        seen = self.offsets[b]
        for lo, hi in self.blocks[b].ranges:
            if lo <= port <= hi:
                return seen + port - lo
            seen += hi - lo + 1
        return -1


class Recorder:
    """Matches answers to probes and records each as one byte, its answer class.

    It also keeps the slowest answer time seen (answer arrival minus the send time
    of its chunk, which senders write into `sent_at`): the measured round trip
    that sizes the retransmissions' answer window."""

    def __init__(
        self,
        blocks: list[Block],
        secret: int,
        sport: int,
        pcap_limit: int,
        walk: tuple[int, int] = (1, 0),
        codec: Codec = TCP,
    ) -> None:
        self.layout = Layout(blocks)
        self.codec = codec
        self.secret, self.sport = secret, sport
        total = self.layout.total
        self.stride_inv, self.walk_offset = pow(walk[0], -1, max(total, 2)), walk[1]
        chunks = max(1, (total + CHUNK - 1) // CHUNK)
        self._clock = mmap.mmap(-1, 8 * (chunks + 1))
        self.sent_at = np.frombuffer(self._clock, np.float64, chunks, 0)
        self.slowest = np.frombuffer(self._clock, np.float64, 1, 8 * chunks)
        self.status = mmap.mmap(-1, max(total, 1))  # per probe: its answer class
        self.classes: dict[ClassKey, int] = {}
        self.overflow: dict[int, ClassKey] = {}
        # status of each class (0: silent; 4, 5: refused at the vantage)
        self.class_status = bytearray(range(256))
        self.pcap: list[tuple[float, bytes]] = []  # (arrival time, IP packet)
        # answers the kernel dropped because the receive socket was full, kept current by
        # the receiver (shared): senders slow down when it grows, and silence is re-probed
        self._counts = mmap.mmap(-1, 16)
        self.drop_count = np.frombuffer(self._counts, np.int64, 1, 0)
        # probes answered so far (shared): progress and the silent count read this, never
        # a scan of the whole per-probe array (a 100 MB temporary at 100M probes)
        self.answer_count = np.frombuffer(self._counts, np.int64, 1, 8)
        # capture budget per kind: every SYN-ACK up to the limit, then a sample of RSTs
        # and of ICMP refusals (a thousand RSTs must not crowd out the one open port)
        self.budget = {OPEN: pcap_limit, CLOSED: pcap_limit // 2, ICMP: pcap_limit // 10}

    def _class(self, key: ClassKey, idx: int) -> int:
        known = self.classes.get(key)
        if known is not None:
            return known
        if FIRST_CLASS + len(self.classes) < SERVICE_ANSWER:
            cls = FIRST_CLASS + len(self.classes)
            self.classes[key] = cls
            self.class_status[cls] = key[0]
            return cls
        self.overflow[idx] = key
        return OVERFLOW

    def record(self, packet: bytes) -> bool:
        ans = self.codec.parse(packet, self.sport)
        if ans is None:
            return False
        idx = self.layout.locate(ans.target, ans.port)
        if idx < 0 or not self.codec.matches(idx, ans.seq, self.secret):
            return False  # not our probe (stale, forged or from another run)
        new = self.codec.status(ans)
        if self.status_of(idx) in (OPEN, CLOSED) and new == ICMP:
            return True  # an answer from the host outranks an ICMP error
        who = SELF if ans.responder == ans.target else ans.responder
        if self.status[idx] == SILENT:
            self.answer_count[0] += 1
        self.overflow.pop(idx, None)
        self.status[idx] = self._class((new, who, ans.icmp_type, ans.icmp_code, ans.ttl), idx)
        if self.budget[new] > 0:
            self.budget[new] -= 1
            self.pcap.append((time.time(), packet))
        step = (idx - self.walk_offset) * self.stride_inv % max(self.layout.total, 1)
        sent = float(self.sent_at[step // CHUNK])
        if sent > 0:
            self.slowest[0] = max(float(self.slowest[0]), time.monotonic() - sent)
        return True

    def status_of(self, idx: int) -> int:
        """The status (SILENT, OPEN, ...) recorded for one probe."""
        cls = self.status[idx]
        return self.overflow[idx][0] if cls == OVERFLOW else self.class_status[cls]

    def findings(self) -> Findings:
        table = {cls: key for key, cls in self.classes.items()}
        return table, dict(self.overflow), self.pcap, int(self.drop_count[0])


def class_statuses(table: dict[int, ClassKey]) -> npt.NDArray[np.uint8]:
    """Answer class -> status, as a lookup array."""
    out = np.arange(256, dtype=np.uint8)
    for cls, key in table.items():
        out[cls] = key[0]
    out[SERVICE_ANSWER] = OPEN
    return out

"""The sweep's sender side: a pseudo-random walk over every (target, port), the
send jobs that write pre-built packets in chunks, and the queue that hands
chunks to forked sender processes, halving their rate when the receiver drops."""

from __future__ import annotations

import math
import mmap
import multiprocessing as mp
import os
import random
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from prodwall.engine.codec import SILENT, TCP, Codec, Template
from prodwall.engine.mmsg import BATCH as CHUNK  # probes per chunk: one sendmmsg call
from prodwall.engine.rawnet import (
    _FILTER_ERRORS,
    _NO_ROUTE_ERRORS,
    FRAME4,
    FRAME6,
    KERNEL4,
    KERNEL6,
    LANE_AT,
    PacketNet,
    Progress,
    lane_sizes,
)
from prodwall.engine.sweepstate import LOCAL_FILTER, NO_ROUTE, Layout, Recorder

SLOWEST = 8  # a lossy receiver slows a sender to 1/8 of its rate at the most
SLOWDOWN_EVERY = 0.5  # s: at most one halving per half second (drops are counted every 50 ms)


def _walk(total: int, rng: random.Random) -> tuple[int, int]:
    """A full-coverage pseudo-random walk, k -> (k * stride + offset) mod total, computed on
    the fly (no list of a million indices); the senders take turns over its chunks."""
    if total <= 1:
        return 1, 0
    stride = rng.randrange(total // 3 + 1, total) | 1
    while math.gcd(stride, total) != 1:
        stride += 2
    return stride, rng.randrange(total)


@dataclass(frozen=True)
class _SendJob:
    """What every sender needs, as arrays: probe index -> block, port, packet."""

    layout: Layout  # probe number -> (block, port), through the port ranges: no array a probe
    lane: npt.NDArray[np.uint8]  # block -> how its packets are sent
    packets: npt.NDArray[np.uint8]  # block -> its packet template (headers + SYN), padded
    bases: npt.NDArray[np.int64]  # block -> checksum of the SYN template's fixed part
    status: npt.NDArray[np.uint8]  # shared with the receiver
    drops: npt.NDArray[np.int64]  # answers the receiver lost so far (shared)
    answers: npt.NDArray[np.int64]  # probes answered so far (shared)
    secret: int
    stride: int
    offset: int
    total: int
    rate: float  # per sender
    codec: Codec = TCP

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        return lane_sizes(self.codec.size)

    @classmethod
    def build(
        cls,
        recorder: Recorder,
        templates: list[Template],
        headers: list[bytes],
        secret: int,
        walk: tuple[int, int],
        rate: float,
        codec: Codec = TCP,
    ) -> _SendJob:
        layout = recorder.layout
        sizes = lane_sizes(codec.size)
        width = max(sizes)
        packets = np.zeros((len(templates), width), np.uint8)
        lanes = np.zeros(len(templates), np.uint8)
        for b, (t, head) in enumerate(zip(templates, headers, strict=True)):
            six = ":" in layout.blocks[b].target
            lanes[b] = (FRAME6 if six else FRAME4) if head else (KERNEL6 if six else KERNEL4)
            packet = head + bytes(t.packet)
            assert len(packet) == sizes[lanes[b]], "header does not fit its lane"
            packets[b, : len(packet)] = np.frombuffer(packet, np.uint8)
        return cls(
            layout=layout,
            lane=lanes,
            packets=packets,
            bases=np.array([t.base for t in templates], np.int64),
            status=np.frombuffer(recorder.status, np.uint8),
            drops=recorder.drop_count,
            answers=recorder.answer_count,
            secret=secret,
            stride=walk[0],
            offset=walk[1],
            total=layout.total,
            rate=rate,
            codec=codec,
        )

    def chunk(self, number: int) -> npt.NDArray[np.int64]:
        """The probe indices of one chunk of the pseudo-random walk."""
        ks = np.arange(number * CHUNK, min((number + 1) * CHUNK, self.total), dtype=np.int64)
        return (ks * self.stride + self.offset) % self.total

    def packets_for(
        self, idx: npt.NDArray[np.int64]
    ) -> list[tuple[int, npt.NDArray[np.uint8], npt.NDArray[np.intp], npt.NDArray[np.int64]]]:
        """Per lane: (lane, packets, blocks, probe indices) for these probes, with port,
        cookie and checksum written in by a few vectorised numpy operations (codec.py)."""
        blk, ports = self.layout.where(idx)
        lanes = self.lane[blk]
        out = []
        for lane in np.unique(lanes).tolist():
            sel = lanes == lane
            b, i, port = (blk, idx, ports) if sel.all() else (blk[sel], idx[sel], ports[sel])
            at, size = LANE_AT[lane], self.sizes[lane]
            rows = self.packets[:, :size][b]  # a contiguous copy per probe
            self.codec.fill(rows[:, at : at + self.codec.size], port, i, self.secret, self.bases[b])
            out.append((lane, rows, b, i))
        return out


class _Queue:
    """The senders' shared work list: (attempt, chunk) tickets handed out in order.

    Senders take the next ticket when they are ready for it, so a sender that the
    scheduler slows down does less of the work instead of finishing last (with a
    fixed split, one of two senders routinely ended 0.5 s after the other)."""

    def __init__(self, recorder: Recorder, retries: int, workers: int) -> None:
        self.chunks = (recorder.layout.total + CHUNK - 1) // CHUNK
        self.tickets = self.chunks * (retries + 1)
        self.lock = mp.get_context("fork").Lock()
        self._mem = mmap.mmap(-1, 8 + 32 * workers + 12 * self.chunks)
        self._next = np.frombuffer(self._mem, np.int64, 1, 0)
        # per chunk: when its last packet was last sent (monotonic clock): its answer window
        # runs from there; the receiver times round trips from `recorder.sent_at` (the
        # chunk's first packet) instead
        self.last_sent = np.frombuffer(self._mem, np.float64, self.chunks, 8 + 32 * workers)
        # per chunk: how many of its attempts have been sent (a retransmission ticket can be
        # taken while another sender is still sending the chunk's previous attempt)
        self.attempts_done = np.frombuffer(
            self._mem, np.int32, self.chunks, 8 + 32 * workers + 8 * self.chunks
        )
        self.started = recorder.sent_at
        # per sender: packets sent, of which retransmitted
        self.counts = np.frombuffer(self._mem, np.int64, 2 * workers, 8).reshape(workers, 2)
        # per sender: when it last sent a first transmission, and when it last sent any
        self.times = np.frombuffer(self._mem, np.float64, 2 * workers, 8 + 16 * workers)
        self.times = self.times.reshape(workers, 2)

    def skip_first_attempt(self) -> None:
        """Start at the retransmissions: a round that only resends still-silent probes."""
        self._next[0] = self.chunks
        self.attempts_done[:] = 1

    def take(self) -> tuple[int, int] | None:
        """The next (attempt, chunk), or None when every ticket is taken."""
        with self.lock:
            ticket = int(self._next[0])
            if ticket >= self.tickets:
                return None
            self._next[0] = ticket + 1
        return divmod(ticket, self.chunks)


def _fork_sender(job: _SendJob, net: PacketNet, worker: int, queue: _Queue, wait: float) -> int:
    """A second sender on the other core: the kernel's send path runs in the sender's own
    context, so two senders move about twice the packets. Status is shared memory."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's work shows in the parent's results
        code = 0
        try:
            reopen = getattr(net, "reopen", None)
            if reopen is not None:
                reopen()
            _send(job, net, worker, queue, wait, None)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _send(
    job: _SendJob,
    net: PacketNet,
    worker: int,
    queue: _Queue,
    wait: float,
    progress: Progress | None,
) -> None:
    """One sender: takes chunks of the walk until none are left; a retransmission chunk
    goes out `wait` after the chunk was last sent, with only its still-silent probes.

    Per chunk the interpreter does a fixed number of numpy operations, none per packet."""
    status, count = job.status, queue.counts
    rate = job.rate
    # packets per send call: the clock is checked 200 times a second at this sender's rate
    step = max(1, min(CHUNK, int(rate / 200)))
    begin = last_report = time.monotonic()
    n = 0
    drops, slowed = int(job.drops[0]), 0.0
    while (ticket := queue.take()) is not None:
        attempt, number = ticket
        idx = job.chunk(number)
        if attempt:
            give_up = time.monotonic() + 30  # a sender that died must not stall the rest
            while queue.attempts_done[number] < attempt and time.monotonic() < give_up:
                time.sleep(0.001)  # the previous attempt is still being sent by another sender
            delay = queue.last_sent[number] + wait - time.monotonic()  # its answer window
            if delay > 0:
                time.sleep(delay)
            idx = idx[status[idx] == SILENT]
            if not len(idx):
                queue.attempts_done[number] = attempt + 1
                continue
        built = job.packets_for(idx)
        # stamped before sending: an answer can arrive before send() returns, and the
        # receiver times it from this stamp (a slightly long round trip, never a short one)
        queue.started[number] = time.monotonic()
        for lane, packets, blk, probes in built:
            for a in range(0, len(packets), step):  # paced in slices, not 1,024-packet bursts
                part = slice(a, a + step)
                for index, err in net.send(lane, packets[part], blk[part], probes[part]):
                    # the vantage's own kernel refused to send: its routing table (no
                    # route, blackhole, prohibit) or its packet filter; other errors leave
                    # the probe silent
                    if err in _NO_ROUTE_ERRORS:
                        status[index] = NO_ROUTE
                    elif err in _FILTER_ERRORS:
                        status[index] = LOCAL_FILTER
                n += len(probes[part])
                now = time.monotonic()
                if (
                    job.drops[0] > drops
                    and rate > job.rate / SLOWEST
                    and now - slowed > SLOWDOWN_EVERY
                ):
                    # the receiver is losing answers: half the rate from here on
                    drops, rate, slowed = int(job.drops[0]), rate / 2, now
                    step = max(1, min(CHUNK, int(rate / 200)))
                    begin, n = now, 0
                ahead = n / rate - (time.monotonic() - begin)
                if ahead > 0:
                    time.sleep(ahead)
        queue.last_sent[number] = queue.times[worker, 1] = time.monotonic()
        queue.attempts_done[number] = attempt + 1
        if not attempt:
            queue.times[worker, 0] = queue.times[worker, 1]
        count[worker, 0] += len(idx)
        if attempt:
            count[worker, 1] += len(idx)
        now = time.monotonic()
        if progress is not None and now - last_report >= 1.0:
            last_report = now
            sent = int(count[:, 0].sum())
            answered = int(job.answers[0])
            progress(
                f"{job.codec.name}: sent {sent:,} ({job.total:,} probes), answered {answered:,}, "
                f"{sent / (now - begin):,.0f} pkt/s"
            )

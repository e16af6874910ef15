"""TCP SYN sweep over raw sockets: a streaming sender and an independent receiver.

The sender walks a pseudo-random permutation of (target, port) so no single
host is hammered, writes pre-built SYNs (only port, cookie and checksum
change), and retransmits whatever stayed silent. The receiver runs in its own
process on an AF_PACKET socket whose BPF filter drops our own outgoing
packets in the kernel, and records answers in shared, compact arrays (a byte
of status per probe, no Python object per probe).
"""

from __future__ import annotations

import os
import random
import secrets
import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from prodwall.engine.codec import CLOSED, ICMP, OPEN, SILENT, TCP, Codec
from prodwall.engine.rawnet import (
    FRAME4,
    FRAME6,
    LANE_SIZE,
    PACKET_OUTGOING,
    STATUS_NAMES,
    PacketNet,
    Progress,
    RawNet,
    RawSocketsUnavailable,
    raw_available,
)
from prodwall.engine.sender import _fork_sender, _Queue, _send, _SendJob, _walk
from prodwall.engine.sweepstate import (
    LOCAL_FILTER,
    NO_ROUTE,
    OVERFLOW,
    Block,
    ClassKey,
    Layout,
    Recorder,
    class_statuses,
)
from prodwall.engine.wire import cookie
from prodwall.families.network.records import Recovery

__all__ = [
    "CLOSED",
    "FRAME4",
    "FRAME6",
    "ICMP",
    "LANE_SIZE",
    "LOCAL_FILTER",
    "NO_ROUTE",
    "OPEN",
    "PACKET_OUTGOING",
    "SILENT",
    "STATUS_NAMES",
    "Block",
    "Layout",
    "RawSocketsUnavailable",
    "Recorder",
    "SweepResult",
    "raw_available",
    "sweep",
]


@dataclass
class SweepResult:
    blocks: list[Block]
    offsets: list[int]
    classes: npt.NDArray[np.uint8]  # per probe, blocks laid end to end: its answer class
    table: dict[int, ClassKey]  # answer class -> (status, responder or "", type, code, TTL)
    overflow: dict[int, ClassKey]  # probes whose class did not fit the table
    sent: int
    retransmitted: int
    seconds: float
    # (arrival time, raw IP packet) of answers
    answers_pcap: list[tuple[float, bytes]] = field(default_factory=list)
    # answer windows (s): first SYNs, retransmissions; and the slowest answer measured
    windows: tuple[float, float, float] = (0.0, 0.0, 0.0)
    framed: list[str] = field(default_factory=list)  # targets whose SYNs went out as frames
    # host evidence: the vantage's own filter, and what its kernel path did with one SYN
    # per target ("sent", "refused (EPERM)"), measured where a filter exists
    host_filter: str = "none"
    kernel_path: dict[str, str] = field(default_factory=dict)
    receive_drops: int = 0  # answers lost in the receiver's socket buffer (-1: unknown)
    recovery: Recovery = field(default_factory=Recovery)

    @property
    def status(self) -> npt.NDArray[np.uint8]:
        """Per probe: its status (a copy: for tests and small sweeps)."""
        out = class_statuses(self.table)[self.classes]
        for idx, key in self.overflow.items():
            out[idx] = key[0]
        return out

    def outcome(self, idx: int, target: str) -> ClassKey:
        """(status, responder, ICMP type, code, TTL) of one probe (SILENT: all empty)."""
        cls = int(self.classes[idx])
        key = self.overflow[idx] if cls == OVERFLOW else self.table.get(cls, (cls, "", -1, -1, 0))
        return (key[0], key[1] or (target if key[0] in (OPEN, CLOSED, ICMP) else ""), *key[2:])

    @property
    def responders(self) -> list[tuple[str, int, int]]:
        """Who answered, as (address, ICMP type, code); "(itself)": the probed host."""
        keys = [*self.table.values(), *self.overflow.values()]
        return sorted({(k[1] or "(itself)", k[2], k[3]) for k in keys})


def sweep(
    blocks: list[Block],
    *,
    rate: float,
    retries: int = 1,
    wait: float = 1.0,
    progress: Progress | None = None,
    pcap_limit: int = 2000,
    seed: int | None = None,
    net: PacketNet | None = None,
    workers: int | None = None,
    retry_wait: float | None = None,
    codec: Codec = TCP,
) -> SweepResult:
    """Probe every (target, port) of every block with a SYN (codec=UDP: a datagram);
    retransmit silent ones `retries` times.

    Retransmission is pipelined: the senders walk the chunks of the probe order
    again right after the first pass, skipping what has been answered, and
    resend a chunk only once `wait` has passed since that chunk was last sent.

    Answer windows: every first SYN gets at least `wait`. A retransmission
    covers a lost packet, not a slow path (the first SYN already waited), so
    the last retransmissions get `retry_wait` if given, else a window measured
    like nmap's: four times the slowest answer of this run, at least
    MIN_RETRY_WAIT and at most `wait`; with no answer at all, `wait`.
    """
    if workers is None:  # a fake network lives in this process: one sender only
        workers = 1 if net is not None else max(1, min(2, os.cpu_count() or 1))
    net = net if net is not None else RawNet(codec)
    rng = random.Random(seed)  # noqa: S311 - probe order only; the cookie secret is below
    secret = secrets.randbits(32)  # unpredictable, so a forged answer cannot match a probe
    sport = rng.randrange(40000, 60000)
    walk = _walk(sum(b.count for b in blocks), rng)
    recorder = Recorder(blocks, secret, sport, pcap_limit, walk, codec)
    total = recorder.layout.total
    net.start(recorder)
    started = time.monotonic()
    queue = _Queue(recorder, retries, workers)
    try:
        templates = [codec.template(net.source(b.target), b.target, sport) for b in blocks]
        firsts = [
            bytes(t.fill(b.ranges[0][0], cookie(off, secret))) if b.count else bytes(t.packet)
            for t, b, off in zip(templates, blocks, recorder.layout.offsets, strict=True)
        ]
        headers, primed = net.framing(firsts)
        host_filter, kernel_path = net.host_evidence()
        job = _SendJob.build(recorder, templates, headers, secret, walk, rate / workers, codec)
        children = [_fork_sender(job, net, w, queue, wait) for w in range(1, workers)]
        _send(job, net, 0, queue, wait, progress)
        failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
        if failed:
            raise RuntimeError(f"a sender process failed (pids {failed})")
        first_done, last_done = (float(t) for t in queue.times.max(axis=0))
        window = _retry_window(wait, retry_wait, float(recorder.slowest[0]))
        deadline = max(first_done + wait, last_done + window)  # the last packets' windows
        time.sleep(max(0.0, deadline - time.monotonic()) + DROP_COUNT_LAG)
        recovery = _recover(job, net, recorder, wait, progress)
    finally:
        table, overflow, pcap, drops = net.stop()
    sent, retransmitted = (int(n) for n in queue.counts.sum(axis=0))
    sent += recovery.sent
    retransmitted += recovery.sent
    seconds = time.monotonic() - started
    return SweepResult(
        blocks,
        recorder.layout.offsets,
        np.frombuffer(recorder.status, np.uint8, total),
        table,
        overflow,
        sent + primed,
        retransmitted,
        seconds,
        pcap,
        (wait, window, float(recorder.slowest[0])),
        [b.target for b, head in zip(blocks, headers, strict=True) if head],
        host_filter,
        kernel_path,
        drops,
        recovery,
    )


MIN_RETRY_WAIT = 0.25
DROP_COUNT_LAG = 0.1  # the receiver publishes its drop count every 50 ms
RECOVERY_ROUNDS = 3
RECOVERY_BUDGET = 30.0  # s: a round that would take longer is not started (and said so)


def _recover(
    job: _SendJob, net: PacketNet, recorder: Recorder, wait: float, progress: Progress | None
) -> Recovery:
    """A silent probe whose answer the receiver dropped is not silent: while a round lost
    answers, resend every still-silent probe at half the last round's rate, on one sender
    (the other core stays with the receiver), and wait out its answer window. The last
    round's losses are reported: where they are not zero, silence proves nothing. Each
    round halves the rate again; a round that would take over RECOVERY_BUDGET seconds is
    not started."""
    lost = int(recorder.drop_count[0])
    rounds, sent, rate = 0, 0, job.rate
    while lost > 0 and rounds < RECOVERY_ROUNDS:
        silent = job.total - int(job.answers[0])  # at most this many
        if silent / max(job.rate / 2 ** (rounds + 1), 1.0) > RECOVERY_BUDGET:
            break  # too long at that rate: the losses stand, and silence proves nothing
        rounds += 1
        rate = job.rate / 2**rounds
        if progress is not None:
            progress(
                f"{job.codec.name}: the receiver lost {lost:,} answers: "
                f"re-probing silence at {rate:,.0f}/s"
            )
        before = int(recorder.drop_count[0])
        queue = _Queue(recorder, 1, 1)
        queue.skip_first_attempt()
        _send(replace(job, rate=rate), net, 0, queue, wait, progress)
        sent += int(queue.counts[:, 0].sum())
        last = float(queue.times[0, 1])
        time.sleep(max(0.0, last + wait - time.monotonic()) + DROP_COUNT_LAG)
        lost = int(recorder.drop_count[0]) - before
    return Recovery(rounds=rounds, sent=sent, lost_in_last_round=lost, rate=rate if rounds else 0.0)


def _retry_window(wait: float, fixed: float | None, slowest: float) -> float:
    if fixed is not None:
        return min(fixed, wait)
    if slowest <= 0:
        return wait  # nothing answered: no measured round trip to size a window on
    return min(wait, max(MIN_RETRY_WAIT, 4 * slowest))

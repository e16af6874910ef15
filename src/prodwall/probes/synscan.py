"""TCP SYN sweep over raw sockets: a streaming sender and an independent receiver.

The sender walks a pseudo-random permutation of (target, port) so no single
host is hammered, writes pre-built SYNs (only port, cookie and checksum
change), and retransmits whatever stayed silent. The receiver runs in its own
process on an AF_PACKET socket whose BPF filter drops our own outgoing
packets in the kernel, and records answers in shared, compact arrays (a byte
of status per probe, no Python object per probe).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import math
import mmap
import multiprocessing as mp
import os
import random
import secrets
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import linkpath, mmsg
from .codec import CLOSED, ICMP, OPEN, SILENT, TCP, Codec, Template
from .mmsg import BATCH as CHUNK  # probes per chunk: one sendmmsg call
from .sweepstate import (
    LOCAL_FILTER,
    NO_ROUTE,
    OVERFLOW,
    Block,
    ClassKey,
    Findings,
    Layout,
    Recorder,
    class_statuses,
)
from .wire import cookie, source_address

__all__ = [
    "CLOSED",
    "ICMP",
    "LOCAL_FILTER",
    "NO_ROUTE",
    "OPEN",
    "SILENT",
    "Block",
    "Layout",
    "Recorder",
    "SweepResult",
    "sweep",
]
# the vantage's routing table refused (no route, unreachable, blackhole, prohibit)
_NO_ROUTE_ERRORS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EINVAL})
# its packet filter refused (nftables/iptables drop or reject in output, an IPsec policy):
# evidence about this host only, never about the network
_FILTER_ERRORS = frozenset({errno.EPERM})
STATUS_NAMES = {
    SILENT: "silent",
    OPEN: "open",
    CLOSED: "closed",
    ICMP: "filtered-icmp",
    NO_ROUTE: "no-route",
    LOCAL_FILTER: "local-filter",
}
PACKET_OUTGOING = 4
SKF_AD_PKTTYPE = -0x1000 + 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_QDISC_BYPASS = 263, 20

Progress = Callable[[str], None]
PACKET_STATISTICS = 6


class RawSocketsUnavailable(Exception):
    """No CAP_NET_RAW here: the caller falls back to TCP connect()."""


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
    recovery: Recovery = field(default_factory=lambda: Recovery(0, 0, 0, 0.0))

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


def raw_available() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
        return True
    except PermissionError:
        return False


def _bpf_inbound_only(sock: socket.socket) -> None:
    # ld [pkttype]; jeq #OUTGOING, drop; ret #65535; drop: ret #0
    prog = [
        (0x20, 0, 0, SKF_AD_PKTTYPE & 0xFFFFFFFF),
        (0x15, 1, 0, PACKET_OUTGOING),
        (0x06, 0, 0, 0xFFFF),
        (0x06, 0, 0, 0),
    ]
    insns = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(insns)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# Send lanes: a lane is one socket and one packet size. The kernel's IP path (raw IP
# sockets, bare transport segments) or a packet socket (whole Ethernet frames).
KERNEL4, KERNEL6, FRAME4, FRAME6 = 0, 1, 2, 3
LANE_AT = (0, 0, 34, 54)  # where the transport header starts in a lane's packet


def lane_sizes(segment: int) -> tuple[int, int, int, int]:
    return segment, segment, 14 + 20 + segment, 14 + 40 + segment


LANE_SIZE = lane_sizes(TCP.size)


class PacketNet(Protocol):
    """Where SYNs go and answers come from: raw sockets, or a fake in unit tests."""

    def start(self, recorder: Recorder) -> None: ...

    def framing(self, first_syns: list[bytes]) -> tuple[list[bytes], int]:
        """Per block: Ethernet + IP header if its SYNs may go out as frames, else b"";
        and how many packets that took. `first_syns` holds each block's first probe (a
        packet socket needs the next hop's MAC; sending a real probe resolves it)."""
        ...

    def send(
        self,
        lane: int,
        packets: npt.NDArray[np.uint8],
        blocks: npt.NDArray[np.intp],
        indexes: npt.NDArray[np.int64],
    ) -> list[tuple[int, int]]:
        """Send packets of one lane (one row each) to their blocks' targets; return
        (probe index, errno) of the packets the vantage's kernel refused."""
        ...

    def source(self, dst: str) -> str: ...

    def host_evidence(self) -> tuple[str, dict[str, str]]:
        """The vantage's own filter, and what its kernel path did with one SYN per target."""
        ...

    def stop(self) -> Findings: ...


class RawNet:
    """Raw sockets to send; an AF_PACKET receiver in its own process (the other core)."""

    def __init__(self, codec: Codec = TCP) -> None:
        if not raw_available():
            raise RawSocketsUnavailable("raw sockets need CAP_NET_RAW")
        self.codec = codec
        self.sizes = lane_sizes(codec.size)
        ctx = mp.get_context("fork")
        self.ready, self.halt = ctx.Event(), ctx.Event()
        self.parent_conn, self.child_conn = ctx.Pipe(duplex=False)
        self.ctx = ctx
        self.proc: Any = None
        self.socks: list[socket.socket] = []
        self.filter = linkpath.LocalFilter("", False)
        self.kernel_path: dict[str, str] = {}

    def start(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.targets = [b.target for b in recorder.layout.blocks]
        # per lane, per block: the destination address of its packets (None: not this lane)
        self.names: list[list[Any]] = [[None] * len(self.targets) for _ in self.sizes]
        for b, t in enumerate(self.targets):
            self.names[KERNEL6 if ":" in t else KERNEL4][b] = mmsg.sockaddr(t)
        self.reopen()
        self.proc = self.ctx.Process(
            target=_receive, daemon=True, args=(self.ready, self.halt, self.child_conn, recorder)
        )
        self.proc.start()
        if not self.ready.wait(10):
            self.proc.kill()
            raise RuntimeError("the packet receiver did not start")

    def framing(self, first_syns: list[bytes]) -> tuple[list[bytes], int]:
        """Frames to the next hop wherever the route is Ethernet: the network is tested,
        not the vantage's own filter (a host beside it without that filter is not
        protected by it). The filter is host evidence: where one exists, one SYN per
        target goes through the kernel, and what the kernel did is recorded. With an
        IPsec policy the kernel's path stays (frames would skip the tunnel)."""
        headers, primed = [b""] * len(self.targets), 0
        self.filter = linkpath.local_filter()
        if self.filter.ipsec:
            return headers, primed
        routes = linkpath.routes(sorted(set(self.targets)))
        links = {dev: linkpath.ethernet(dev) for dev in {r.dev for r in routes.values() if r}}
        macs: dict[tuple[str, str], bytes | None] = {}
        for r in routes.values():
            if r is not None and links.get(r.dev) is not None:
                macs[(r.dev, r.next_hop)] = linkpath.neighbour(r.dev, r.next_hop)
        unresolved = {key for key, mac in macs.items() if mac is None}
        for b, t in enumerate(self.targets):
            r = routes[t]
            key = (r.dev, r.next_hop) if r is not None else None
            if self.filter.none and key not in unresolved:
                continue
            # a real probe through the kernel: it resolves the next hop's MAC, and where the
            # vantage filters, what its kernel did with it is host evidence
            lane = KERNEL6 if ":" in t else KERNEL4
            row = np.frombuffer(first_syns[b], np.uint8).reshape(1, -1)
            refused = self.send(lane, row, np.array([b], np.intp), np.array([-1], np.int64))
            primed += 1
            if not self.filter.none:
                err = refused[0][1] if refused else 0
                code = errno.errorcode.get(err, str(err))
                self.kernel_path[t] = f"refused ({code})" if err else "sent"
            if key in unresolved and not refused:
                unresolved.discard(key)
        for dev, hop in unresolved:  # the filter refused the probe: ask the next hop itself
            linkpath.nudge(dev, hop)
        deadline = time.monotonic() + 1.5  # a lost solicitation is repeated after 1 s
        while time.monotonic() < deadline and None in macs.values():
            time.sleep(0.01)
            for key, mac in macs.items():
                if mac is None:
                    macs[key] = linkpath.neighbour(*key)
        for b, t in enumerate(self.targets):
            r = routes[t]
            link = links.get(r.dev) if r is not None else None
            mac = macs.get((r.dev, r.next_hop)) if r is not None else None
            if r is None or link is None or mac is None:
                continue  # the kernel's path for this target
            ifindex, own = link
            headers[b] = linkpath.frame_header(
                self.source(t), t, own, mac, self.codec.proto(":" in t), self.codec.size
            )
            lane = FRAME6 if ":" in t else FRAME4
            ethertype = linkpath.ETH_P_IPV6 if ":" in t else linkpath.ETH_P_IP
            name = linkpath.sockaddr_ll(ifindex, ethertype, mac)
            self.names[lane][b] = ctypes.create_string_buffer(name, len(name))
        self._batch()  # batchers that know the frame lanes' destinations
        return headers, primed

    def host_evidence(self) -> tuple[str, dict[str, str]]:
        return self.filter.describe(), dict(self.kernel_path)

    def reopen(self) -> None:
        """Fresh sockets (also for each forked sender: two processes on one socket
        serialise on its lock, and the second core would add nothing)."""
        for s in self.socks:
            s.close()
        self.socks = [
            socket.socket(socket.AF_INET, socket.SOCK_RAW, self.codec.proto(False)),
            socket.socket(socket.AF_INET6, socket.SOCK_RAW, self.codec.proto(True)),
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0),  # protocol 0: receives nothing
        ]
        for s in self.socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # we never read these
        # straight to the driver: no qdisc, and no copy for packet taps (as masscan does)
        self.socks[2].setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        self._batch()

    def _batch(self) -> None:
        """A batcher per lane, on that lane's socket, knowing its destinations."""
        self.batchers = [
            mmsg.Batcher(self.socks[min(lane, 2)], size, self.names[lane])
            for lane, size in enumerate(self.sizes)
        ]

    def send(
        self,
        lane: int,
        packets: npt.NDArray[np.uint8],
        blocks: npt.NDArray[np.intp],
        indexes: npt.NDArray[np.int64],
    ) -> list[tuple[int, int]]:
        return self.batchers[lane].send(packets, blocks, indexes)

    def source(self, dst: str) -> str:
        return source_address(dst)

    def stop(self) -> Findings:
        for s in self.socks:
            s.close()
        self.halt.set()
        # no word from the receiver: every answer is unaccounted for, and the sweep says so
        found = self.parent_conn.recv() if self.parent_conn.poll(15) else ({}, {}, [], -1)
        if self.proc is not None:
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
        return found  # type: ignore[no-any-return]


def _inbound_sockets(buffer: int = 64 << 20) -> list[socket.socket]:
    """AF_PACKET sockets that see inbound IPv4 (0x0800) and IPv6 (0x86DD) only.

    Bound to those ethertypes rather than ETH_P_ALL: an ETH_P_ALL socket is a
    tap on the transmit path too, and the kernel clones every packet we send for
    it (measured: a third of the sender's throughput). The BPF filter is kept for
    loopback, where our own packets come back in as received ones."""
    socks = []
    for proto in (0x0800, 0x86DD):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
        _bpf_inbound_only(sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, buffer)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def _receive(ready: Any, halt: Any, conn: Any, recorder: Recorder) -> None:
    with contextlib.suppress(OSError):  # answers first: a starved receiver loses them
        os.nice(-10)
    socks = _inbound_sockets()
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN)
    by_fd = {sock.fileno(): sock for sock in socks}
    buf = bytearray(2048)
    ready.set()
    counted = time.monotonic()
    while True:
        events = poller.poll(50)
        if not events and halt.is_set():
            break
        for fd, _ in events:
            while True:  # drain: answers come in bursts
                try:
                    n = by_fd[fd].recv_into(buf)
                except BlockingIOError:
                    break
                recorder.record(bytes(buf[:n]))
        if time.monotonic() - counted >= 0.05:
            counted = time.monotonic()
            recorder.drop_count[0] += _dropped(socks)
    recorder.drop_count[0] += _dropped(socks)
    for sock in socks:
        sock.close()
    conn.send(recorder.findings())
    conn.close()


def _dropped(socks: list[socket.socket]) -> int:
    """Packets the kernel dropped for want of room in these sockets since the last call
    (tpacket_stats: packets seen, dropped; reading resets them)."""
    total = 0
    for sock in socks:
        _seen, dropped = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        total += dropped
    return total


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
SLOWEST = 8  # a lossy receiver slows a sender to 1/8 of its rate at the most
SLOWDOWN_EVERY = 0.5  # s: at most one halving per half second (drops are counted every 50 ms)
DROP_COUNT_LAG = 0.1  # the receiver publishes its drop count every 50 ms
RECOVERY_ROUNDS = 3
RECOVERY_BUDGET = 30.0  # s: a round that would take longer is not started (and said so)


@dataclass(frozen=True)
class Recovery:
    """Re-probing of silent probes after the receiver lost answers: rounds run, probes
    sent, answers lost in the last round (0: every silence is proven), its rate."""

    rounds: int
    sent: int
    lost_in_last_round: int
    rate: float


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
    return Recovery(rounds, sent, lost, rate if rounds else 0.0)


def _retry_window(wait: float, fixed: float | None, slowest: float) -> float:
    if fixed is not None:
        return min(fixed, wait)
    if slowest <= 0:
        return wait  # nothing answered: no measured round trip to size a window on
    return min(wait, max(MIN_RETRY_WAIT, 4 * slowest))


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

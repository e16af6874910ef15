"""TCP SYN sweep over raw sockets: a streaming sender and an independent receiver.

The sender walks a pseudo-random permutation of (target, port) so no single
host is hammered, writes pre-built SYNs (only port, cookie and checksum
change), and retransmits whatever stayed silent. The receiver runs in its own
process on an AF_PACKET socket whose BPF filter drops our own outgoing
packets in the kernel, and records answers in shared, compact arrays (a byte
of status per probe, no Python object per probe).
"""

from __future__ import annotations

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
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import mmsg
from .wire import GOLDEN, SynTemplate, parse, source_address, uncookie

SILENT, OPEN, CLOSED, ICMP, NO_ROUTE = 0, 1, 2, 3, 4
_LOCAL_REFUSALS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EINVAL, errno.EPERM}
)
STATUS_NAMES = {
    SILENT: "silent",
    OPEN: "open",
    CLOSED: "closed",
    ICMP: "filtered-icmp",
    NO_ROUTE: "no-route",
}
PACKET_OUTGOING = 4
SKF_AD_PKTTYPE = -0x1000 + 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33

Progress = Callable[[str], None]


class RawSocketsUnavailable(Exception):
    """No CAP_NET_RAW here: the caller falls back to TCP connect()."""


@dataclass(frozen=True)
class Block:
    """One target address and the ports to probe on it (sorted, unique)."""

    target: str
    ports: list[int]


class _Layout:
    """Probe index <-> (block, port): blocks laid end to end in one index space."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.offsets: list[int] = []
        total = 0
        for blk in blocks:
            self.offsets.append(total)
            total += len(blk.ports)
        self.total = total
        self.by_target = {blk.target: i for i, blk in enumerate(blocks)}
        # contiguous port lists (the usual 1-65535) need no lookup table
        self.lo = [
            blk.ports[0] if blk.ports and blk.ports[-1] - blk.ports[0] + 1 == len(blk.ports) else -1
            for blk in blocks
        ]
        self.maps = [
            None if self.lo[i] >= 0 else {p: j for j, p in enumerate(blk.ports)}
            for i, blk in enumerate(blocks)
        ]

    def locate(self, target: str, port: int) -> int:
        b = self.by_target.get(target)
        if b is None:
            return -1
        lo = self.lo[b]
        if lo >= 0:
            j = port - lo
            return self.offsets[b] + j if 0 <= j < len(self.blocks[b].ports) else -1
        m = self.maps[b]
        j = m.get(port, -1) if m is not None else -1
        return self.offsets[b] + j if j >= 0 else -1


@dataclass
class SweepResult:
    blocks: list[Block]
    offsets: list[int]
    status: bytes  # per probe: blocks laid end to end
    responder: array[int]  # per probe: index into responders (0xFFFF: none)
    ttl: bytes
    responders: list[tuple[str, int, int]]  # (address, icmp type, icmp code)
    sent: int
    retransmitted: int
    seconds: float
    answers_pcap: list[bytes] = field(default_factory=list)  # raw IP packets of answers


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


class Recorder:
    """Matches answers to probes and records them in compact shared arrays."""

    def __init__(self, blocks: list[Block], secret: int, sport: int, pcap_limit: int) -> None:
        self.layout = _Layout(blocks)
        self.secret, self.sport, self.pcap_limit = secret, sport, pcap_limit
        size = max(self.layout.total, 1)
        self.status, self.ttl = mmap.mmap(-1, size), mmap.mmap(-1, size)
        self.responder = mmap.mmap(-1, size * 2)
        self.responder[:] = b"\xff" * (size * 2)
        self.responders: dict[tuple[str, int, int], int] = {}
        self.pcap: list[bytes] = []

    def record(self, packet: bytes) -> bool:
        ans = parse(packet, self.sport)
        if ans is None:
            return False
        idx = self.layout.locate(ans.target, ans.port)
        if idx < 0 or uncookie(ans.seq, self.secret) != idx:
            return False  # not our probe (stale, forged or from another run)
        new = {"synack": OPEN, "rst": CLOSED, "icmp": ICMP}[ans.kind]
        if self.status[idx] in (OPEN, CLOSED) and new == ICMP:
            return True  # an answer from the host outranks an ICMP error
        self.status[idx] = new
        self.ttl[idx] = ans.ttl
        rid = self.responders.setdefault(
            (ans.responder, ans.icmp_type, ans.icmp_code), len(self.responders)
        )
        struct.pack_into("H", self.responder, idx * 2, min(rid, 0xFFFE))
        limit = self.pcap_limit if new != ICMP else self.pcap_limit // 10
        if len(self.pcap) < limit:  # answers first, then a sample of refusals
            self.pcap.append(packet)
        return True

    def findings(self) -> tuple[list[tuple[str, int, int]], list[bytes]]:
        return sorted(self.responders, key=self.responders.__getitem__), self.pcap


class PacketNet(Protocol):
    """Where SYNs go and answers come from: raw sockets, or a fake in unit tests."""

    def start(self, recorder: Recorder) -> None: ...

    def send(
        self,
        segments: npt.NDArray[np.uint8],
        blocks: npt.NDArray[np.intp],
        indexes: npt.NDArray[np.int64],
    ) -> list[tuple[int, int]]:
        """Send TCP segments (one row each) to their blocks' targets, all of one address
        family; return (probe index, errno) of the packets the vantage's kernel refused."""
        ...

    def source(self, dst: str) -> str: ...

    def stop(self) -> tuple[list[tuple[str, int, int]], list[bytes]]: ...


class RawNet:
    """Raw sockets to send; an AF_PACKET receiver in its own process (the other core)."""

    def __init__(self) -> None:
        if not raw_available():
            raise RawSocketsUnavailable("raw sockets need CAP_NET_RAW")
        ctx = mp.get_context("fork")
        self.ready, self.halt = ctx.Event(), ctx.Event()
        self.parent_conn, self.child_conn = ctx.Pipe(duplex=False)
        self.ctx = ctx
        self.proc: Any = None
        self.socks: dict[int, socket.socket] = {}

    def start(self, recorder: Recorder) -> None:
        self.recorder = recorder
        targets = [b.target for b in recorder.layout.blocks]
        self.names = {
            v: [mmsg.sockaddr(t) if (":" in t) == (v == 6) else None for t in targets]
            for v in (4, 6)
        }
        self.family = np.array([6 if ":" in t else 4 for t in targets], np.uint8)
        self.reopen()
        self.proc = self.ctx.Process(
            target=_receive, daemon=True, args=(self.ready, self.halt, self.child_conn, recorder)
        )
        self.proc.start()
        if not self.ready.wait(10):
            self.proc.kill()
            raise RuntimeError("the packet receiver did not start")

    def reopen(self) -> None:
        """Fresh sockets (also for each forked sender: two processes on one socket
        serialise on its lock, and the second core would add nothing)."""
        for s in self.socks.values():
            s.close()
        self.socks = {
            4: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
            6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
        }
        for s in self.socks.values():
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # we never read these
        self.batchers = {
            v: mmsg.Batcher(s, SynTemplate.SIZE, self.names[v]) for v, s in self.socks.items()
        }

    def send(
        self,
        segments: npt.NDArray[np.uint8],
        blocks: npt.NDArray[np.intp],
        indexes: npt.NDArray[np.int64],
    ) -> list[tuple[int, int]]:
        version = int(self.family[blocks[0]])
        return self.batchers[version].send(segments, blocks, indexes)

    def source(self, dst: str) -> str:
        return source_address(dst)

    def stop(self) -> tuple[list[tuple[str, int, int]], list[bytes]]:
        for s in self.socks.values():
            s.close()
        self.halt.set()
        found = self.parent_conn.recv() if self.parent_conn.poll(15) else ([], [])
        if self.proc is not None:
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
        return found  # type: ignore[no-any-return]


def inbound_sockets(
    buffer: int = 64 << 20, protocols: tuple[int, ...] = (0x0800, 0x86DD)
) -> list[socket.socket]:
    """AF_PACKET sockets that see inbound IPv4 (0x0800) and IPv6 (0x86DD) only.

    Bound to those ethertypes rather than ETH_P_ALL: an ETH_P_ALL socket is a
    tap on the transmit path too, and the kernel clones every packet we send for
    it (measured: a third of the sender's throughput). The BPF filter is kept for
    loopback, where our own packets come back in as received ones."""
    socks = []
    for proto in protocols:
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
    socks = inbound_sockets()
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN)
    by_fd = {sock.fileno(): sock for sock in socks}
    buf = bytearray(2048)
    ready.set()
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
    for sock in socks:
        sock.close()
    conn.send(recorder.findings())
    conn.close()


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
) -> SweepResult:
    """SYN-probe every (target, port) of every block; retransmit silent ones `retries` times.

    Retransmission is pipelined: each sender walks its chunks of the probe order
    again right after its first pass, skipping what has been answered, and
    resends a chunk only once `wait` has passed since that chunk was last sent.
    A silent probe thus still gets its full answer window, without a pause for
    the whole sweep between passes.
    """
    if workers is None:  # a fake network lives in this process: one sender only
        workers = 1 if net is not None else max(1, min(2, os.cpu_count() or 1))
    net = net if net is not None else RawNet()
    rng = random.Random(seed)  # noqa: S311 - probe order only; the cookie secret is below
    secret = secrets.randbits(32)  # unpredictable, so a forged answer cannot match a probe
    sport = rng.randrange(40000, 60000)
    recorder = Recorder(blocks, secret, sport, pcap_limit)
    total = recorder.layout.total
    net.start(recorder)
    started = time.monotonic()
    counters = mmap.mmap(-1, 16 * workers)  # per sender: packets sent, retransmitted
    try:
        templates = [SynTemplate(net.source(b.target), b.target, sport) for b in blocks]
        job = _SendJob.build(recorder, templates, secret, _walk(total, rng), rate / workers)
        children = [
            _fork_sender(job, net, w, workers, retries, wait, counters) for w in range(1, workers)
        ]
        _send(job, net, 0, workers, retries, wait, counters, progress)
        failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
        if failed:
            raise RuntimeError(f"a sender process failed (pids {failed})")
        time.sleep(wait)  # the answer window of the last packets sent
    finally:
        responders, pcap = net.stop()
    sent_retx = np.frombuffer(counters, np.int64).reshape(workers, 2).sum(axis=0)
    seconds = time.monotonic() - started
    return SweepResult(
        blocks,
        recorder.layout.offsets,
        bytes(recorder.status[:total]),
        array("H", bytes(recorder.responder[: total * 2])),
        bytes(recorder.ttl[:total]),
        responders,
        int(sent_retx[0]),
        int(sent_retx[1]),
        seconds,
        pcap,
    )


def _walk(total: int, rng: random.Random) -> tuple[int, int]:
    """A full-coverage pseudo-random walk, k -> (k * stride + offset) mod total, computed on
    the fly (no list of a million indices); the senders take turns over its chunks."""
    if total <= 1:
        return 1, 0
    stride = rng.randrange(total // 3 + 1, total) | 1
    while math.gcd(stride, total) != 1:
        stride += 2
    return stride, rng.randrange(total)


_SEGMENT = np.dtype(
    [
        ("sport", ">u2"),
        ("dport", ">u2"),
        ("seq", ">u4"),
        ("rest", "V8"),
        ("sum", ">u2"),
        ("tail", "V6"),
    ]
)  # a 24-byte SYN (header + MSS option) as numpy sees it: only dport, seq and sum vary


@dataclass(frozen=True)
class _SendJob:
    """What every sender needs, as arrays: probe index -> block, port, segment."""

    offsets: npt.NDArray[np.int64]  # first probe index of each block
    ports: npt.NDArray[np.uint16]  # probe index -> port: 2 bytes a probe
    family: npt.NDArray[np.uint8]  # block -> 4 or 6
    segments: npt.NDArray[np.uint8]  # block -> its SYN template
    bases: npt.NDArray[np.int64]  # block -> checksum of the template's fixed part
    status: npt.NDArray[np.uint8]  # shared with the receiver
    secret: int
    stride: int
    offset: int
    total: int
    rate: float  # per sender

    @classmethod
    def build(
        cls,
        recorder: Recorder,
        templates: list[SynTemplate],
        secret: int,
        walk: tuple[int, int],
        rate: float,
    ) -> _SendJob:
        layout = recorder.layout
        ports = np.concatenate(
            [np.asarray(b.ports, np.uint16) for b in layout.blocks] or [np.zeros(0, np.uint16)]
        )
        return cls(
            offsets=np.asarray(layout.offsets, np.int64),
            ports=ports,
            family=np.array([6 if ":" in b.target else 4 for b in layout.blocks], np.uint8),
            segments=np.array([np.frombuffer(t.packet, np.uint8) for t in templates], np.uint8),
            bases=np.array([t.base for t in templates], np.int64),
            status=np.frombuffer(recorder.status, np.uint8),
            secret=secret,
            stride=walk[0],
            offset=walk[1],
            total=layout.total,
            rate=rate,
        )

    def chunk(self, number: int) -> npt.NDArray[np.int64]:
        """The probe indices of one chunk of the pseudo-random walk."""
        ks = np.arange(number * CHUNK, min((number + 1) * CHUNK, self.total), dtype=np.int64)
        return (ks * self.stride + self.offset) % self.total

    def segments_for(
        self, idx: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp]]:
        """SYN segments for these probes: template, port, cookie, checksum, all vectorised."""
        blk = np.searchsorted(self.offsets, idx, side="right") - 1
        port = self.ports[idx].astype(np.int64)
        seq = (idx.astype(np.uint32) * np.uint32(GOLDEN)) ^ np.uint32(self.secret)
        c = self.bases[blk] + port + (seq >> 16) + (seq & 0xFFFF)
        c = (c & 0xFFFF) + (c >> 16)
        c = (c & 0xFFFF) + (c >> 16)
        seg = self.segments[blk]
        fields = seg.view(_SEGMENT).reshape(len(idx))
        fields["dport"] = port
        fields["seq"] = seq
        fields["sum"] = ~c & 0xFFFF
        return seg, blk


CHUNK = mmsg.BATCH


def _fork_sender(
    job: _SendJob,
    net: PacketNet,
    worker: int,
    workers: int,
    retries: int,
    wait: float,
    counters: mmap.mmap,
) -> int:
    """A second sender on the other core: the kernel's send path runs in the sender's own
    context, so two senders move about twice the packets. Status is shared memory."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's work shows in the parent's results
        code = 0
        try:
            reopen = getattr(net, "reopen", None)
            if reopen is not None:
                reopen()
            _send(job, net, worker, workers, retries, wait, counters, None)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _send(
    job: _SendJob,
    net: PacketNet,
    worker: int,
    workers: int,
    retries: int,
    wait: float,
    counters: mmap.mmap,
    progress: Progress | None,
) -> None:
    """One sender: its share of the chunks, then (pipelined) their silent probes again.

    Per chunk the interpreter does a fixed number of numpy operations, none per packet."""
    mine = range(worker, (job.total + CHUNK - 1) // CHUNK, workers)
    count = np.frombuffer(counters, np.int64).reshape(workers, 2)
    last_sent = dict.fromkeys(mine, 0.0)
    status = job.status
    begin = last_report = time.monotonic()
    n = 0
    for attempt in range(retries + 1):
        for number in mine:
            idx = job.chunk(number)
            if attempt:
                due = last_sent[number] + wait  # this chunk's answer window
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                idx = idx[status[idx] == SILENT]
                if not len(idx):
                    continue
            segs, blk = job.segments_for(idx)
            six = job.family[blk] == 6
            for part in (~six, six) if six.any() else (slice(None),):
                if isinstance(part, np.ndarray) and not part.any():
                    continue
                for index, err in net.send(segs[part], blk[part], idx[part]):
                    # the vantage's own kernel refused to send (no route, blackhole,
                    # prohibit): positive evidence; other errors leave the probe silent
                    if err in _LOCAL_REFUSALS:
                        status[index] = NO_ROUTE
            last_sent[number] = time.monotonic()
            n += len(idx)
            count[worker, 0] += len(idx)
            if attempt:
                count[worker, 1] += len(idx)
            ahead = n / job.rate - (time.monotonic() - begin)
            if ahead > 0:
                time.sleep(ahead)
            now = time.monotonic()
            if progress is not None and now - last_report >= 1.0:
                last_report = now
                sent = int(count[:, 0].sum())
                answered = job.total - int(np.count_nonzero(status[: job.total] == SILENT))
                progress(
                    f"tcp: sent {sent:,} ({job.total:,} probes), answered {answered:,}, "
                    f"{sent / (now - begin):,.0f} pkt/s"
                )

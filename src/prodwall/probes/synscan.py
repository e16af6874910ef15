"""TCP SYN sweep over raw sockets: a streaming sender and an independent receiver.

The sender walks a pseudo-random permutation of (target, port) so no single
host is hammered, writes pre-built SYNs (only port, cookie and checksum
change), and retransmits whatever stayed silent. The receiver runs in its own
process on an AF_PACKET socket whose BPF filter drops our own outgoing
packets in the kernel, and records answers in shared, compact arrays (a byte
of status per probe, no Python object per probe).
"""

from __future__ import annotations

import bisect
import ctypes
import errno
import math
import mmap
import multiprocessing as mp
import os
import random
import secrets
import socket
import struct
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import mmsg
from .wire import GOLDEN, MASK32, SynTemplate, parse, source_address, uncookie

SILENT, OPEN, CLOSED, ICMP, NO_ROUTE = 0, 1, 2, 3, 4
_LOCAL_REFUSALS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EINVAL, errno.EPERM}
)
_HEAD, _SUM = struct.Struct("!HI"), struct.Struct("!H")
STATUS_NAMES = {
    SILENT: "silent",
    OPEN: "open",
    CLOSED: "closed",
    ICMP: "filtered-icmp",
    NO_ROUTE: "no-route",
}
ETH_P_ALL = 0x0003
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

    def send(self, packet: bytearray, dest: tuple[str, int], index: int) -> None: ...

    def flush(self) -> None: ...

    def source(self, dst: str) -> str: ...

    def stop(self) -> tuple[list[tuple[str, int, int]], list[bytes]]: ...


class RawNet:
    """Raw sockets to send; an AF_PACKET receiver in its own process (the other core)."""

    def __init__(self) -> None:
        if not raw_available():
            raise RawSocketsUnavailable("raw sockets need CAP_NET_RAW")
        self.socks = {
            4: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
            6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
        }
        for s in self.socks.values():
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # we never read these
        ctx = mp.get_context("fork")
        self.ready, self.halt = ctx.Event(), ctx.Event()
        self.parent_conn, self.child_conn = ctx.Pipe(duplex=False)
        self.ctx = ctx
        self.proc: Any = None

    def start(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.batchers = {v: mmsg.Batcher(s, 24) for v, s in self.socks.items()}
        self.names: dict[str, Any] = {}
        self.proc = self.ctx.Process(
            target=_receive, daemon=True, args=(self.ready, self.halt, self.child_conn, recorder)
        )
        self.proc.start()
        if not self.ready.wait(10):
            self.proc.kill()
            raise RuntimeError("the packet receiver did not start")

    def reopen(self) -> None:
        """Fresh sockets for a forked sender: two processes on one socket serialise on its
        lock, and the second core would add nothing."""
        self.socks = {
            4: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
            6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
        }
        for s in self.socks.values():
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.batchers = {v: mmsg.Batcher(s, 24) for v, s in self.socks.items()}

    def send(self, packet: bytearray, dest: tuple[str, int], index: int) -> None:
        name = self.names.get(dest[0])
        if name is None:
            name = self.names[dest[0]] = mmsg.sockaddr(dest[0])
        self._refused(self.batchers[6 if ":" in dest[0] else 4].add(packet, name, index))

    def flush(self) -> None:
        for batcher in self.batchers.values():
            self._refused(batcher.flush())

    def _refused(self, failed: list[tuple[int, int]]) -> None:
        for index, err in failed:
            if err in _LOCAL_REFUSALS:
                self.recorder.status[index] = NO_ROUTE

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


def _receive(ready: Any, halt: Any, conn: Any, recorder: Recorder) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    _bpf_inbound_only(sock)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.settimeout(0.05)
    buf = bytearray(2048)
    ready.set()
    while True:
        try:
            n = sock.recv_into(buf)
        except TimeoutError:
            if halt.is_set():
                break
            continue
        recorder.record(bytes(buf[:n]))
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
    """SYN-probe every (target, port) of every block; retransmit silent ones `retries` times."""
    if workers is None:  # a fake network lives in this process: one sender only
        workers = 1 if net is not None else max(1, min(2, os.cpu_count() or 1))
    net = net if net is not None else RawNet()
    rng = random.Random(seed)  # noqa: S311 - probe order only; the cookie secret is below
    secret = secrets.randbits(32)  # unpredictable, so a forged answer cannot match a probe
    sport = rng.randrange(40000, 60000)
    recorder = Recorder(blocks, secret, sport, pcap_limit)
    layout, status, total = recorder.layout, recorder.status, recorder.layout.total
    net.start(recorder)
    started = time.monotonic()
    sent = retransmitted = 0
    try:
        templates = [SynTemplate(net.source(b.target), b.target, sport) for b in blocks]
        dests = [(b.target, 0) for b in blocks]
        stride, offset = _walk(total, rng)
        for attempt in range(retries + 1):
            if attempt == 0:
                shares: list[Iterable[int]] = [
                    ((k * stride + offset) % total for k in range(w, total, workers))
                    for w in range(workers)
                ]
                count = total
            else:
                # 4 bytes per silent probe, walked in a fresh pseudo-random order: no list of
                # Python ints (a million of those cost ~40 MB, per forked sender)
                silent = _silent(status, total)
                count = len(silent)
                s_stride, s_offset = _walk(count, rng)
                shares = [
                    (silent[(k * s_stride + s_offset) % count] for k in range(w, count, workers))
                    for w in range(workers)
                ]
                retransmitted += count
            args = (layout, templates, dests, net, secret, rate / workers)
            children = [_fork_sender(shares[w], *args, status, total) for w in range(1, workers)]
            _send(shares[0], *args, progress, status, sent, total, workers)
            for pid in children:
                os.waitpid(pid, 0)
            sent += count
            time.sleep(wait)
            if not _silent(status, total):
                break
    finally:
        responders, pcap = net.stop()
    seconds = time.monotonic() - started
    return SweepResult(
        blocks,
        layout.offsets,
        bytes(status[:total]),
        array("H", bytes(recorder.responder[: total * 2])),
        bytes(recorder.ttl[:total]),
        responders,
        sent,
        retransmitted,
        seconds,
        pcap,
    )


def _walk(total: int, rng: random.Random) -> tuple[int, int]:
    """A full-coverage pseudo-random walk, k -> (k * stride + offset) mod total, computed on
    the fly (no list of a million indices); each sender takes every n-th step of it."""
    if total <= 1:
        return 1, 0
    stride = rng.randrange(total // 3 + 1, total) | 1
    while math.gcd(stride, total) != 1:
        stride += 2
    return stride, rng.randrange(total)


def _fork_sender(
    share: Iterable[int],
    layout: _Layout,
    templates: list[SynTemplate],
    dests: list[tuple[str, int]],
    net: PacketNet,
    secret: int,
    rate: float,
    status: mmap.mmap,
    total: int,
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
            _send(share, layout, templates, dests, net, secret, rate, None, status, 0, total, 1)
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _silent(status: mmap.mmap, total: int) -> array[int]:
    out: array[int] = array("I")
    pos = status.find(b"\0", 0, total)
    while pos != -1:
        out.append(pos)
        pos = status.find(b"\0", pos + 1, total)
    return out


def _send(
    order: Iterable[int],
    layout: _Layout,
    templates: list[SynTemplate],
    dests: list[tuple[str, int]],
    net: PacketNet,
    secret: int,
    rate: float,
    progress: Progress | None,
    status: mmap.mmap,
    already: int,
    total: int,
    workers: int = 1,
) -> int:
    """The hot loop: no scapy, no allocation per packet; the cookie and the checksum are
    a few integer operations on a pre-built template."""
    batch = max(1, int(rate / 200))  # re-check the clock 200 times a second
    begin = time.monotonic()
    last_report = begin
    offsets = layout.offsets
    ports_of = [blk.ports for blk in layout.blocks]
    packets = [t.packet for t in templates]
    bases = [t.base for t in templates]
    pack_head, pack_sum = _HEAD.pack_into, _SUM.pack_into
    find_block = bisect.bisect_right
    send = net.send
    n = 0
    for i in order:
        b = find_block(offsets, i) - 1
        port = ports_of[b][i - offsets[b]]
        seq = ((i * GOLDEN) & MASK32) ^ secret  # == wire.cookie(i, secret), inlined
        packet = packets[b]
        pack_head(packet, 2, port, seq)
        c = bases[b] + port + (seq >> 16) + (seq & 0xFFFF)
        c = (c & 0xFFFF) + (c >> 16)
        c = (c & 0xFFFF) + (c >> 16)
        pack_sum(packet, 16, ~c & 0xFFFF)
        try:
            send(packet, dests[b], i)
        except OSError as exc:
            # the vantage's own kernel refused to send (no route, blackhole, prohibit):
            # positive evidence, recorded as such; other errors leave the probe silent
            if exc.errno in _LOCAL_REFUSALS:
                status[i] = NO_ROUTE
        n += 1
        if n % batch == 0:
            ahead = n / rate - (time.monotonic() - begin)
            if ahead > 0:
                time.sleep(ahead)
            now = time.monotonic()
            if progress is not None and now - last_report >= 1.0:
                last_report = now
                answered = total - status[:total].count(b"\0")
                progress(
                    f"tcp: sent {already + n * workers:,} ({total:,} probes), answered "
                    f"{answered:,}, {n * workers / (now - begin):,.0f} pkt/s"
                )
    net.flush()
    return n

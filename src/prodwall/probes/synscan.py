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
import random
import secrets
import socket
import struct
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .wire import SynTemplate, cookie, parse, source_address, uncookie

SILENT, OPEN, CLOSED, ICMP, NO_ROUTE = 0, 1, 2, 3, 4
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


@dataclass
class SweepResult:
    targets: list[str]
    ports: list[int]
    status: bytes  # per probe, index = target * len(ports) + port index
    responder: array[int]  # per probe: index into responders (0xFFFF: none)
    ttl: bytes
    responders: list[tuple[str, int, int]]  # (address, icmp type, icmp code)
    sent: int
    retransmitted: int
    seconds: float
    answers_pcap: list[bytes] = field(default_factory=list)  # raw IP packets of answers

    def index(self, target: int, port_index: int) -> int:
        return target * len(self.ports) + port_index


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


def _receiver(
    ready: Any,
    stop: Any,
    conn: Any,
    status: mmap.mmap,
    responder: mmap.mmap,
    ttl: mmap.mmap,
    targets: list[str],
    port_index: array[int],
    nports: int,
    secret: int,
    sport: int,
    pcap_limit: int,
) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    _bpf_inbound_only(sock)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.settimeout(0.05)
    target_index = {t: i for i, t in enumerate(targets)}
    resp = memoryview(responder).cast("H")
    responders: dict[tuple[str, int, int], int] = {}
    pcap: list[bytes] = []
    buf = bytearray(2048)
    ready.set()
    while True:
        try:
            n = sock.recv_into(buf)
        except TimeoutError:
            if stop.is_set():
                break
            continue
        packet = bytes(buf[:n])
        ans = parse(packet, sport)
        if ans is None:
            continue
        t = target_index.get(ans.target)
        pi = port_index[ans.port] if 0 < ans.port < 65536 else -1
        if t is None or pi < 0:
            continue
        idx = t * nports + pi
        if uncookie(ans.seq, secret) != idx:
            continue  # not our probe (stale, forged or from another run)
        new = {"synack": OPEN, "rst": CLOSED, "icmp": ICMP}[ans.kind]
        old = status[idx]
        if old in (OPEN, CLOSED) and new == ICMP:
            continue  # an answer from the host outranks an ICMP error
        status[idx] = new
        ttl[idx] = ans.ttl
        key = (ans.responder, ans.icmp_type, ans.icmp_code)
        rid = responders.setdefault(key, len(responders))
        resp[idx] = min(rid, 0xFFFE)
        limit = pcap_limit if new != ICMP else pcap_limit // 10  # answers first, some refusals
        if len(pcap) < limit:
            pcap.append(packet)
    sock.close()
    conn.send((sorted(responders, key=responders.__getitem__), pcap))
    conn.close()


def sweep(
    targets: list[str],
    ports: list[int],
    *,
    rate: float,
    retries: int = 1,
    wait: float = 1.0,
    progress: Progress | None = None,
    pcap_limit: int = 2000,
    seed: int | None = None,
) -> SweepResult:
    """SYN-probe every (target, port); retransmit silent probes `retries` times."""
    if not raw_available():
        raise RawSocketsUnavailable("raw sockets need CAP_NET_RAW")
    rng = random.Random(seed)  # noqa: S311 - probe order only; the cookie secret is below
    secret = secrets.randbits(32)  # unpredictable, so a forged answer cannot match a probe
    sport = rng.randrange(40000, 60000)
    nports, total = len(ports), len(targets) * len(ports)
    port_index = array("i", [-1]) * 65536
    for i, p in enumerate(ports):
        port_index[p] = i
    status = mmap.mmap(-1, max(total, 1))
    responder = mmap.mmap(-1, max(total, 1) * 2)
    memoryview(responder).cast("H")[:] = array("H", [0xFFFF]) * total if total else array("H")
    ttl = mmap.mmap(-1, max(total, 1))
    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_receiver,
        daemon=True,
        args=(
            ready,
            stop,
            child_conn,
            status,
            responder,
            ttl,
            targets,
            port_index,
            nports,
            secret,
            sport,
            pcap_limit,
        ),
    )
    proc.start()
    if not ready.wait(10):
        proc.kill()
        raise RuntimeError("the packet receiver did not start")
    started = time.monotonic()
    sent = retransmitted = 0
    try:
        templates = [SynTemplate(source_address(t), t, sport) for t in targets]
        socks = {
            4: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
            6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
        }
        for s in socks.values():
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # we never read these
        dests = [(socks[6 if ":" in t else 4], (t, 0)) for t in targets]
        for attempt in range(retries + 1):
            if attempt == 0:
                order = _permutation(total, rng)
            else:
                order = [i for i in _silent(status, total)]
                rng.shuffle(order)
                retransmitted += len(order)
            sent += _send(
                order,
                templates,
                dests,
                ports,
                nports,
                secret,
                rate,
                progress,
                status,
                started,
                sent,
                total,
            )
            time.sleep(wait)
            if not any(True for _ in _silent(status, total)):
                break
    finally:
        stop.set()
        responders, pcap = parent_conn.recv() if parent_conn.poll(15) else ([], [])
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    seconds = time.monotonic() - started
    return SweepResult(
        targets,
        ports,
        bytes(status[:total]),
        array("H", memoryview(responder).cast("H")[:total]),
        bytes(ttl[:total]),
        responders,
        sent,
        retransmitted,
        seconds,
        pcap,
    )


def _permutation(total: int, rng: random.Random) -> range | list[int]:
    """A full-coverage pseudo-random walk: i -> (i * stride + offset) mod total."""
    if total <= 1:
        return range(total)
    stride = rng.randrange(total // 3 + 1, total) | 1
    while math.gcd(stride, total) != 1:
        stride += 2
    offset = rng.randrange(total)
    return [(i * stride + offset) % total for i in range(total)]


def _silent(status: mmap.mmap, total: int) -> list[int]:
    out, pos = [], status.find(b"\0", 0, total)
    while pos != -1:
        out.append(pos)
        pos = status.find(b"\0", pos + 1, total)
    return out


def _send(
    order: range | list[int],
    templates: list[SynTemplate],
    dests: list,  # type: ignore[type-arg]
    ports: list[int],
    nports: int,
    secret: int,
    rate: float,
    progress: Progress | None,
    status: mmap.mmap,
    started: float,
    already: int,
    total: int,
) -> int:
    batch = max(1, int(rate / 200))  # re-check the clock 200 times a second
    begin = time.monotonic()
    last_report = begin
    n = 0
    for i in order:
        t, pi = divmod(i, nports)
        sock, dest = dests[t]
        try:
            sock.sendto(templates[t].fill(ports[pi], cookie(i, secret)), dest)
        except OSError as exc:
            # the vantage's own kernel refused to send (no route, blackhole, prohibit):
            # positive evidence, recorded as such; other errors leave the probe silent
            if exc.errno in (
                errno.ENETUNREACH,
                errno.EHOSTUNREACH,
                errno.EACCES,
                errno.EINVAL,
                errno.EPERM,
            ):
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
                    f"tcp: sent {already + n:,} (of {total:,} first pass), answered "
                    f"{answered:,}, {n / (now - begin):,.0f} pkt/s"
                )
    return n

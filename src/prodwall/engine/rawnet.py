"""Raw packet I/O for the sweeps: the sending net (raw IP sockets, or Ethernet frames
past the vantage's own filter) and the receiver's inbound-only AF_PACKET sockets,
with their kernel drop counters."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import multiprocessing as mp
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from prodwall.engine import linkpath, mmsg
from prodwall.engine.codec import CLOSED, ICMP, OPEN, SILENT, TCP, Codec
from prodwall.engine.sweepstate import LOCAL_FILTER, NO_ROUTE, Findings, Recorder
from prodwall.engine.wire import source_address

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

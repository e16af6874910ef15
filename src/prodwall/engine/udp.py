"""UDP probes: protocol-aware requests; an answer is open, ICMP port-unreachable closed.

The ICMP error's sender comes from the socket error queue (IP_RECVERR), so a
refusal by the boundary is told apart from one by a production host without
raw sockets. Silence is `open|filtered`.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from dataclasses import dataclass

from prodwall.engine.payloads import payload_for

IP_RECVERR, IPV6_RECVERR = 11, 25
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3


@dataclass(frozen=True)
class UdpResult:
    target: str
    port: int
    status: str  # open | closed | filtered-icmp | open|filtered | no-route | error
    responder: str = ""
    icmp_type: int = -1
    icmp_code: int = -1
    detail: str = ""


MAX_OPEN = 256  # sockets open at once: a socket per probe must not exhaust descriptors


def probe_all(
    pairs: list[tuple[str, int]], *, rate: float = 2000, wait: float = 1.5, retries: int = 1
) -> list[UdpResult]:
    """One connected socket per probe, at most MAX_OPEN at a time (the fallback without
    CAP_NET_RAW, and the protocol-aware requests to well-known ports)."""
    results: dict[tuple[str, int], UdpResult] = {}
    pending = list(pairs)
    for _attempt in range(retries + 1):
        for at in range(0, len(pending), MAX_OPEN):
            results.update(_one_pass(pending[at : at + MAX_OPEN], rate, wait))
        pending = [p for p in pending if results[p].status == "open|filtered"]
        if not pending:
            break
    return [results[p] for p in pairs]


def _one_pass(
    pairs: list[tuple[str, int]], rate: float, wait: float
) -> dict[tuple[str, int], UdpResult]:
    out: dict[tuple[str, int], UdpResult] = {}
    socks: dict[int, tuple[socket.socket, tuple[str, int]]] = {}
    poller = select.poll()
    try:
        for i, (target, port) in enumerate(pairs):
            v6 = ":" in target
            s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            if v6:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            else:
                s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            try:
                s.connect((target, port))
                s.send(payload_for(port))
            except OSError as exc:
                out[(target, port)] = _local_error(target, port, exc)
                s.close()
                continue
            socks[s.fileno()] = (s, (target, port))
            poller.register(s, select.POLLIN | select.POLLERR)
            if rate and (i + 1) % max(1, int(rate / 100)) == 0:
                time.sleep(0.01)
        deadline = time.monotonic() + wait
        while socks and time.monotonic() < deadline:
            for fd, _ev in poller.poll(max(0, int((deadline - time.monotonic()) * 1000))):
                s, key = socks.pop(fd)
                poller.unregister(fd)
                out[key] = read_answer(s, *key)
                s.close()
        for s, (target, port) in socks.values():
            out[(target, port)] = UdpResult(target, port, "open|filtered", detail="no answer")
            s.close()
    finally:
        for s, _ in socks.values():
            s.close()
    return out


def _local_error(target: str, port: int, exc: OSError) -> UdpResult:
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EINVAL):
        return UdpResult(
            target,
            port,
            "no-route",
            detail=f"refused at the vantage ({errno.errorcode.get(exc.errno or 0, exc.errno)})",
        )
    if exc.errno == errno.EPERM:  # the vantage's own packet filter: host evidence only
        return UdpResult(target, port, "local-filter", detail="refused by the vantage's filter")
    return UdpResult(target, port, "error", detail=f"send failed: {exc.strerror}")


def read_answer(s: socket.socket, target: str, port: int) -> UdpResult:
    """What a probe's socket holds: a datagram (open) or an ICMP error from its queue."""
    try:
        data = s.recv(2048)
        return UdpResult(
            target, port, "open", responder=target, detail=f"answered with {len(data)} bytes"
        )
    except OSError:
        pass
    try:
        _data, ancdata, _flags, _addr = s.recvmsg(512, 1024, socket.MSG_ERRQUEUE)
    except OSError as exc:
        return UdpResult(target, port, "error", detail=f"unreadable error ({exc.strerror})")
    for _level, _type, cdata in ancdata:
        if len(cdata) < 16:
            continue
        ee_errno, origin, itype, code = struct.unpack_from("=IBBB", cdata)
        offender = _sockaddr(cdata[16:])
        if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            continue
        closed = (origin == SO_EE_ORIGIN_ICMP and (itype, code) == (3, 3)) or (
            origin == SO_EE_ORIGIN_ICMP6 and (itype, code) == (1, 4)
        )
        return UdpResult(
            target,
            port,
            "closed" if closed else "filtered-icmp",
            offender,
            itype,
            code,
            errno.errorcode.get(ee_errno, str(ee_errno)),
        )
    return UdpResult(target, port, "error", detail="error without ICMP origin")


def _sockaddr(raw: bytes) -> str:
    if len(raw) < 8:
        return ""
    family = struct.unpack_from("=H", raw)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if family == socket.AF_INET6 and len(raw) >= 24:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return ""

"""ICMP and ICMPv6 echo: a reply is reachable; an error names the device that refused."""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time

from prodwall.families.network.records import EchoResult, ProbeStatus


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def echo_all(targets: list[str], *, wait: float = 1.5, retries: int = 1) -> list[EchoResult]:
    results: dict[str, EchoResult] = {}
    pending = list(targets)
    for _ in range(retries + 1):
        results.update(_pass(pending, wait))
        pending = [t for t in pending if results[t].status is ProbeStatus.SILENT]
        if not pending:
            break
    return [results[t] for t in targets]


def _open(v6: bool) -> socket.socket:
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    return socket.socket(family, socket.SOCK_RAW, proto)


def _pass(targets: list[str], wait: float) -> dict[str, EchoResult]:
    ident = os.getpid() & 0xFFFF
    out: dict[str, EchoResult] = {}
    socks = {False: _open(False), True: _open(True)}
    try:
        seqs: dict[int, str] = {}
        for seq, target in enumerate(targets, start=1):
            v6 = ":" in target
            kind = 128 if v6 else 8
            body = struct.pack("!HH", ident, seq) + b"prodwall-echo"
            header = struct.pack("!BBH", kind, 0, 0)
            packet = header + body
            if not v6:  # the kernel computes ICMPv6 checksums itself
                packet = struct.pack("!BBH", kind, 0, _checksum(packet)) + body
            try:
                socks[v6].sendto(packet, (target, 0))
                seqs[seq] = target
            except OSError as exc:
                # the vantage's own packet filter refused (EPERM): host evidence only, the
                # network past it was not tested; its routing table refused: no route
                status = (
                    ProbeStatus.LOCAL_FILTER if exc.errno == errno.EPERM else ProbeStatus.NO_ROUTE
                )
                out[target] = EchoResult(
                    target=target, status=status, detail=f"refused at the vantage ({exc.strerror})"
                )
        deadline = time.monotonic() + wait
        while len(out) < len(targets) and time.monotonic() < deadline:
            ready, _, _ = select.select(
                list(socks.values()), [], [], max(0.0, deadline - time.monotonic())
            )
            for s in ready:
                data, addr = s.recvfrom(2048)
                res = _match(data, addr[0], s.family == socket.AF_INET6, ident, seqs)
                if res is not None and res.target not in out:
                    out[res.target] = res
        for target in targets:
            out.setdefault(
                target, EchoResult(target=target, status=ProbeStatus.SILENT, detail="no reply")
            )
    finally:
        for s in socks.values():
            s.close()
    return out


def _match(data: bytes, src: str, v6: bool, ident: int, seqs: dict[int, str]) -> EchoResult | None:
    if not v6:
        data = data[(data[0] & 0x0F) * 4 :]  # IPv4 raw sockets include the IP header
    if len(data) < 8:
        return None
    itype, code = data[0], data[1]
    if (itype, v6) in ((0, False), (129, True)):
        rid, seq = struct.unpack_from("!HH", data, 4)
        if rid == ident and seqs.get(seq) == src:
            return EchoResult(target=src, status=ProbeStatus.REPLY, responder=src,
                              icmp_type=itype, icmp_code=code, detail="echo reply")  # fmt: skip
        return None
    if (not v6 and itype in (3, 11)) or (v6 and itype in (1, 3)):
        inner = data[8:]
        hdr = 40 if v6 else (inner[0] & 0x0F) * 4 if inner else 0
        if len(inner) < hdr + 8:
            return None
        rid, seq = struct.unpack_from("!HH", inner, hdr + 4)
        if rid == ident and seq in seqs:
            return EchoResult(target=seqs[seq], status=ProbeStatus.FILTERED_ICMP, responder=src,
                              icmp_type=itype, icmp_code=code, detail="icmp error")  # fmt: skip
    return None

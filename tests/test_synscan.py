"""The SYN sweep's classification, cookie matching and retransmission, on a fake network."""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from collections.abc import Callable

import numpy as np
import pytest

from prodwall.engine.rawnet import KERNEL4, KERNEL6
from prodwall.engine.synscan import (
    CLOSED,
    ICMP,
    LOCAL_FILTER,
    NO_ROUTE,
    OPEN,
    SILENT,
    STATUS_NAMES,
    Block,
    Recorder,
    sweep,
)
from prodwall.engine.wire import cookie, uncookie

SRC4, SRC6 = "198.18.1.10", "fd00:18:1::10"
ROUTER4, ROUTER6 = "198.18.1.1", "fd00:18:1::1"

Behaviour = Callable[[str, int, int], str | None]  # (dst, port, attempt) -> answer kind


def _ip(src: str, dst: str, proto: int, payload: bytes, ttl: int = 63) -> bytes:
    if ":" in src:
        return (
            struct.pack("!IHBB", 6 << 28, len(payload), proto, ttl)
            + ipaddress.ip_address(src).packed
            + ipaddress.ip_address(dst).packed
            + payload
        )
    return (
        struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 0, 0, ttl, proto, 0)
        + ipaddress.ip_address(src).packed
        + ipaddress.ip_address(dst).packed
        + payload
    )


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 0, 0, 0)


class FakeNet:
    """Answers each SYN as `behaviour` says, by building the packet a real host would."""

    def __init__(self, behaviour: Behaviour, src_changes_to: str | None = None) -> None:
        self.behaviour = behaviour
        self.attempts: dict[tuple[str, int], int] = {}
        self.recorder: Recorder | None = None
        self.forge: list[bytes] = []
        self.refusal = errno.ENETUNREACH  # how the vantage's kernel refuses a "no-route" probe

    def start(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def source(self, dst: str) -> str:
        return SRC6 if ":" in dst else SRC4

    def framing(self, first_syns: list[bytes]) -> tuple[list[bytes], int]:
        return [b""] * len(first_syns), 0

    def host_evidence(self) -> tuple[str, dict[str, str]]:
        return "none", {}

    def send(self, lane, segments, blocks, indexes):  # type: ignore[no-untyped-def]
        assert lane in (KERNEL4, KERNEL6)
        refused = []
        for packet, b, index in zip(segments, blocks, indexes, strict=True):
            if not self._answer(bytes(packet), self.recorder.layout.blocks[b].target):
                refused.append((int(index), self.refusal))
        return refused

    def _answer(self, packet: bytes, dst: str) -> bool:
        assert self.recorder is not None
        sport, dport, seq = struct.unpack_from("!HHI", packet)
        attempt = self.attempts.get((dst, dport), 0)
        self.attempts[(dst, dport)] = attempt + 1
        kind = self.behaviour(dst, dport, attempt)
        src = self.source(dst)
        if kind == "no-route":
            return False
        if kind == "lost":  # the answer came, but the receiver's socket had no room for it
            self.recorder.drop_count[0] += 1
            return True
        if kind in ("synack", "rst"):
            flags = 0x12 if kind == "synack" else 0x14
            self.recorder.record(_ip(dst, src, 6, _tcp(dport, sport, 777, seq + 1, flags)))
        elif kind == "icmp":
            quoted = _ip(src, dst, 6, bytes(packet[:8]), 64)
            v6 = ":" in dst
            header = struct.pack("!BBHI", 1 if v6 else 3, 1 if v6 else 13, 0, 0)
            router = ROUTER6 if v6 else ROUTER4
            self.recorder.record(_ip(router, src, 58 if v6 else 1, header + quoted, 64))
        return True

    def stop(self) -> tuple[list[tuple[str, int, int]], list[bytes]]:
        assert self.recorder is not None
        for packet in self.forge:
            self.recorder.record(packet)
        return self.recorder.findings()


def _status(result, target: str, port: int) -> int:  # type: ignore[no-untyped-def]
    for blk, start in zip(result.blocks, result.offsets, strict=True):
        if blk.target == target:
            return result.status[start + blk.ports.tolist().index(port)]
    raise KeyError(target)


@pytest.mark.parametrize("target", ["198.19.0.5", "fd00:19::5"])
def test_each_answer_is_classified(target: str) -> None:
    kinds = {22: "synack", 23: "rst", 24: "icmp", 25: None, 26: "no-route"}
    net = FakeNet(lambda dst, port, attempt: kinds.get(port))
    result = sweep([Block(target, [22, 23, 24, 25, 26])], rate=1e6, retries=1, wait=0, net=net)
    assert [_status(result, target, p) for p in (22, 23, 24, 25, 26)] == [
        OPEN,
        CLOSED,
        ICMP,
        SILENT,
        NO_ROUTE,
    ]
    router = ROUTER6 if ":" in target else ROUTER4
    icmp = (1, 1) if ":" in target else (3, 13)
    assert (router, *icmp) in result.responders
    assert ("(itself)", -1, -1) in result.responders  # the host itself answered 22 and 23
    assert result.outcome(0, target)[:2] == (OPEN, target)
    assert len(result.answers_pcap) == 3  # SYN-ACK, RST and a sample of the ICMP refusals


def test_a_refusal_by_the_vantages_filter_is_not_a_refusal_by_its_routes() -> None:
    net = FakeNet(lambda dst, port, attempt: "no-route")
    net.refusal = errno.EPERM  # what nftables' output drop returns to a raw socket
    result = sweep([Block("198.19.0.5", [22])], rate=1e6, retries=0, wait=0, net=net)
    assert _status(result, "198.19.0.5", 22) == LOCAL_FILTER
    assert STATUS_NAMES[LOCAL_FILTER] == "local-filter"


def test_answers_the_receiver_lost_are_recovered_by_re_probing_silence() -> None:
    net = FakeNet(lambda dst, port, attempt: "lost" if attempt == 0 else "rst")
    blocks = [Block("198.19.0.5", list(range(1, 101)))]
    result = sweep(blocks, rate=1e6, retries=0, wait=0, net=net)
    assert set(result.status) == {CLOSED}  # every lost answer was asked for again
    assert result.receive_drops == 100
    assert (result.recovery.rounds, result.recovery.lost_in_last_round) == (1, 0)
    assert result.recovery.sent == 100 and result.sent == 200


def test_a_receiver_that_keeps_losing_answers_is_reported_not_hidden() -> None:
    net = FakeNet(lambda dst, port, attempt: "lost" if port % 2 else None)
    result = sweep([Block("198.19.0.5", list(range(1, 11)))], rate=1e6, retries=0, wait=0, net=net)
    assert result.recovery.rounds == 3  # and then it gives up, saying so
    assert result.recovery.lost_in_last_round == 5
    assert set(result.status) == {SILENT}


def test_silent_probes_are_retransmitted_and_late_answers_count() -> None:
    # ports 1-50 answer only on their second attempt; 51-60 never answer
    net = FakeNet(lambda dst, port, attempt: None if port > 50 or attempt == 0 else "rst")
    blocks = [Block("198.19.0.5", list(range(1, 61)))]
    result = sweep(blocks, rate=1e6, retries=2, wait=0, net=net)
    assert result.retransmitted == 60 + 10
    assert result.sent == 60 + 60 + 10
    assert [_status(result, "198.19.0.5", p) for p in (1, 50)] == [CLOSED, CLOSED]
    assert _status(result, "198.19.0.5", 51) == SILENT
    none = sweep(
        blocks, rate=1e6, retries=0, wait=0, net=FakeNet(lambda d, p, a: None if a == 0 else "rst")
    )
    assert none.retransmitted == 0 and set(none.status) == {SILENT}


def test_answers_that_do_not_match_a_cookie_are_ignored() -> None:
    target = "198.19.0.5"
    net = FakeNet(lambda dst, port, attempt: None)
    # a RST acknowledging a sequence number we never sent, and one from an unprobed host
    net.forge = [
        _ip(target, SRC4, 6, _tcp(22, 1, 0, 12345, 0x14)),
        _ip("198.19.0.99", SRC4, 6, _tcp(22, 1, 0, 1, 0x14)),
    ]
    result = sweep([Block(target, [22])], rate=1e6, retries=0, wait=0, net=net)
    assert result.status.tolist() == [SILENT]


def test_recorder_checks_cookie_port_and_source_port() -> None:
    blocks = [Block("198.19.0.5", [80, 443]), Block("198.19.0.6", list(range(1, 1001)))]
    rec = Recorder(blocks, secret=0xC0FFEE, sport=40001, pcap_limit=10)
    idx = rec.layout.locate("198.19.0.6", 700)
    assert idx == 2 + 699
    good = _ip("198.19.0.6", SRC4, 6, _tcp(700, 40001, 5, cookie(idx, 0xC0FFEE) + 1, 0x12))
    wrong_sport = _ip("198.19.0.6", SRC4, 6, _tcp(700, 40002, 5, cookie(idx, 0xC0FFEE) + 1, 0x12))
    wrong_index = _ip("198.19.0.6", SRC4, 6, _tcp(701, 40001, 5, cookie(idx, 0xC0FFEE) + 1, 0x12))
    assert rec.record(wrong_sport) is False
    assert rec.record(wrong_index) is False
    assert rec.record(good) is True and rec.status_of(idx) == OPEN


def test_cookie_round_trips_and_spreads() -> None:
    secret = 0x5EED
    seqs = {cookie(i, secret) for i in range(100_000)}
    assert len(seqs) == 100_000
    assert all(uncookie(cookie(i, secret), secret) == i for i in (0, 1, 65535, 1_048_559))
    assert cookie(1, secret) != cookie(1, secret ^ 1)


def test_no_python_object_per_probe() -> None:
    """Per-probe state is one byte (its answer class); ports are computed from ranges, so a
    hundred million probes cost a hundred MB of shared memory and nothing else per probe."""
    blocks = [Block.of_ranges(f"198.19.{i // 256}.{i % 256}", [(1, 65535)]) for i in range(1526)]
    rec = Recorder(blocks, secret=1, sport=40000, pcap_limit=0)
    assert rec.layout.total == 1526 * 65535 > 100_000_000
    assert len(rec.status) == rec.layout.total  # one byte a probe, nothing else
    tables = rec.layout.r_start.nbytes + rec.layout.r_low.nbytes + rec.layout.r_block.nbytes
    assert tables == 1526 * 3 * 8  # a row per port range, not per probe
    blk, port = rec.layout.where(np.array([0, 65534, 65535, 100_000_000], np.int64))
    assert blk.tolist() == [0, 0, 1, 1525] and port.tolist() == [
        1,
        65535,
        1,
        100_000_000 - 1525 * 65535 + 1,
    ]
    assert rec.layout.locate("198.19.5.245", 65535) == rec.layout.total - 1


def _rfc1071(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@pytest.mark.parametrize("src,dst", [(SRC4, "198.19.0.5"), (SRC6, "fd00:19::5")])
def test_vectorised_segments_are_valid_syns(src: str, dst: str) -> None:
    """The numpy batch builder writes what the scalar template writes, with a checksum that
    verifies over the pseudo-header (computed here from scratch, RFC 1071)."""
    from prodwall.engine.sender import _SendJob
    from prodwall.engine.wire import SynTemplate

    blocks = [Block("198.19.0.9", [1, 2, 3]), Block(dst, list(range(1, 65536)))]
    rec = Recorder(blocks, secret=0xDEADBEEF, sport=41000, pcap_limit=0)
    templates = [SynTemplate(src if ":" in dst else SRC4, b.target, 41000) for b in blocks]
    if ":" in dst:
        templates[0] = SynTemplate(SRC4, "198.19.0.9", 41000)
    job = _SendJob.build(rec, templates, [b"", b""], 0xDEADBEEF, (7919, 11), 1e6)
    idx = np.array([0, 2, 3, 4, 1000, 65537, rec.layout.total - 1], np.int64)
    rows = [
        r
        for _lane, packets, blk, i in job.packets_for(idx)
        for r in zip(packets, i, blk, strict=True)
    ]
    assert sorted(int(i) for _, i, _ in rows) == sorted(idx.tolist())
    for row, i, b in rows:
        target = blocks[b].target
        port = int(blocks[b].ports[i - rec.layout.offsets[b]])
        expected = SynTemplate(src if ":" in target else SRC4, target, 41000).fill(
            port, cookie(int(i), 0xDEADBEEF)
        )
        assert bytes(row) == bytes(expected)
        sport, dport, seq = struct.unpack_from("!HHI", bytes(row))
        assert (sport, dport, uncookie(seq, 0xDEADBEEF)) == (41000, port, i)
        s, d = ipaddress.ip_address(src if ":" in target else SRC4), ipaddress.ip_address(target)
        pseudo = s.packed + d.packed + struct.pack("!HH", 6, len(row))
        assert _rfc1071(pseudo + bytes(row)) == 0xFFFF  # a valid TCP checksum sums to ~0


def test_each_send_carries_one_address_family() -> None:
    calls: list[set[bool]] = []

    class Recording(FakeNet):
        def send(self, lane, segments, blocks, indexes):  # type: ignore[no-untyped-def]
            calls.append({":" in self.recorder.layout.blocks[b].target for b in blocks})
            return super().send(lane, segments, blocks, indexes)

    blocks = [Block("198.19.0.5", list(range(1, 300))), Block("fd00:19::5", list(range(1, 300)))]
    result = sweep(blocks, rate=1e7, retries=0, wait=0, net=Recording(lambda d, p, a: "rst"))
    assert calls and all(len(c) == 1 for c in calls)
    assert set(result.status) == {CLOSED} and result.sent == 598


def test_frames_carry_ethernet_and_a_valid_ip_header() -> None:
    from prodwall.engine import linkpath
    from prodwall.engine.sender import _SendJob
    from prodwall.engine.synscan import FRAME4, FRAME6, LANE_SIZE
    from prodwall.engine.wire import SynTemplate

    dst_mac, src_mac = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
    f4 = linkpath.frame_header(SRC4, "198.19.0.5", src_mac, dst_mac)
    f6 = linkpath.frame_header(SRC6, "fd00:19::5", src_mac, dst_mac)
    assert f4[:14] == dst_mac + src_mac + b"\x08\x00"
    assert f6[:14] == dst_mac + src_mac + b"\x86\xdd"
    ip4 = f4[14:]
    assert _rfc1071(ip4) == 0xFFFF  # the IPv4 header checksum verifies
    assert struct.unpack("!H", ip4[2:4])[0] == 44 and ip4[9] == 6 and ip4[8] == 64
    assert ip4[12:16] == socket.inet_aton(SRC4) and ip4[16:20] == socket.inet_aton("198.19.0.5")
    ip6 = f6[14:]
    assert struct.unpack("!H", ip6[4:6])[0] == 24 and ip6[6] == 6 and ip6[7] == 64
    # a job with one framed block per family: each row is header + the scalar SYN
    blocks = [Block("198.19.0.5", [22, 80]), Block("fd00:19::5", [443])]
    rec = Recorder(blocks, secret=99, sport=42000, pcap_limit=0)
    templates = [SynTemplate(SRC4, "198.19.0.5", 42000), SynTemplate(SRC6, "fd00:19::5", 42000)]
    job = _SendJob.build(rec, templates, [f4, f6], 99, (1, 0), 1e6)
    lanes = {lane: (rows, i) for lane, rows, _b, i in job.packets_for(np.arange(3))}
    assert set(lanes) == {FRAME4, FRAME6}
    rows4, idx4 = lanes[FRAME4]
    assert rows4.shape == (2, LANE_SIZE[FRAME4])
    for row, i in zip(rows4, idx4, strict=True):
        port = (22, 80)[int(i)]
        syn = SynTemplate(SRC4, "198.19.0.5", 42000).fill(port, cookie(int(i), 99))
        assert bytes(row) == f4 + bytes(syn)
    rows6, _ = lanes[FRAME6]
    syn6 = SynTemplate(SRC6, "fd00:19::5", 42000).fill(443, cookie(2, 99))
    assert bytes(rows6[0]) == f6 + bytes(syn6)


def test_retransmission_window_is_measured_but_bounded() -> None:
    from prodwall.engine.synscan import MIN_RETRY_WAIT, _retry_window

    assert _retry_window(1.0, None, 0.0) == 1.0  # nothing answered: the full window
    assert _retry_window(1.0, None, 0.002) == MIN_RETRY_WAIT  # a fast lab: the floor
    assert _retry_window(1.0, None, 0.1) == pytest.approx(0.4)  # four slowest answers
    assert _retry_window(1.0, None, 0.6) == 1.0  # never longer than the first window
    assert _retry_window(1.0, 0.5, 0.001) == 0.5  # fixed by the inventory
    assert _retry_window(0.3, 0.5, 0.001) == 0.3


def test_the_last_first_syns_get_the_full_window_even_when_retransmissions_are_short() -> None:
    """Nothing is retransmitted when everything answers: the sweep must still wait `wait`
    after its last first SYN, not the short retransmission window."""
    import time

    net = FakeNet(lambda d, p, a: "rst" if p != 7 else None)
    started = time.monotonic()
    result = sweep(
        [Block("198.19.0.5", list(range(1, 50)))], rate=1e7, retries=1, wait=0.6, net=net
    )
    assert time.monotonic() - started >= 0.6
    assert result.windows[0] == 0.6


def test_two_senders_never_retransmit_before_the_first_window_is_over() -> None:
    """With one chunk and two senders, the second sender takes the retransmission ticket at
    once; it must still wait for the first attempt to be sent and for `wait` after it."""
    import mmap
    import time

    clock = mmap.mmap(-1, 8 * 2 * 8)  # per probe: first and second send time (shared)
    sends = np.frombuffer(clock, np.float64).reshape(8, 2)

    class Timed(FakeNet):
        def send(self, lane, segments, blocks, indexes):  # type: ignore[no-untyped-def]
            for i in indexes:
                sends[int(i), 1 if sends[int(i), 0] else 0] = time.monotonic()
            return []  # nothing ever answers

    result = sweep(
        [Block("198.19.0.5", list(range(1, 9)))],
        rate=1e7,
        retries=1,
        wait=0.3,
        net=Timed(lambda d, p, a: None),
        workers=2,
    )
    assert result.retransmitted == 8
    assert (sends[:, 1] - sends[:, 0] >= 0.3).all()


def test_the_rate_is_kept_without_bursts() -> None:
    """1,000 probes at 2,000 packets/s take half a second, sent in slices of ten (200 clock
    checks a second), never as one 1,024-packet burst."""
    import time

    calls: list[tuple[float, int]] = []

    class Timed(FakeNet):
        def send(self, lane, segments, blocks, indexes):  # type: ignore[no-untyped-def]
            calls.append((time.monotonic(), len(indexes)))
            return super().send(lane, segments, blocks, indexes)

    started = time.monotonic()
    result = sweep(
        [Block("198.19.0.5", list(range(1, 1001)))],
        rate=2000,
        retries=0,
        wait=0,
        net=Timed(lambda d, p, a: None),
    )
    assert result.sent == 1000
    assert time.monotonic() - started >= 0.49
    assert max(n for _, n in calls) == 10
    # no 50 ms window carries more than its share (100 packets) plus one slice
    for t0, _ in calls:
        assert sum(n for t, n in calls if t0 <= t < t0 + 0.05) <= 110


def test_probe_order_spreads_over_targets_and_ports() -> None:
    order: list[tuple[str, int]] = []

    class Ordered(FakeNet):
        def send(self, lane, segments, blocks, indexes):  # type: ignore[no-untyped-def]
            for seg, b in zip(segments, blocks, strict=True):
                order.append((self.recorder.layout.blocks[b].target, (seg[2] << 8) | seg[3]))
            return super().send(lane, segments, blocks, indexes)

    targets = [f"198.19.0.{i}" for i in range(1, 5)]
    sweep(
        [Block(t, list(range(1, 257))) for t in targets],
        rate=1e7,
        retries=0,
        wait=0,
        seed=7,
        net=Ordered(lambda d, p, a: None),
    )
    assert len(order) == 1024 and len(set(order)) == 1024
    # every window of 64 probes touches every target, none more than twice its share
    for k in range(0, 1024, 64):
        window = [t for t, _ in order[k : k + 64]]
        assert set(window) == set(targets)
        assert max(window.count(t) for t in targets) <= 32
    ports = [p for _, p in order]
    assert ports != sorted(ports)

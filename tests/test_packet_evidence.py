"""Captured packets decoded for the report, and our hand-built frames checked by scapy."""

from __future__ import annotations

import numpy as np
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from prodwall.engine import linkpath
from prodwall.engine.packet_evidence import MAX_PER_ADDRESS, by_address
from prodwall.engine.sender import _SendJob
from prodwall.engine.synscan import FRAME4, FRAME6, Block, Recorder
from prodwall.engine.wire import SynTemplate
from test_synscan import ROUTER4, SRC4, SRC6, _ip, _tcp


def test_lines_name_the_production_address_and_keep_the_telling_packets() -> None:
    host = "198.19.0.5"
    syn_ack = _ip(host, SRC4, 6, _tcp(5432, 41000, 7, 100, 0x12))
    rst = _ip(host, SRC4, 6, _tcp(22, 41000, 0, 101, 0x14))
    quoted = _ip(SRC4, host, 6, _tcp(41000, 8080, 99, 0, 0x02)[:8], 64)
    refusal = _ip(ROUTER4, SRC4, 1, bytes([3, 13, 0, 0, 0, 0, 0, 0]) + quoted, 64)
    packets = [(1000.0 + i, refusal) for i in range(10)] + [(2000.0, rst), (2001.0, syn_ack)]
    lines = by_address(packets)[host]
    assert len(lines) == MAX_PER_ADDRESS
    # the SYN-ACK and the RST are kept ahead of ten identical refusals, lines in time order
    assert "tcp 5432 > 41000 [SA]" in lines[-1] and "tcp 22 > 41000 [RA]" not in lines[-1]
    assert any("[R" in line for line in lines)
    assert f"{ROUTER4} > {SRC4} ttl 64 icmp type 3 code 13 about {SRC4} > {host}:8080" in lines[0]
    assert lines[0].startswith("00:16:40.000000Z")  # UTC capture time


def test_frames_decode_with_valid_checksums_in_an_independent_decoder() -> None:
    """scapy recomputes every checksum it is asked to: our vectorised frames must match."""
    dst_mac, src_mac = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
    blocks = [Block("198.19.0.5", [1, 443, 65535]), Block("fd00:19::5", [22, 8443])]
    headers = [
        linkpath.frame_header(SRC4, "198.19.0.5", src_mac, dst_mac),
        linkpath.frame_header(SRC6, "fd00:19::5", src_mac, dst_mac),
    ]
    rec = Recorder(blocks, secret=0xABCDEF, sport=45000, pcap_limit=0)
    templates = [SynTemplate(SRC4, "198.19.0.5", 45000), SynTemplate(SRC6, "fd00:19::5", 45000)]
    job = _SendJob.build(rec, templates, headers, 0xABCDEF, (1, 0), 1e6)
    seen = 0
    for lane, rows, _blk, _idx in job.packets_for(np.arange(5, dtype=np.int64)):
        for row in rows:
            frame = Ether(bytes(row))
            ip_layer = frame[IP] if lane == FRAME4 else frame[IPv6]
            tcp = frame[TCP]
            assert tcp.flags == "S" and tcp.sport == 45000
            fresh = Ether(bytes(row))
            if lane == FRAME4:
                del fresh[IP].chksum
            del fresh[TCP].chksum
            rebuilt = Ether(bytes(fresh))  # scapy fills in the checksums it computes itself
            assert rebuilt[TCP].chksum == tcp.chksum
            if lane == FRAME4:
                assert rebuilt[IP].chksum == ip_layer.chksum
                assert ip_layer.len == 44 and ip_layer.flags == "DF"
            else:
                assert lane == FRAME6 and ip_layer.plen == 24
            seen += 1
    assert seen == 5

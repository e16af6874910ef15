"""Protocol-aware UDP payloads: a well-formed request gets an answer from a real service.

An empty datagram is ignored by most UDP services, which turns "open" into
"silent"; these requests are harmless reads (no login, no write).
"""

from __future__ import annotations

import struct


def _dns_query(name: str = "", qtype: int = 2) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p)
    return (
        struct.pack(">HHHHHH", 0x7077, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack(">HH", qtype, 1)
    )


UDP_PAYLOADS: dict[int, bytes] = {
    53: _dns_query(),  # ". NS"
    5353: _dns_query("_services._dns-sd._udp.local", 12),
    123: b"\x1b" + b"\0" * 47,  # NTPv3 client request
    161: bytes.fromhex(  # SNMPv2c get sysDescr.0, community "public"
        "302902010104067075626c6963a01c0204707770770201000201003010300e06082b060102010101000500"
    ),
    137: bytes.fromhex(  # NetBIOS node status request for "*"
        "80f00000000100000000000020434b4141414141414141414141414141414141414141414141"
        "414141414141410000210001"
    ),
    1900: b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    b"MX: 1\r\nST: ssdp:all\r\n\r\n",
    11211: b"\x00\x01\x00\x00\x00\x01\x00\x00version\r\n",  # memcached UDP frame + "version"
    69: b"\x00\x01prodwall-probe\x00octet\x00",  # TFTP read request of a name that is absent
    500: bytes(28),  # IKE header-sized datagram
    1812: b"\x01\x00\x00\x14" + bytes(16),  # RADIUS Access-Request header
    514: b"<14>prodwall isolation probe",  # syslog: no answer by design; closed -> ICMP
}


def payload_for(port: int) -> bytes:
    return UDP_PAYLOADS.get(port, b"prodwall\r\n")

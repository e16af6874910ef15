"""What the kernel really sends to: IPv4 written in an IPv6 form is IPv4.

A socket sends to an IPv4-mapped address (::ffff:a.b.c.d) as IPv4; NAT64
(64:ff9b::/96) and 6to4 (2002::/16) gateways translate or relay to the IPv4
host inside. Inventories are normalised to the real form when loaded, and the
scope guard re-checks the normalised form, so such a spelling can neither hide
a public address nor dodge a special range.
"""

from __future__ import annotations

import ipaddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
EMBEDDING = (MAPPED, NAT64, SIXTOFOUR)
# per prefix: how far right the IPv4 address sits, and the IPv6 bits before it
_LAYOUT = ((MAPPED, 0, 96), (NAT64, 0, 96), (SIXTOFOUR, 80, 16))


def real_network(net: IPNetwork) -> IPNetwork:
    if net.version != 6:
        return net
    bits = int(net.network_address)
    for prefix, shift, drop in _LAYOUT:
        if net.subnet_of(prefix):
            v4 = ipaddress.IPv4Address((bits >> shift) & 0xFFFFFFFF)
            return ipaddress.IPv4Network(f"{v4}/{max(0, min(32, net.prefixlen - drop))}", False)
    return net


def real_address(address: IPAddress) -> IPAddress:
    if address.version != 6:
        return address
    for prefix, shift, _drop in _LAYOUT:
        if address in prefix:
            return ipaddress.IPv4Address((int(address) >> shift) & 0xFFFFFFFF)
    return address

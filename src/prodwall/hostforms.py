"""One reading of a host, as the software that connects reads it.

A host text can name production in forms a plain comparison misses: `db%2Eprod` in a
URL (libpq percent-decodes it), `3323153669`, `0xc6134d05` or `198.19.19717` (glibc's
inet_aton takes each as 198.19.77.5), and IPv6 addresses that carry an IPv4 one (mapped
`::ffff:a.b.c.d`, NAT64 `64:ff9b::/96` and its local-use `64:ff9b:1::/48`, 6to4
`2002::/16`, Teredo `2001::/32` with its obfuscated client, ISATAP, the old compatible
form). `addresses()` gives every address a text denotes, the embedded ones included, so
whoever judges it (secrets, DNS answers, the scope guard) fails closed on any of them.
Standard library only: it runs at the vantage too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_V4 = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_COMPAT = ipaddress.ip_network("::/96")


def unquote_host(text: str) -> str:
    """Percent-decoded, without brackets, zone id or trailing dot, lower case."""
    host = urllib.parse.unquote(text.strip()).strip()
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    host = host.split("%", 1)[0]  # fe80::1%eth0: the zone says which link, not which host
    return host.rstrip(".").lower()


def numeric_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address glibc's inet_aton reads in `text` (decimal, octal, hex, and the
    one-, two- and three-part forms), or None when it is not such a number."""
    if not _NUMERIC_V4.match(text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries, by every standard embedding."""
    out: list[ipaddress.IPv4Address] = []
    value = int(address)
    if address.ipv4_mapped is not None:
        out.append(address.ipv4_mapped)
    if address in _NAT64:
        out.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address in _NAT64_LOCAL:  # RFC 6052: /48 puts it around the u-octet, /96 at the end
        high, low = (value >> 64) & 0xFFFF, (value >> 40) & 0xFFFF
        out += [ipaddress.IPv4Address((high << 16) | low),
                ipaddress.IPv4Address(value & 0xFFFFFFFF)]  # fmt: skip
    if address.sixtofour is not None:
        out.append(address.sixtofour)
    if address.teredo is not None:
        out += list(address.teredo)  # (server, client), the client de-obfuscated
    if (value >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP interface id ::0:5efe / ::200:5efe
        out.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address in _COMPAT and value > 0xFFFF:  # ::a.b.c.d (not :: or ::1)
        out.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return tuple(dict.fromkeys(out))


def literal(text: str) -> IPAddress | None:
    """The address a host text is, when it is a literal (any inet_aton form included)."""
    host = unquote_host(text)
    if not host or not (":" in host or host[0].isdigit()):
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return numeric_ipv4(host)


def addresses(text: str) -> tuple[IPAddress, ...]:
    """Every address a host text denotes: the literal and the IPv4 it embeds."""
    found = literal(text)
    if found is None:
        return ()
    if isinstance(found, ipaddress.IPv6Address):
        return (found, *embedded_ipv4(found))
    return (found,)

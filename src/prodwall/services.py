"""Service and port notation: `tcp/5432`, `udp/53`, `postgres`, `admin=tcp/8443`, `1-1024`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Protocol = Literal["tcp", "udp"]

# Names an inventory may use instead of protocol/port. Kept short on purpose:
# anything else is written as `name=proto/port`, which documents itself.
WELL_KNOWN: dict[str, tuple[Protocol, int]] = {
    "ssh": ("tcp", 22),
    "smtp": ("tcp", 25),
    "dns": ("udp", 53),
    "dns-tcp": ("tcp", 53),
    "http": ("tcp", 80),
    "ntp": ("udp", 123),
    "snmp": ("udp", 161),
    "ldap": ("tcp", 389),
    "https": ("tcp", 443),
    "syslog": ("udp", 514),
    "ldaps": ("tcp", 636),
    "mssql": ("tcp", 1433),
    "oracle": ("tcp", 1521),
    "mysql": ("tcp", 3306),
    "rdp": ("tcp", 3389),
    "postgres": ("tcp", 5432),
    "amqp": ("tcp", 5672),
    "kube-api": ("tcp", 6443),
    "redis": ("tcp", 6379),
    "elasticsearch": ("tcp", 9200),
    "kafka": ("tcp", 9092),
    "memcached": ("udp", 11211),
    "mongodb": ("tcp", 27017),
}

# UDP ports probed on every production address by default (issue: the common
# UDP services), beside the inventory's declared UDP services.
COMMON_UDP_PORTS: tuple[int, ...] = (
    53,
    67,
    69,
    123,
    137,
    161,
    162,
    389,
    500,
    514,
    520,
    1194,
    1812,
    1900,
    4500,
    5353,
    11211,
    51820,
)

_SERVICE_RE = re.compile(r"^(?:(?P<name>[a-z][a-z0-9-]*)=)?(?P<proto>tcp|udp)/(?P<port>\d{1,5})$")


@dataclass(frozen=True, order=True)
class Service:
    protocol: Protocol
    port: int
    name: str

    def __str__(self) -> str:
        return (
            f"{self.name}={self.protocol}/{self.port}"
            if self.name
            else f"{self.protocol}/{self.port}"
        )


def parse_service(text: str) -> Service:
    """Parse one service; raises ValueError with the accepted forms."""
    text = text.strip()
    if text in WELL_KNOWN:
        return Service(*WELL_KNOWN[text], text)
    match = _SERVICE_RE.match(text)
    if not match:
        raise ValueError(
            f"'{text}' is not a service; write tcp/PORT, udp/PORT, NAME=tcp/PORT or one of "
            f"the known names ({', '.join(sorted(WELL_KNOWN)[:6])}, ...)"
        )
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    proto: Protocol = "tcp" if match["proto"] == "tcp" else "udp"
    return Service(proto, port, match["name"] or "")


@dataclass(frozen=True)
class PortSet:
    """A set of ports kept as sorted, merged ranges: 65,535 ports cost two integers."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, ports: list[int] | tuple[int, ...] | set[int]) -> PortSet:
        out: list[tuple[int, int]] = []
        for port in sorted(set(ports)):
            if out and port == out[-1][1] + 1:
                out[-1] = (out[-1][0], port)
            else:
                out.append((port, port))
        return cls(tuple(out))

    @classmethod
    def parse(cls, text: str) -> PortSet:
        """`1-65535`, `22,80,443`, `1-1024,5432`; as nmap reads them, an open end of a range
        is the first or last port: `60000-` is 60000-65535, `-1024` is 1-1024, `-` all."""
        ports: list[tuple[int, int]] = []
        for chunk in str(text).replace(" ", "").split(","):
            if not chunk:
                continue
            lo_s, dash, hi_s = chunk.partition("-")
            if dash:
                lo_s, hi_s = lo_s or "1", hi_s or "65535"
            if ":" in chunk:
                raise ValueError(f"'{chunk}' is not a port range: write {chunk.replace(':', '-')}")
            if not lo_s.isdigit() or (hi_s and not hi_s.isdigit()):
                raise ValueError(f"'{chunk}' is not a port or port range (write 22, 1-1024)")
            lo, hi = int(lo_s), int(hi_s or lo_s)
            if not (1 <= lo <= hi <= 65535):
                raise ValueError(f"port range '{chunk}' must lie within 1-65535, low to high")
            ports.append((lo, hi))
        if not ports:
            raise ValueError("empty port list")
        return cls._merge(ports)

    @classmethod
    def _merge(cls, ranges: list[tuple[int, int]]) -> PortSet:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return cls(tuple(merged))

    def union(self, other: PortSet) -> PortSet:
        return self._merge([*self.ranges, *other.ranges])

    def without(self, ports: set[int]) -> PortSet:
        return PortSet.of([p for p in self if p not in ports]) if ports else self

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and any(lo <= port <= hi for lo, hi in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)

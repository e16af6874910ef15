"""TCP connect() fallback for vantages without CAP_NET_RAW: weaker, and labelled so.

It cannot see who refused (the kernel turns an ICMP error into an errno) and
cannot tell a firewall's RST from the host's. The timeout is at least 1.5 s
because some ICMP errors only surface at the first SYN retransmit.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass

MIN_TIMEOUT_S = 1.5
_ICMP_ERRNOS = {
    errno.EHOSTUNREACH: "host-unreachable",
    errno.ENETUNREACH: "net-unreachable",
    errno.EACCES: "admin-prohibited (EACCES)",
    errno.EPERM: "prohibited (EPERM)",
}


@dataclass(frozen=True)
class ConnectResult:
    target: str
    port: int
    status: str  # open | closed | filtered-icmp | silent | error
    detail: str


async def _one(target: str, port: int, timeout: float, sem: asyncio.Semaphore) -> ConnectResult:
    async with sem:
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        try:
            _r, writer = await asyncio.wait_for(
                asyncio.open_connection(target, port, family=family), timeout
            )
        except TimeoutError:
            return ConnectResult(target, port, "silent", "connect() timed out")
        except ConnectionRefusedError:
            return ConnectResult(target, port, "closed", "connection refused (a RST)")
        except OSError as exc:
            name = _ICMP_ERRNOS.get(exc.errno or 0)
            if name:
                return ConnectResult(
                    target,
                    port,
                    "filtered-icmp",
                    f"{name}: an ICMP error or a local route refusal; "
                    "connect() cannot tell who sent it",
                )
            return ConnectResult(target, port, "error", f"connect() failed: {exc.strerror}")
        writer.close()
        return ConnectResult(target, port, "open", "connection established")


async def _all(
    pairs: list[tuple[str, int]], timeout: float, concurrency: int
) -> list[ConnectResult]:
    sem = asyncio.Semaphore(concurrency)
    return list(await asyncio.gather(*(_one(t, p, timeout, sem) for t, p in pairs)))


def connect_all(
    pairs: list[tuple[str, int]], *, timeout: float = 2.0, concurrency: int = 1000
) -> list[ConnectResult]:
    return asyncio.run(_all(pairs, max(timeout, MIN_TIMEOUT_S), concurrency))

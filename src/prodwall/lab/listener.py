"""A lab service process: TCP listeners that greet like their protocol, UDP responders.

Run inside a lab namespace: `python -m prodwall.lab.listener --tcp ADDR,PORT --udp ADDR,PORT`.
It answers anything; the point is that production *answers*, so a hole is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
import socket

# Enough of each protocol that a banner-grabbing probe can tell what it hit.
BANNERS = {
    80: b"HTTP/1.0 200 OK\r\nContent-Length: 19\r\n\r\npwlab artifact repo",
    443: b"HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\npwlab prod web",
    8443: b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 11\r\n\r\npwlab admin",
    6443: b'HTTP/1.0 403 Forbidden\r\nContent-Length: 16\r\n\r\n{"kind":"Status"}',
    5432: b"N",  # postgres' answer to an SSLRequest: "no TLS"
}


def _pair(text: str) -> tuple[str, int]:
    addr, _, port = text.rpartition(",")
    return addr, int(port)


async def _serve_tcp(addr: str, port: int) -> asyncio.Server:
    banner = BANNERS.get(port, b"pwlab\r\n")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(banner)
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, addr, port, reuse_address=True)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            self.transport.sendto(b"pwlab udp/%d " % self.port + data[:32], addr)


async def main(tcp: list[str], udp: list[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    servers = [await _serve_tcp(*_pair(t)) for t in tcp]
    for text in udp:
        addr, port = _pair(text)
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        await loop.create_datagram_endpoint(
            functools.partial(_Udp, port), local_addr=(addr, port), family=family
        )
    await stop
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tcp", action="append", default=[], metavar="ADDR,PORT")
    parser.add_argument("--udp", action="append", default=[], metavar="ADDR,PORT")
    args = parser.parse_args()
    asyncio.run(main(args.tcp, args.udp))

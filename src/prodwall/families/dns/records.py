"""What the DNS agent is asked and answers (vantage_agent.py), with its status enum."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from prodwall.engine.protocol import Record
from prodwall.families.network.records import Packet


class DnsStatus(enum.StrEnum):
    ANSWER = "answer"  # an answer with data (a name) or any response (a server)
    NOERROR = "noerror"  # the name exists, without addresses
    NXDOMAIN = "nxdomain"
    REFUSED = "refused"
    SERVFAIL = "servfail"
    TIMEOUT = "timeout"
    TRANSFERRED = "transferred"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class DnsJob(Record):
    names: tuple[str, ...] = ()
    resolvers: tuple[str, ...] = ()  # production resolvers: they must not answer
    controls: tuple[str, ...] = ()  # DNS servers the vantage may use: they must answer
    zones: tuple[str, ...] = ()
    axfr_servers: tuple[str, ...] = ()  # where zone transfers are asked: planned, guarded


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class NameAnswer(Record):
    name: str
    status: DnsStatus
    addresses: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Reply(Record):
    status: DnsStatus
    rcode: str = ""
    detail: str = ""
    errno: int = 0  # the socket error a refusal was read from (0: none, or a DNS rcode)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ServerAnswer(Record):
    server: str
    zone: str
    udp: Reply
    tcp: Reply


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class AxfrAnswer(Record):
    server: str
    zone: str
    status: DnsStatus
    records: int = 0
    detail: str = ""
    errno: int = 0  # the socket error a refusal was read from (0: none, or a DNS rcode)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class DnsResult(Record):
    names: tuple[NameAnswer, ...] = ()
    resolvers: tuple[ServerAnswer, ...] = ()
    controls: tuple[ServerAnswer, ...] = ()
    axfr: tuple[AxfrAnswer, ...] = ()
    packets: tuple[Packet, ...] = ()  # the probes' own packets, both directions, captured
    capture_note: str = ""  # why there is no capture ("": captured)

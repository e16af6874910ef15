"""What crosses between the runner and a vantage: frozen, typed records, to JSON
and back, with shared status enums. Standard library only: this module travels
inside the agent file.

`decode` rebuilds a record from JSON by its type hints and refuses anything that
does not fit (a missing field, a wrong type, an unknown status): a vantage that
answers in another shape is an error the runner names, not data it guesses at.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class ProtocolError(ValueError):
    """The other side sent something that is not the record it should be."""


class Record:
    """Base of every record: `to_json()` and `Cls.from_json(data)`."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dataclasses.asdict(self)  # type: ignore[call-overload]
        return out

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        built: T = decode(cls, data)
        return built


def decode(tp: Any, value: Any, where: str = "") -> Any:
    where = where or getattr(tp, "__name__", str(tp))
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = decode(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{where}: field '{f.name}' is missing")
        return tp(**kwargs)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ProtocolError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return decode(arg, value, where)
            except ProtocolError:
                continue
        raise ProtocolError(f"{where}: {value!r} fits none of {tp}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ProtocolError(f"{where}: '{value}' is not a {tp.__name__}") from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (isinstance(tp, type) and not isinstance(value, tp)) or (
        tp is int and isinstance(value, bool)
    ):
        raise ProtocolError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


# --- the network agent ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SweepOptions(Record):
    rate: int = 20_000  # packets per second, all senders together
    retries: int = 1
    wait: float = 1.0  # answer window of every probe's first packet
    retry_wait: float | None = None  # window of the last retransmissions; None: measured
    method: str = "auto"  # auto | raw | connect
    max_traces: int = 64
    connect_timeout: float = 2.0
    concurrency: int = 1000


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class PortTarget(Record):
    target: str  # an address or a swept network
    ports: str  # port ranges, e.g. "1-79,81-65535"


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ControlJob(Record):
    kind: str  # tcp | udp | icmp
    address: str
    port: int = 0
    expect: str = "answer"  # answer | closed
    host: str = ""
    why: str = ""


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class TraceTarget(Record):
    target: str
    port: int


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class NetworkJob(Record):
    options: SweepOptions = dataclasses.field(default_factory=SweepOptions)
    controls: tuple[ControlJob, ...] = ()
    tcp: tuple[PortTarget, ...] = ()
    udp: tuple[PortTarget, ...] = ()
    icmp: tuple[str, ...] = ()
    trace: tuple[TraceTarget, ...] = ()


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ProbeRow(Record):
    """One probe's outcome from a per-socket fallback, before grouping into ranges."""

    target: str
    port: int
    status: str  # a status name of the sweep engines (open, closed, silent, ...)
    responder: str = ""
    icmp_type: int = -1
    icmp_code: int = -1
    ttl: int = 0
    detail: str = ""


# --- the route agent ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class IpOutput(Record):
    """One `ip -j ...` run at the vantage."""

    command: str
    returncode: int | None = None  # None: it could not be run at all (see error)
    stdout: str = ""
    stderr: str = ""
    error: str = ""


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class RouteJob(Record):
    lookups: tuple[str, ...] = ()
    addresses: bool = False


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class RouteResult(Record):
    lookups: tuple[IpOutput, ...] = ()
    addresses: IpOutput | None = None


# --- the DNS agent ------------------------------------------------------------------


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


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class DnsResult(Record):
    names: tuple[NameAnswer, ...] = ()
    resolvers: tuple[ServerAnswer, ...] = ()
    controls: tuple[ServerAnswer, ...] = ()
    axfr: tuple[AxfrAnswer, ...] = ()

"""What the network agent is asked and answers (vantage_agent.py), with the probe status
enum every sweep engine and fallback shares."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Literal

from prodwall.engine.protocol import Record

JobMethod = Literal["auto", "raw", "connect"]
ProbeProtocol = Literal["tcp", "udp", "icmp"]
SweepMethod = Literal["raw-syn", "raw-udp", "tcp-connect", "udp-socket"]


class ProbeStatus(enum.StrEnum):
    """One probe's outcome, as every engine and fallback at the vantage names it."""

    OPEN = "open"  # a SYN-ACK, a UDP answer
    CLOSED = "closed"  # a RST, an ICMP port-unreachable from the target itself
    REPLY = "reply"  # an ICMP echo reply
    SILENT = "silent"
    OPEN_FILTERED = "open|filtered"  # a UDP probe nothing answered (the socket fallback)
    FILTERED_ICMP = "filtered-icmp"  # an ICMP error from whoever sent it
    NO_ROUTE = "no-route"  # the vantage's kernel had no route
    LOCAL_FILTER = "local-filter"  # the vantage's own filter refused to send (EPERM)
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SweepOptions(Record):
    rate: int = 20_000  # packets per second, all senders together
    retries: int = 1
    wait: float = 1.0  # answer window of every probe's first packet
    retry_wait: float | None = None  # window of the last retransmissions; None: measured
    method: JobMethod = "auto"
    max_traces: int = 64
    connect_timeout: float = 2.0
    concurrency: int = 1000


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class PortTarget(Record):
    target: str  # an address or a swept network
    ports: str  # port ranges, e.g. "1-79,81-65535"


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ControlJob(Record):
    kind: ProbeProtocol
    address: str
    port: int = 0
    expect: Literal["answer", "closed"] = "answer"
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
    status: ProbeStatus
    responder: str = ""
    icmp_type: int = -1
    icmp_code: int = -1
    ttl: int = 0
    detail: str = ""


# --- what the network agent answers -------------------------------------------------


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SweepGroup(Record):
    """A run of identical outcomes on one address, its ports as ranges ("1-79,81-1023")."""

    target: str
    status: ProbeStatus
    ports: str
    count: int
    responder: str = ""  # who answered ("": nobody)
    icmp_type: int = -1
    icmp_code: int = -1
    ttl: int = 0  # TTL / hop limit of the answer as it arrived (0: no answer)
    detail: str = ""


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Packet(Record):
    """A captured packet: arrival time and the raw IP packet, base64."""

    at: float
    data: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class AnswerWindows(Record):
    """How long silence was waited on (s): first probes, retransmissions; slowest answer."""

    first_s: float
    retransmission_s: float
    slowest_answer_s: float


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Recovery(Record):
    """Re-probing of silent probes after the receiver lost answers."""

    rounds: int = 0
    sent: int = 0
    lost_in_last_round: int = 0
    rate: float = 0.0


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Sweep(Record):
    """One TCP or UDP sweep: how it ran and its groups."""

    method: SweepMethod
    sent: int
    retransmitted: int
    seconds: float
    groups: tuple[SweepGroup, ...] = ()
    pcap: tuple[Packet, ...] = ()
    probes: int = 0
    windows: AnswerWindows | None = None  # None: the per-socket fallbacks
    framed_targets: tuple[str, ...] = ()  # targets whose probes went out as frames
    host_filter: str = "none"  # the vantage's own filter (host evidence)
    kernel_path: dict[str, str] = dataclasses.field(default_factory=dict)
    receive_drops: int = 0  # answers lost in the receiver (-1: unknown)
    recovery: Recovery = dataclasses.field(default_factory=Recovery)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Hop(Record):
    ttl: int
    responder: str  # "" nobody; "(vantage)" the vantage refused to send
    what: str  # time-exceeded | no answer | open | closed | an ICMP name | an error
    ttl_in: int = 0  # TTL of the answer as it arrived (0: unknown)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Trace(Record):
    target: str
    port: int
    hops: tuple[Hop, ...]
    last_hop: str = ""
    reached_target: bool = False
    protocol: str = "tcp"
    packets: tuple[Packet, ...] = ()  # our probes and what answered them (TCP)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class EchoResult(Record):
    target: str
    status: ProbeStatus
    responder: str = ""
    icmp_type: int = -1
    icmp_code: int = -1
    ttl: int = 0
    detail: str = ""
    sent_as: str = "kernel"  # kernel | ethernet frames


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ControlResult(Record):
    control: ControlJob
    observed: ProbeStatus
    method: str = ""
    detail: str = ""
    next_hop: str = ""  # the gateway its answer came through ("": on-link)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class KindError(Record):
    """One kind of probe could not run at all: its probes are inconclusive."""

    kind: ProbeProtocol
    message: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class NetworkResult(Record):
    controls: tuple[ControlResult, ...] = ()
    tcp: Sweep | None = None
    udp: Sweep | None = None
    icmp: tuple[EchoResult, ...] = ()
    icmp_pcap: tuple[Packet, ...] = ()  # the echo replies and ICMP errors, as captured
    traces: tuple[Trace, ...] = ()
    udp_traces: tuple[Trace, ...] = ()
    errors: tuple[KindError, ...] = ()

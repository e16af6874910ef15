"""DNS probes, run at the vantage (its resolv.conf, its network): dnspython, read-only queries.

names     production names must not resolve to production addresses via the
          vantage's configured resolvers
resolvers production resolvers must not answer the vantage at all (UDP and TCP 53)
controls  DNS servers the vantage may use must answer (the DNS family's positive control)
axfr      zone transfers of production zones must be refused
"""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import dns.xfr
import dns.zone

from prodwall.families.dns.records import (
    AxfrAnswer,
    DnsJob,
    DnsResult,
    DnsStatus,
    NameAnswer,
    Reply,
    ServerAnswer,
)
from prodwall.families.dns.vantage_capture import DnsCapture

TIMEOUT_S = 2.0
# A send that fails with one of these may have been refused by something on the network
# (a reset, an ICMP unreachable or admin-prohibited from the boundary or the server), but
# the vantage's own reject rules and unreachable routes raise the same errors: the runner
# counts it only when the capture holds the refusing packet (dnscapture.wire_refusals).
# Any other error (no route, its own filter's EPERM) says nothing about the network.
REFUSING = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.EACCES, errno.ECONNRESET})


def _os_error(exc: OSError) -> tuple[DnsStatus, str]:
    said = exc.strerror or str(exc)
    if exc.errno in REFUSING:
        return DnsStatus.REFUSED, said
    return DnsStatus.ERROR, f"{said}: the query did not leave the vantage, nothing to judge"


def _no_nameservers(exc: dns.resolver.NoNameservers) -> tuple[DnsStatus, str]:
    """What the resolvers said: a REFUSED or SERVFAIL response is theirs; a list of
    network errors means no resolver was reached at all."""
    errors = exc.kwargs.get("errors") or []
    rcodes = [dns.rcode.to_text(e[4].rcode()) for e in errors if len(e) > 4 and e[4] is not None]
    if "REFUSED" in rcodes:
        return DnsStatus.REFUSED, "refused"
    if rcodes:
        return DnsStatus.SERVFAIL, "servfail"
    why = next((str(e[3]) for e in errors if len(e) > 3), "no nameserver answered")
    return DnsStatus.ERROR, f"no resolver was reached ({why})"


def _resolve(name: str) -> NameAnswer:
    try:
        resolver = dns.resolver.Resolver()  # the vantage's /etc/resolv.conf
    except dns.resolver.NoResolverConfiguration:
        return NameAnswer(
            name=name, status=DnsStatus.ERROR, detail="the vantage has no resolver configured"
        )
    resolver.lifetime = TIMEOUT_S * 2
    resolver.timeout = TIMEOUT_S
    addresses: list[str] = []
    statuses: list[DnsStatus] = []
    details: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
            addresses += [r.to_text() for r in answer]
            statuses.append(DnsStatus.NOERROR)
        except dns.resolver.NXDOMAIN:
            statuses.append(DnsStatus.NXDOMAIN)
        except dns.resolver.NoNameservers as exc:
            status, why = _no_nameservers(exc)
            statuses.append(status)
            details.append(why)
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            statuses.append(DnsStatus.TIMEOUT)
    if addresses:
        status = DnsStatus.ANSWER
    else:  # the least telling answer decides: one failed lookup cannot be read as "no"
        worst = (DnsStatus.ERROR, DnsStatus.TIMEOUT, DnsStatus.SERVFAIL)
        status = next((w for w in worst if w in statuses), statuses[0])
    said = "/".join(statuses) + "".join(f"; {d}" for d in dict.fromkeys(details)
                                        if status is DnsStatus.ERROR)  # fmt: skip
    return NameAnswer(
        name=name,
        status=status,
        addresses=tuple(addresses),
        nameservers=tuple(str(n) for n in resolver.nameservers),
        detail=said,
    )


def _reply(send: Any, query: dns.message.Message, server: str) -> Reply:
    try:
        response = send(query, server, timeout=TIMEOUT_S)
        return Reply(status=DnsStatus.ANSWER, rcode=dns.rcode.to_text(response.rcode()))
    except dns.exception.Timeout:
        return Reply(status=DnsStatus.TIMEOUT)
    except OSError as exc:
        status, said = _os_error(exc)
        return Reply(status=status, detail=said, errno=exc.errno or 0)
    except dns.exception.DNSException as exc:
        return Reply(status=DnsStatus.ERROR, detail=exc.__class__.__name__)


def _server(server: str, zone: str) -> ServerAnswer:
    query = dns.message.make_query(zone, "SOA")
    return ServerAnswer(
        server=server,
        zone=zone,
        udp=_reply(dns.query.udp, query, server),
        tcp=_reply(dns.query.tcp, query, server),
    )


def _axfr(server: str, zone: str) -> AxfrAnswer:
    def refused(detail: str) -> AxfrAnswer:
        return AxfrAnswer(server=server, zone=zone, status=DnsStatus.REFUSED, detail=detail)

    try:
        z = dns.zone.Zone(zone)
        dns.query.inbound_xfr(server, z, timeout=TIMEOUT_S, lifetime=TIMEOUT_S * 3)
        records = len(list(z.iterate_rdatas()))
        return AxfrAnswer(server=server, zone=zone, status=DnsStatus.TRANSFERRED, records=records)
    except dns.xfr.TransferError as exc:
        return refused(f"rcode {dns.rcode.to_text(exc.rcode)}")
    except dns.exception.Timeout:
        return AxfrAnswer(server=server, zone=zone, status=DnsStatus.TIMEOUT)
    except OSError as exc:
        status, said = _os_error(exc)
        return AxfrAnswer(
            server=server, zone=zone, status=status, detail=said, errno=exc.errno or 0
        )
    except EOFError as exc:  # the server closed the transfer: it answered, and refused it
        return refused(exc.__class__.__name__)
    except dns.exception.DNSException as exc:
        return refused(exc.__class__.__name__)


def probe(job: DnsJob) -> DnsResult:
    """Every query at once: silent servers cost one timeout, not one per query."""
    try:
        own = [str(n) for n in dns.resolver.Resolver().nameservers]
    except dns.resolver.NoResolverConfiguration:
        own = []
    zone = (job.zones or (".",))[0]
    capture = DnsCapture({*own, *job.resolvers, *job.controls, *job.axfr_servers})
    with capture, ThreadPoolExecutor(max_workers=32) as pool:
        names = [pool.submit(_resolve, n) for n in job.names]
        resolvers = [pool.submit(_server, s, zone) for s in job.resolvers]
        controls = [pool.submit(_server, s, zone) for s in job.controls]
        # only the servers the plan names (and the scope guard passed): never one the
        # vantage's resolv.conf happens to list
        axfr = [pool.submit(_axfr, s, z) for z in job.zones for s in job.axfr_servers]
        answers = (
            tuple(f.result() for f in names),
            tuple(f.result() for f in resolvers),
            tuple(f.result() for f in controls),
            tuple(f.result() for f in axfr),
        )
    return DnsResult(
        names=answers[0],
        resolvers=answers[1],
        controls=answers[2],
        axfr=answers[3],
        packets=tuple(capture.packets),
        capture_note=capture.note,
    )


def run(job: dict[str, Any]) -> dict[str, Any]:
    return probe(DnsJob.from_json(job)).to_json()

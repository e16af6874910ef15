"""The DNS family: observations from the DNS agent at the vantage.

NXDOMAIN or REFUSED for a production name is `blocked`; an answer that holds
a production address is `reachable`; a resolver timeout is `inconclusive`
(silence from a resolver proves nothing about what it would say).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from prodwall import hostforms
from prodwall.engine import packet_evidence
from prodwall.engine.pcap import write_pcap
from prodwall.engine.protocol import ProtocolError
from prodwall.families.dns import vantage_capture as dnscapture
from prodwall.families.dns.records import (
    AxfrAnswer,
    DnsJob,
    DnsResult,
    DnsStatus,
    NameAnswer,
    Reply,
    ServerAnswer,
)
from prodwall.inventory.model import IPNetwork
from prodwall.plan import Plan, Probe, network_of
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.verdicts import ControlEvidence, Observation, Signal

AGENT = "prodwall.families.dns.vantage_agent"


def _domain_of(name: str, domains: list[str]) -> str:
    name = name.rstrip(".")
    return max((d for d in domains if name == d or name.endswith("." + d)), key=len, default="")


def run(
    probes: tuple[Probe, ...], plan: Plan, evidence_dir: Path | None = None
) -> tuple[Observation, ...]:
    if not probes:
        return ()
    # dns-axfr probes name the zones (sends nothing) and the servers asked (packets)
    domains = [p.target for p in probes if p.kind == "dns-axfr" and p.sends == "nothing"]
    servers = [p.target for p in probes if p.kind == "dns-axfr" and p.sends == "packets"]
    prod = list(plan.production)
    job = DnsJob(
        names=tuple(p.target for p in probes if p.kind == "dns-name"),
        resolvers=tuple(p.target for p in probes if p.kind == "dns-resolver"),
        controls=tuple(p.target for p in probes if p.kind == "dns-control"),
        zones=tuple(domains),
        axfr_servers=tuple(dict.fromkeys(servers)),
    )
    hosts = {p.target: p.host for p in probes}
    try:
        raw = run_agent(plan.vantage, AGENT, job.to_json(), 120 + 20 * len(probes))
        result = DnsResult.from_json(raw)
    except (AgentError, ProtocolError) as exc:
        return tuple(
            Observation(
                p.kind,
                p.target,
                Signal.FAILED,
                str(exc),
                p.host,
                evidence={"domain": _domain_of(p.target, domains)},
            )
            for p in probes
        )
    result = _attributed(result)
    obs = [_name_obs(r, domains, prod) for r in result.names]
    for r in result.resolvers:
        for proto, reply in (("udp", r.udp), ("tcp", r.tcp)):
            obs.append(_resolver_obs(r.server, proto, reply, hosts.get(r.server), prod))
    obs += [_control_obs(r, hosts.get(r.server)) for r in result.controls]
    obs += [_axfr_obs(r) for r in result.axfr]
    return tuple(_with_capture(_own_filter(obs, result), result, plan, evidence_dir))


_Refusable = TypeVar("_Refusable", Reply, AxfrAnswer)  # a status, its errno and its detail


def _attributed(result: DnsResult) -> DnsResult:
    """Refusals as the capture shows them. A refusal read from a socket error (ICMP
    unreachable, admin-prohibited, a reset) counts as the network's only when the capture
    holds the refusing packet, arrived from outside: the vantage's own reject rule or
    unreachable route raises the same error, and that is the vantage refusing, not the
    network, so it is an error (inconclusive). And a query that timed out while an ICMP
    unreachable about it arrived (UDP sockets are not told) was refused by the network."""
    seen = dnscapture.wire_refusals([base64.b64decode(p.data) for p in result.packets])
    why = (
        f"no capture shows where the refusal came from ({result.capture_note})"
        if result.capture_note
        else "no refusal from the network was captured: the vantage's own reject rule or "
        "route refused it"
    )

    def judged(server: str, proto: str, r: _Refusable) -> _Refusable:
        if r.status is DnsStatus.REFUSED and r.errno and (server, proto) not in seen:
            return replace(r, status=DnsStatus.ERROR, detail=f"{r.detail}: {why}")
        if r.status is DnsStatus.TIMEOUT and (server, proto) in seen:
            return replace(r, status=DnsStatus.REFUSED,
                           detail="an ICMP unreachable from the network (captured)")  # fmt: skip
        return r

    def answer(r: ServerAnswer) -> ServerAnswer:
        return replace(r, udp=judged(r.server, "udp", r.udp), tcp=judged(r.server, "tcp", r.tcp))

    return replace(
        result,
        resolvers=tuple(answer(r) for r in result.resolvers),
        controls=tuple(answer(r) for r in result.controls),
        axfr=tuple(judged(r.server, "tcp", r) for r in result.axfr),
    )


def _own_filter(obs: list[Observation], result: DnsResult) -> list[Observation]:
    """A server the vantage itself refused to send to (its own filter, no route): its
    silence over any protocol is the vantage's doing, not the network's, so no positive
    control can make it evidence (docs/design.md: a refusal inside the vantage is host evidence)."""
    local = {r.server for r in result.resolvers
             if DnsStatus.ERROR in (r.udp.status, r.tcp.status)}  # fmt: skip
    local |= {r.server for r in result.axfr if r.status is DnsStatus.ERROR}
    out = []
    for o in obs:
        server = str(o.evidence.get("server") or o.target)
        if o.signal is Signal.SILENT and server in local:
            o = replace(o, signal=Signal.FAILED, detail=f"{o.detail}: the vantage itself "
                        f"refuses to send to {server} (its own filter or routes), so "
                        "silence says nothing of the network")  # fmt: skip
        out.append(o)
    return out


def _with_capture(
    obs: list[Observation], result: DnsResult, plan: Plan, folder: Path | None
) -> list[Observation]:
    """The probes' own packets as a capture file each DNS verdict names, with a decoded
    sample per server; or why there is none."""
    if folder is None:
        return obs
    if not result.packets:
        note = result.capture_note or "no DNS packet was captured"
        return [replace(o, evidence={**o.evidence, "capture": note}) for o in obs]
    packets = sorted(((p.at, base64.b64decode(p.data)) for p in result.packets),
                     key=lambda tp: tp[0])  # fmt: skip
    path = Path(folder) / f"{plan.vantage_name}-dns.pcap"
    rel = f"{Path(folder).name}/{path.name}"  # its place in the bundle, not the run's
    saved = {"file": rel, "sha256": write_pcap(path, packets), "packets": len(packets)}
    decoded = packet_evidence.by_address(packets)
    out = []
    for o in obs:
        servers = [o.evidence.get("server"), *o.evidence.get("nameservers", [])]
        if o.kind in ("dns-resolver", "dns-control"):
            servers.append(o.target)
        sample = [line for s in servers if s for line in decoded.get(str(s), [])][:20]
        out.append(replace(o, evidence={**o.evidence, "pcap": saved,
                                        **({"packets": sample} if sample else {})}))  # fmt: skip
    return out


def _control_obs(r: ServerAnswer, host: str | None) -> Observation:
    """A DNS server the vantage may use answered over UDP (any rcode is an answer)."""
    passed = r.udp.status is DnsStatus.ANSWER
    seen = r.udp.rcode or r.udp.status.value
    control = ControlEvidence(passed=passed, expect="answer", observed=seen)
    return Observation(
        "dns-control",
        r.server,
        Signal.CROSSED if passed else Signal.FAILED,
        f"positive control {r.server} dns/53 ({host}): expected an answer, saw {seen}",
        host,
        "udp",
        53,
        evidence=control.as_evidence(),
        control=control,
    )


def _name_obs(r: NameAnswer, domains: list[str], prod: list[IPNetwork]) -> Observation:
    name = r.name
    ev = {
        "domain": _domain_of(name, domains),
        "nameservers": list(r.nameservers),
        "addresses": list(r.addresses),
    }
    if r.status is DnsStatus.ANSWER:
        # an AAAA answer that carries a production IPv4 (::ffff:, NAT64, 6to4, Teredo)
        # reaches production as surely as the A record would
        inside = [
            a
            for a in r.addresses
            if any(x in n for x in hostforms.addresses(a) for n in prod if n.version == x.version)
        ]
        if inside:
            return Observation(
                "dns-name",
                name,
                Signal.CROSSED,
                f"resolves to production address(es) {', '.join(inside)}",
                evidence=ev,
                responder=",".join(ev["nameservers"]),
            )
        return Observation(
            "dns-name",
            name,
            Signal.STOPPED,
            f"resolves only to non-production addresses {', '.join(r.addresses)}",
            evidence=ev,
        )
    if r.status in (DnsStatus.NXDOMAIN, DnsStatus.REFUSED, DnsStatus.NOERROR):
        return Observation(
            "dns-name", name, Signal.STOPPED, f"does not resolve ({r.detail})", evidence=ev
        )
    if r.status is DnsStatus.SERVFAIL:  # the resolver could not tell: neither yes nor no
        return Observation(
            "dns-name", name, Signal.FAILED,
            f"the vantage's resolver failed ({r.detail}): no answer to judge", evidence=ev,
        )  # fmt: skip
    if r.status is DnsStatus.TIMEOUT:
        return Observation(
            "dns-name", name, Signal.FAILED, "the vantage's resolver timed out", evidence=ev
        )
    return Observation("dns-name", name, Signal.FAILED, r.detail or r.status.value, evidence=ev)


def _resolver_obs(
    server: str, proto: str, r: Reply, host: str | None, prod: list[IPNetwork]
) -> Observation:
    ev = {
        "network": network_of(server, prod),
        "protocol": proto,
    }
    if r.status is DnsStatus.ANSWER:
        return Observation(
            "dns-resolver",
            server,
            Signal.CROSSED,
            f"production resolver answered over {proto} (rcode {r.rcode})",
            host,
            proto,
            53,
            server,
            ev,
        )
    if r.status is DnsStatus.REFUSED:
        return Observation(
            "dns-resolver",
            server,
            Signal.STOPPED,
            f"{proto}/53 refused before the resolver ({r.detail})",
            host,
            proto,
            53,
            evidence=ev,
        )
    if r.status is DnsStatus.TIMEOUT:
        return Observation(
            "dns-resolver",
            server,
            Signal.SILENT,
            f"no answer over {proto}",
            host,
            proto,
            53,
            evidence=ev,
        )
    return Observation(
        "dns-resolver",
        server,
        Signal.FAILED,
        r.detail or "error",
        host,
        proto,
        53,
        evidence=ev,
    )


def _axfr_obs(r: AxfrAnswer) -> Observation:
    server, zone = r.server, r.zone
    ev = {"domain": zone, "server": server}
    if r.status is DnsStatus.TRANSFERRED:
        return Observation(
            "dns-axfr",
            zone,
            Signal.CROSSED,
            f"zone transfer from {server} succeeded ({r.records} records)",
            responder=server,
            evidence=ev,
        )
    if r.status is DnsStatus.REFUSED:
        return Observation(
            "dns-axfr",
            zone,
            Signal.STOPPED,
            f"zone transfer from {server} refused ({r.detail})",
            evidence=ev,
        )
    if r.status is DnsStatus.TIMEOUT:
        return Observation("dns-axfr", zone, Signal.SILENT, f"no answer from {server}", evidence=ev)
    return Observation("dns-axfr", zone, Signal.FAILED, r.detail or "error", evidence=ev)

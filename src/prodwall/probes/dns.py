"""The DNS family: observations from the DNS agent at the vantage.

NXDOMAIN or REFUSED for a production name is `blocked`; an answer that holds
a production address is `reachable`; a resolver timeout is `inconclusive`
(silence from a resolver proves nothing about what it would say).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..inventory.model import IPNetwork
from ..plan import Plan, Probe, network_of
from ..vantages.agent import AgentError, run_agent
from ..verdicts import Observation, Signal

KINDS = frozenset({"dns-name", "dns-resolver", "dns-axfr"})


def _domain_of(name: str, domains: list[str]) -> str:
    name = name.rstrip(".")
    return max((d for d in domains if name == d or name.endswith("." + d)), key=len, default="")


def run(probes: tuple[Probe, ...], plan: Plan) -> tuple[Observation, ...]:
    if not probes:
        return ()
    domains = [p.target for p in probes if p.kind == "dns-axfr"]
    prod = list(plan.production)
    job = {
        "names": [p.target for p in probes if p.kind == "dns-name"],
        "resolvers": [p.target for p in probes if p.kind == "dns-resolver"],
        "controls": [p.target for p in probes if p.kind == "dns-control"],
        "zones": domains,
    }
    hosts = {p.target: p.host for p in probes}
    try:
        result = run_agent(plan.vantage, "prodwall.probes.dnsagent", job, 120 + 20 * len(probes))
    except AgentError as exc:
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
    obs = [_name_obs(r["name"], r, domains, prod) for r in result["names"]]
    for r in result["resolvers"]:
        for proto in ("udp", "tcp"):
            obs.append(_resolver_obs(r["server"], proto, r[proto], hosts.get(r["server"]), prod))
    obs += [_control_obs(r, hosts.get(r["server"])) for r in result["controls"]]
    obs += [_axfr_obs(r["server"], r["zone"], r) for r in result["axfr"]]
    return tuple(obs)


def _control_obs(r: dict[str, Any], host: str | None) -> Observation:
    """A DNS server the vantage may use answered over UDP (any rcode is an answer)."""
    udp = r["udp"]
    passed = udp.get("status") == "answer"
    seen = udp.get("rcode") or udp.get("status")
    return Observation(
        "dns-control",
        r["server"],
        Signal.CROSSED if passed else Signal.FAILED,
        f"positive control {r['server']} dns/53 ({host}): expected an answer, saw {seen}",
        host,
        "udp",
        53,
        evidence={"passed": passed, "expect": "answer", "observed": seen},
    )


def _name_obs(
    name: str, r: dict[str, Any], domains: list[str], prod: list[IPNetwork]
) -> Observation:
    ev = {
        "domain": _domain_of(name, domains),
        "nameservers": r.get("nameservers", []),
        "addresses": r.get("addresses", []),
    }
    if r["status"] == "answer":
        inside = [
            a
            for a in r["addresses"]
            if any(
                ipaddress.ip_address(a) in n
                for n in prod
                if n.version == ipaddress.ip_address(a).version
            )
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
            f"resolves only to non-production addresses {', '.join(r['addresses'])}",
            evidence=ev,
        )
    if r["status"] in ("nxdomain", "refused", "servfail", "noerror"):
        return Observation(
            "dns-name", name, Signal.STOPPED, f"does not resolve ({r['detail']})", evidence=ev
        )
    if r["status"] == "timeout":
        return Observation(
            "dns-name", name, Signal.FAILED, "the vantage's resolver timed out", evidence=ev
        )
    return Observation("dns-name", name, Signal.FAILED, r.get("detail", r["status"]), evidence=ev)


def _resolver_obs(
    server: str, proto: str, r: dict[str, Any], host: str | None, prod: list[IPNetwork]
) -> Observation:
    ev = {
        "network": network_of(server, prod),
        "protocol": proto,
    }
    if r["status"] == "answer":
        return Observation(
            "dns-resolver",
            server,
            Signal.CROSSED,
            f"production resolver answered over {proto} (rcode {r['rcode']})",
            host,
            proto,
            53,
            server,
            ev,
        )
    if r["status"] == "refused":
        return Observation(
            "dns-resolver",
            server,
            Signal.STOPPED,
            f"{proto}/53 refused before the resolver ({r.get('detail', '')})",
            host,
            proto,
            53,
            evidence=ev,
        )
    if r["status"] == "timeout":
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
        r.get("detail", "error"),
        host,
        proto,
        53,
        evidence=ev,
    )


def _axfr_obs(server: str, zone: str, r: dict[str, Any]) -> Observation:
    ev = {"domain": zone, "server": server}
    if r["status"] == "transferred":
        return Observation(
            "dns-axfr",
            zone,
            Signal.CROSSED,
            f"zone transfer from {server} succeeded ({r['records']} records)",
            responder=server,
            evidence=ev,
        )
    if r["status"] == "refused":
        return Observation(
            "dns-axfr",
            zone,
            Signal.STOPPED,
            f"zone transfer from {server} refused ({r.get('detail', '')})",
            evidence=ev,
        )
    if r["status"] == "timeout":
        return Observation("dns-axfr", zone, Signal.SILENT, f"no answer from {server}", evidence=ev)
    return Observation("dns-axfr", zone, Signal.FAILED, r.get("detail", "error"), evidence=ev)

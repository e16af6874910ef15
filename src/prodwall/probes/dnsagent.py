"""DNS probes, run at the vantage (its resolv.conf, its network): dnspython, read-only queries.

names     production names must not resolve to production addresses via the
          vantage's configured resolvers
resolvers production resolvers must not answer the vantage at all (UDP and TCP 53)
axfr      zone transfers of production zones must be refused
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import dns.xfr
import dns.zone

TIMEOUT_S = 2.0


def _resolve(name: str) -> dict[str, Any]:
    try:
        resolver = dns.resolver.Resolver()  # the vantage's /etc/resolv.conf
    except dns.resolver.NoResolverConfiguration:
        return {"status": "error", "detail": "the vantage has no resolver configured"}
    resolver.lifetime = TIMEOUT_S * 2
    resolver.timeout = TIMEOUT_S
    addresses: list[str] = []
    statuses = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
            addresses += [r.to_text() for r in answer]
            statuses.append("noerror")
        except dns.resolver.NXDOMAIN:
            statuses.append("nxdomain")
        except dns.resolver.NoNameservers as exc:
            statuses.append("refused" if "REFUSED" in str(exc) else "servfail")
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            statuses.append("timeout")
    return {
        "status": "answer" if addresses else ("timeout" if "timeout" in statuses else statuses[0]),
        "addresses": addresses,
        "nameservers": list(resolver.nameservers),
        "detail": "/".join(statuses),
    }


def _resolver_answers(server: str, zone: str) -> dict[str, Any]:
    query = dns.message.make_query(zone, "SOA")
    out: dict[str, Any] = {}
    for proto, send in (("udp", dns.query.udp), ("tcp", dns.query.tcp)):
        try:
            response = send(query, server, timeout=TIMEOUT_S)
            out[proto] = {"status": "answer", "rcode": dns.rcode.to_text(response.rcode())}
        except dns.exception.Timeout:
            out[proto] = {"status": "timeout"}
        except OSError as exc:
            out[proto] = {"status": "refused", "detail": exc.strerror or str(exc)}
        except dns.exception.DNSException as exc:
            out[proto] = {"status": "error", "detail": exc.__class__.__name__}
    return out


def _axfr(server: str, zone: str) -> dict[str, Any]:
    try:
        z = dns.zone.Zone(zone)
        dns.query.inbound_xfr(server, z, timeout=TIMEOUT_S, lifetime=TIMEOUT_S * 3)
        return {"status": "transferred", "records": len(list(z.iterate_rdatas()))}
    except dns.xfr.TransferError as exc:
        return {"status": "refused", "detail": f"rcode {dns.rcode.to_text(exc.rcode)}"}
    except dns.exception.Timeout:
        return {"status": "timeout"}
    except (OSError, EOFError, ConnectionError) as exc:
        return {
            "status": "refused",
            "detail": getattr(exc, "strerror", None) or exc.__class__.__name__,
        }
    except dns.exception.DNSException as exc:
        return {"status": "refused", "detail": exc.__class__.__name__}


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Every query at once: silent servers cost one timeout, not one per query."""
    try:
        own = list(dns.resolver.Resolver().nameservers)
    except dns.resolver.NoResolverConfiguration:
        own = []
    zones = job.get("zones", [])
    with ThreadPoolExecutor(max_workers=32) as pool:
        names = {n: pool.submit(_resolve, n) for n in job.get("names", [])}
        probe_zone = (zones or ["."])[0]
        resolvers = [
            (s, probe_zone, pool.submit(_resolver_answers, s, probe_zone))
            for s in job.get("resolvers", [])
        ]
        controls = [
            (s, probe_zone, pool.submit(_resolver_answers, s, probe_zone))
            for s in job.get("controls", [])
        ]
        axfr = [
            (s, z, pool.submit(_axfr, s, z))
            for z in zones
            for s in [*own, *job.get("resolvers", [])]
        ]
        return {
            "names": [{"name": k, **f.result()} for k, f in names.items()],
            "resolvers": [{"server": s, "zone": z, **f.result()} for s, z, f in resolvers],
            "controls": [{"server": s, "zone": z, **f.result()} for s, z, f in controls],
            "axfr": [{"server": s, "zone": z, **f.result()} for s, z, f in axfr],
        }


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)

"""The probe agent: runs *at* the vantage (`ip netns exec NS python -m prodwall.probes.agent`).

It reads one job as JSON on stdin, sends only what the job lists (the job was
built from a scope-guarded plan), reports progress on stderr and writes one
JSON result on stdout. It never judges: the parent turns results into
observations.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any

from . import connect, icmp, synscan, udp
from .synscan import STATUS_NAMES, RawSocketsUnavailable


def _say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _ranges(ports: list[int]) -> str:
    out: list[str] = []
    start = prev = ports[0]
    for p in ports[1:]:
        if p != prev + 1:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = p
        prev = p
    out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ",".join(out)


def _parse_ports(text: str) -> list[int]:
    ports: list[int] = []
    for chunk in text.split(","):
        lo, _, hi = chunk.partition("-")
        ports.extend(range(int(lo), int(hi or lo) + 1))
    return ports


def tcp_sweep(targets: list[str], ports: list[int], opts: dict[str, Any]) -> dict[str, Any]:
    method = opts.get("method", "auto")
    if method != "connect":
        try:
            result = synscan.sweep(
                targets,
                ports,
                rate=opts.get("rate", 20000),
                retries=opts.get("retries", 1),
                wait=opts.get("wait", 1.0),
                progress=_say,
            )
            return {"method": "raw-syn", **_group_raw(result)}
        except RawSocketsUnavailable:
            _say("no CAP_NET_RAW here: falling back to TCP connect() (weaker evidence)")
    started = time.monotonic()
    pairs = [(t, p) for t in targets for p in ports]
    found = connect.connect_all(
        pairs, timeout=opts.get("connect_timeout", 2.0), concurrency=opts.get("concurrency", 1000)
    )
    groups = _group([(r.target, r.port, r.status, "", -1, -1, 0, r.detail) for r in found])
    return {
        "method": "tcp-connect",
        "sent": len(pairs),
        "retransmitted": 0,
        "seconds": round(time.monotonic() - started, 3),
        "groups": groups,
        "pcap": [],
    }


def _group_raw(r: synscan.SweepResult) -> dict[str, Any]:
    rows = []
    nports = len(r.ports)
    for t, target in enumerate(r.targets):
        base = t * nports
        for pi, port in enumerate(r.ports):
            i = base + pi
            status = STATUS_NAMES[r.status[i]]
            rid = r.responder[i]
            who, itype, code = r.responders[rid] if rid != 0xFFFF else ("", -1, -1)
            rows.append((target, port, status, who, itype, code, r.ttl[i], ""))
    return {
        "sent": r.sent,
        "retransmitted": r.retransmitted,
        "seconds": round(r.seconds, 3),
        "groups": _group(rows),
        "pcap": [base64.b64encode(p).decode() for p in r.answers_pcap],
    }


def _group(rows: list[tuple[str, int, str, str, int, int, int, str]]) -> list[dict[str, Any]]:
    """Run-length groups of identical outcomes; open and closed ports stay one per row."""
    out: list[dict[str, Any]] = []
    key: tuple[Any, ...] | None = None
    ports: list[int] = []
    for target, port, status, who, itype, code, ttl, detail in rows:
        new = (target, status, who, itype, code, ttl, detail)
        if new == key and status not in ("open", "closed"):
            ports.append(port)
            continue
        if key is not None:
            out.append(_emit(key, ports))
        key, ports = new, [port]
    if key is not None:
        out.append(_emit(key, ports))
    return out


def _emit(key: tuple[Any, ...], ports: list[int]) -> dict[str, Any]:
    target, status, who, itype, code, ttl, detail = key
    return {
        "target": target,
        "status": status,
        "responder": who,
        "icmp": [itype, code],
        "ttl": ttl,
        "ports": _ranges(ports),
        "count": len(ports),
        "detail": detail,
    }


def run(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"controls": [], "tcp": [], "udp": [], "icmp": [], "errors": []}
    opts = job.get("options", {})
    for control in job.get("controls", []):
        out["controls"].append(_control(control, opts))
    for sweep_job in job.get("tcp", []):
        targets, ports = sweep_job["targets"], _parse_ports(sweep_job["ports"])
        _say(f"tcp: {len(targets)} addresses x {len(ports):,} ports")
        out["tcp"].append(tcp_sweep(targets, ports, opts))
    if job.get("udp"):
        pairs = [(p["target"], port) for p in job["udp"] for port in _parse_ports(p["ports"])]
        _say(f"udp: {len(pairs):,} probes")
        out["udp"] = [vars(r) for r in udp.probe_all(pairs, retries=opts.get("retries", 1))]
    if job.get("icmp"):
        _say(f"icmp: {len(job['icmp'])} echo requests")
        try:
            out["icmp"] = [
                vars(r) for r in icmp.echo_all(job["icmp"], retries=opts.get("retries", 1))
            ]
        except PermissionError:
            out["errors"].append("icmp: raw ICMP sockets need CAP_NET_RAW")
    return out


def _control(control: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    kind, address = control["kind"], control["address"]
    if kind == "tcp":
        result = tcp_sweep([address], [control["port"]], {**opts, "retries": 2})
        status = result["groups"][0]["status"] if result["groups"] else "error"
        return {**control, "observed": status, "method": result["method"]}
    if kind == "udp":
        r = udp.probe_all([(address, control["port"])], retries=2)[0]
        return {**control, "observed": r.status, "detail": r.detail}
    try:
        e = icmp.echo_all([address], retries=2)[0]
    except PermissionError:
        return {**control, "observed": "error", "detail": "raw ICMP needs CAP_NET_RAW"}
    return {**control, "observed": e.status, "detail": e.detail}


def main() -> int:
    job = json.load(sys.stdin)
    result = run(job)
    json.dump(result, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

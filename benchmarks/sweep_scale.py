"""Scale: TCP sweeps of 1M, 10M and 100M probes, and a full UDP sweep, in the lab.

From netns:pwlab-dev, every port (1-65535) of 16, 153 and 1,526 addresses in
198.19.16.0/21 (1.05M, 10.0M and 100.0M probes). The router drops those addresses
silently with an nftables set (the normal case for isolation); 24 open and 24 closed
TCP ports are planted at random on addresses the prod namespace really holds, let
through by a second set. Each sweep must find every planted port and claim nothing
else. Time and peak memory (PSS of the agent's whole process tree) are reported per
size, with the time per million probes, so linear growth shows as a flat column.

The same 16 addresses are then swept over UDP (all 65,535 ports each), with 24 UDP
ports let through to hosts where nothing listens: each must be found closed by the
host's own ICMP port-unreachable. UDP time is printed against the 1M TCP sweep's.

    sudo .venv/bin/python benchmarks/sweep_scale.py [--sizes 1,10,100] [--rate 1000000]

Not a test: it prints figures and ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import subprocess
import sys
import time

from measure import timed

from prodwall.lab import manager
from prodwall.lab.topology import ROUTER_NS, ZONES
from prodwall.services import PortSet

DEV, PROD = ZONES["dev"].ns, ZONES["prod"].ns
SPACE = ipaddress.ip_network("198.19.16.0/21")
PER_ADDRESS = 65535
PLANTED = 24


def sh(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True).stdout


def addresses(probes_millions: int) -> list[str]:
    count = -(-probes_millions * 1_000_000 // PER_ADDRESS)
    return [str(a) for a in list(SPACE.hosts())[:count]]


def prepare(targets: list[str], seed: int) -> tuple[dict[str, set[tuple[str, int]]], object]:
    """Plant open and closed TCP ports and UDP holes; the router drops everything else."""
    rng = random.Random(seed)
    hosts = rng.sample(targets[:16], 8)  # planted ports live on addresses prod really holds
    pairs = rng.sample([(h, p) for h in hosts for p in range(1, 65536)], 3 * PLANTED)
    planted = {
        "open": set(pairs[:PLANTED]),
        "closed": set(pairs[PLANTED : 2 * PLANTED]),
        "udp": set(pairs[2 * PLANTED :]),
    }
    for h in hosts:
        sh("ip", "-n", PROD, "addr", "add", f"{h}/32", "dev", "eth0")
    sh("ip", "-n", ROUTER_NS, "route", "replace", str(SPACE), "dev", "to-prod")
    tcp = ", ".join(f"{t} . {p}" for t, p in sorted(planted["open"] | planted["closed"]))
    udp = ", ".join(f"{t} . {p}" for t, p in sorted(planted["udp"]))
    table, rule = "inet prodwall_lab", 'insert rule inet prodwall_lab forward iifname "to-dev"'
    rules = [
        f"add set {table} scale_space "
        f"{{ type ipv4_addr; flags interval; elements = {{ {SPACE} }} }}",
        f"add set {table} scale_tcp {{ type ipv4_addr . inet_service; elements = {{ {tcp} }} }}",
        f"add set {table} scale_udp {{ type ipv4_addr . inet_service; elements = {{ {udp} }} }}",
        f"{rule} ip daddr @scale_space counter drop",
        f"{rule} ip daddr . udp dport @scale_udp accept",
        f"{rule} ip daddr . tcp dport @scale_tcp accept",
    ]
    sh("ip", "netns", "exec", ROUTER_NS, "nft", "-f", "-", stdin="\n".join(rules) + "\n")
    args = [a for t, p in sorted(planted["open"]) for a in ("--tcp", f"{t},{p}")]
    listener = subprocess.Popen(
        ["ip", "netns", "exec", PROD, sys.executable, "-m", "prodwall.lab.listener", *args]
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listening = sh("ip", "netns", "exec", PROD, "ss", "-Hltn")
        if all(f"{t}:{p} " in listening for t, p in planted["open"]):
            break
        time.sleep(0.2)
    return planted, listener


def sweep(
    kind: str, targets: list[str], rate: int
) -> tuple[float, float, dict[str, set[tuple[str, int]]], dict[str, object]]:
    job = {
        "options": {"rate": rate, "retries": 1, "wait": 1.0},
        "tcp": [{"target": t, "ports": "1-65535"} for t in targets] if kind == "tcp" else [],
        "udp": [{"target": t, "ports": "1-65535"} for t in targets] if kind == "udp" else [],
    }
    seconds, peak, out, code = timed(
        ["ip", "netns", "exec", DEV, sys.executable, "-m",
         "prodwall.families.network.vantage_agent"],
        timeout=3600,
        stdin=json.dumps(job),
    )
    if code != 0:
        raise RuntimeError(f"the agent exited {code}")
    result = json.loads(out)[kind]
    claims: dict[str, set[tuple[str, int]]] = {"open": set(), "closed": set()}
    for g in result["groups"]:
        if g["status"] in claims:
            claims[g["status"]] |= {(g["target"], p) for p in PortSet.parse(g["ports"])}
    stats = {k: result.get(k) for k in ("sent", "retransmitted", "receive_drops", "probes")}
    return seconds, peak, claims, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,100", help="millions of probes, comma-separated")
    ap.add_argument("--rate", type=int, default=1_000_000)
    args = ap.parse_args()
    manager.require_root()
    sizes = [int(s) for s in args.sizes.split(",")]
    largest = addresses(max(sizes))
    manager.down()
    manager.up("sealed", lambda m: None)
    planted, listener = prepare(largest, seed=9)
    rows = []
    try:
        for size in sizes:
            targets = addresses(size)
            seconds, peak, claims, stats = sweep("tcp", targets, args.rate)
            want_open = {p for p in planted["open"] if p[0] in targets}
            want_closed = {p for p in planted["closed"] if p[0] in targets}
            correct = claims["open"] == want_open and claims["closed"] == want_closed
            rows.append(("tcp", size, len(targets), seconds, peak, correct, stats))
            print(
                json.dumps(
                    {
                        "kind": "tcp",
                        "millions": size,
                        "seconds": round(seconds, 1),
                        "peak_pss_mb": round(peak),
                        "correct": correct,
                        **stats,
                    }
                ),
                flush=True,
            )
        targets = addresses(1)
        seconds, peak, claims, stats = sweep("udp", targets, args.rate)
        correct = claims["closed"] == planted["udp"] and not claims["open"]
        rows.append(("udp", 1, len(targets), seconds, peak, correct, stats))
        print(
            json.dumps(
                {
                    "kind": "udp",
                    "millions": 1,
                    "seconds": round(seconds, 1),
                    "peak_pss_mb": round(peak),
                    "correct": correct,
                    **stats,
                }
            ),
            flush=True,
        )
    finally:
        listener.kill()  # type: ignore[attr-defined]
        manager.down()
    print("\n| sweep | addresses | probes | time | s per million probes | peak PSS | correct |")
    print("|---|---|---|---|---|---|---|")
    for kind, _size, count, seconds, peak, correct, stats in rows:
        probes = int(stats["probes"] or count * PER_ADDRESS)  # type: ignore[call-overload]
        print(
            f"| {kind} | {count:,} | {probes:,} | {seconds:.1f} s | "
            f"{seconds / (probes / 1e6):.2f} | {peak:.0f} MB | {correct} |"
        )
    tcp1 = next(r for r in rows if r[0] == "tcp" and r[1] == min(sizes))
    udp = next(r for r in rows if r[0] == "udp")
    print(
        f"\nUDP / TCP time for the same {udp[2]} addresses x 65,535 ports: {udp[3] / tcp1[3]:.2f}"
    )
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Full TCP sweep benchmark: prodwall's SYN engine against nmap and masscan, in the lab.

From netns:pwlab-dev, all 65,535 TCP ports of 16 production addresses
(1,048,560 probes). The benchmark plants a hidden random set of open ports
(listeners) and closed ports (no listener, but let through the firewall); every
other probe is dropped silently, the normal case for isolation. For each tool
and rate R it records wall time, peak memory and accuracy; the "time to a
correct sweep" is the fastest run that found every planted open and closed port
and claimed nothing else.

    sudo .venv/bin/python benchmarks/network_sweep.py [--rates 2000000,1000000,400000,...]

Needs root, the lab's Debian packages, nmap and masscan (installed if missing).
Not a test: it prints figures and ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from measure import timed

from prodwall.lab import manager
from prodwall.lab.topology import HOSTS, ROUTER_NS, ZONES
from prodwall.services import PortSet

DEV = ZONES["dev"].ns
PROD = ZONES["prod"].ns
VANTAGE_IP = HOSTS["dev-ws"].v4()
GATEWAY = ZONES["dev"].gateway4
KNOWN_OPEN = (HOSTS["artifacts"].v4(), 80)  # lets masscan exit: an answer it expects
TARGETS = [f"198.19.10.{100 + i}" for i in range(16)]
PLANTED_OPEN, PLANTED_CLOSED = 24, 24


def router_drops() -> int:
    """Probe packets the router dropped so far: how many each tool really sent."""
    out = sh(
        "ip", "netns", "exec", ROUTER_NS, "nft", "list", "chain", "inet", "prodwall_lab", "forward"
    ).stdout
    return sum(int(n) for n in re.findall(r"@bench_targets counter packets (\d+)", out))


@dataclass(frozen=True)
class Run:
    tool: str
    rate: int
    seconds: float
    peak_mb: float
    found_open: int
    found_closed: int
    missed: int
    extra: int
    note: str = ""
    packets: int = 0  # silent probes' packets that reached the router (retransmissions too)

    @property
    def correct(self) -> bool:
        return self.missed == 0 and self.extra == 0 and not self.note


def sh(*argv: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def ensure_tools() -> None:
    missing = [t for t in ("nmap", "masscan") if shutil.which(t) is None]
    if missing:
        sh("apt-get", "install", "-y", "-qq", *missing)


def plant(seed: int) -> tuple[set[tuple[str, int]], set[tuple[str, int]], subprocess.Popen[str]]:
    rng = random.Random(seed)
    pairs = rng.sample(
        [(t, p) for t in TARGETS for p in range(1, 65536)], PLANTED_OPEN + PLANTED_CLOSED
    )
    opened, closed = set(pairs[:PLANTED_OPEN]), set(pairs[PLANTED_OPEN:])
    for t in TARGETS:
        sh("ip", "-n", PROD, "addr", "add", f"{t}/24", "dev", "eth0")
    args = [a for t, p in sorted(opened) for a in ("--tcp", f"{t},{p}")]
    listener = subprocess.Popen(
        ["ip", "netns", "exec", PROD, sys.executable, "-m", "prodwall.lab.listener", *args],
        text=True,
    )
    # the firewall lets the planted pairs through and silently drops the rest of the targets;
    # sets, as one writes nftables for many addresses: a linear chain of 64 rules (the first
    # version) cost the router ~3 us per packet and capped every tool near 150k packets/s
    planted = ", ".join(f"{t} . {p}" for t, p in sorted(opened | closed))
    table, rule = "inet prodwall_lab", 'insert rule inet prodwall_lab forward iifname "to-dev"'
    rules = [
        f"add set {table} bench_targets {{ type ipv4_addr; elements = {{ {', '.join(TARGETS)} }}}}",
        f"add set {table} bench_planted {{ type ipv4_addr . inet_service; "
        f"elements = {{ {planted} }} }}",
        f"{rule} ip daddr @bench_targets counter drop",
        f"{rule} ip daddr . tcp dport @bench_planted accept",
    ]
    sh("ip", "netns", "exec", ROUTER_NS, "nft", "-f", "-", input="\n".join(rules) + "\n")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listening = sh("ip", "netns", "exec", PROD, "ss", "-Hltn").stdout
        if all(f"{t}:{p} " in listening for t, p in opened):
            break
        time.sleep(0.2)
    else:
        raise RuntimeError("planted listeners did not come up")
    return opened, closed, listener


def score(
    tool: str,
    rate: int,
    seconds: float,
    peak: float,
    claims: dict[tuple[str, int], str],
    opened: set[tuple[str, int]],
    closed: set[tuple[str, int]],
    note: str = "",
) -> Run:
    claims = {k: v for k, v in claims.items() if k[0] in TARGETS}
    found_open = sum(claims.get(k) == "open" for k in opened)
    found_closed = sum(claims.get(k) == "closed" for k in closed)
    missed = len(opened) - found_open + len(closed) - found_closed
    extra = sum(
        1
        for k, v in claims.items()
        if (v == "open" and k not in opened) or (v == "closed" and k not in closed)
    )
    return Run(tool, rate, seconds, peak, found_open, found_closed, missed, extra, note)


def run_prodwall(
    rate: int,
    opened: set[tuple[str, int]],
    closed: set[tuple[str, int]],
    retries: int = 1,
    name: str = "prodwall",
    retry_wait: float | None = None,
) -> Run:
    job = {
        "options": {"rate": rate, "retries": retries, "wait": 1.0, "retry_wait": retry_wait},
        "tcp": [{"target": t, "ports": "1-65535"} for t in TARGETS],
    }
    seconds, peak, out, code = timed(
        ["ip", "netns", "exec", DEV, sys.executable, "-m",
         "prodwall.families.network.vantage_agent"],
        timeout=600,
        stdin=json.dumps(job),
    )
    claims: dict[tuple[str, int], str] = {}
    if code == 0:
        for g in json.loads(out)["tcp"]["groups"]:
            if g["status"] in ("open", "closed"):
                for p in PortSet.parse(g["ports"]):
                    claims[(g["target"], p)] = g["status"]
    return score(
        name, rate, seconds, peak, claims, opened, closed, "" if code == 0 else f"exit {code}"
    )


def run_nmap(rate: int, opened: set[tuple[str, int]], closed: set[tuple[str, int]]) -> Run:
    argv = [
        "ip",
        "netns",
        "exec",
        DEV,
        "nmap",
        "-sS",
        "-Pn",
        "-n",
        "--min-rate",
        str(rate),
        "--max-retries",
        "1",
        "-p1-65535",
        "-oG",
        "-",
        *TARGETS,
    ]
    seconds, peak, out, code = timed(argv, timeout=1800)
    claims: dict[tuple[str, int], str] = {}
    for line in out.splitlines():
        m = re.match(r"Host: (\S+) .*Ports: (.*?)(\tIgnored|$)", line)
        if not m:
            continue
        for entry in m.group(2).split(", "):
            fields = entry.split("/")
            if len(fields) > 1 and fields[1] in ("open", "closed"):
                claims[(m.group(1), int(fields[0]))] = fields[1]
    return score(
        "nmap", rate, seconds, peak, claims, opened, closed, "" if code == 0 else f"exit {code}"
    )


def run_masscan(rate: int, opened: set[tuple[str, int]], closed: set[tuple[str, int]]) -> Run:
    budget = 120 + 6 * len(TARGETS) * 65535 / rate
    argv = [
        "ip",
        "netns",
        "exec",
        DEV,
        "timeout",
        str(int(budget)),
        "masscan",
        "-p1-65535",
        "--rate",
        str(rate),
        "--retries",
        "1",
        "--wait",
        "2",
        "-e",
        "eth0",
        "--router-ip",
        GATEWAY,
        "--adapter-ip",
        VANTAGE_IP,
        "--show",
        "closed",
        "-oL",
        "-",
        *TARGETS,
        KNOWN_OPEN[0],
    ]
    seconds, peak, out, code = timed(argv, timeout=budget + 30)
    claims: dict[tuple[str, int], str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "tcp":
            claims[(parts[3], int(parts[2]))] = parts[0]
    note = "" if code == 0 else ("killed by timeout" if code == 124 else f"exit {code}")
    return score("masscan", rate, seconds, peak, claims, opened, closed, note)


def run_prodwall_single(
    rate: int, opened: set[tuple[str, int]], closed: set[tuple[str, int]]
) -> Run:
    """No retransmission: the same packet count as nmap's run, for a like-for-like rate."""
    return run_prodwall(rate, opened, closed, retries=0, name="prodwall-r0")


def run_prodwall_fixed(
    rate: int, opened: set[tuple[str, int]], closed: set[tuple[str, int]]
) -> Run:
    """Retransmissions waited on for the full second too, not the measured window."""
    return run_prodwall(rate, opened, closed, name="prodwall-fixed", retry_wait=1.0)


RUNNERS = {
    "prodwall": run_prodwall,
    "prodwall-fixed": run_prodwall_fixed,
    "prodwall-r0": run_prodwall_single,
    "nmap": run_nmap,
    "masscan": run_masscan,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="2000000,1000000,400000,200000,100000,50000,10000")
    parser.add_argument("--tools", default="prodwall,prodwall-fixed,nmap,masscan")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    manager.require_root()
    ensure_tools()
    rates = sorted((int(r) for r in args.rates.split(",")), reverse=True)
    manager.down()  # a clean lab: planted state of an interrupted run must not linger
    manager.up("sealed", lambda m: print(f"lab: {m}", file=sys.stderr))
    listener = None
    runs: list[Run] = []
    try:
        opened, closed, listener = plant(args.seed)
        print(
            f"planted {len(opened)} open and {len(closed)} closed ports on {len(TARGETS)} "
            f"addresses; {len(TARGETS) * 65535:,} probes per sweep",
            flush=True,
        )
        for tool in args.tools.split(","):
            best: Run | None = None
            for rate in rates:  # fastest first: stop once slower rates cannot win
                if best is not None and len(TARGETS) * 65535 / rate > best.seconds:
                    print(
                        f"  {tool:<9} {rate:>8,}/s  skipped: even a perfect run takes longer "
                        f"than {best.seconds:.1f} s",
                        flush=True,
                    )
                    continue
                before = router_drops()
                run = RUNNERS[tool](rate, opened, closed)
                run = replace(run, packets=router_drops() - before)
                runs.append(run)
                print(
                    f"  {tool:<9} {rate:>8,}/s {run.seconds:8.1f} s {run.peak_mb:7.1f} MB  "
                    f"open {run.found_open}/{len(opened)} closed {run.found_closed}/"
                    f"{len(closed)} extra {run.extra}, {run.packets:,} packets "
                    f"{'CORRECT' if run.correct else ''} {run.note}",
                    flush=True,
                )
                if run.correct and (best is None or run.seconds < best.seconds):
                    best = run
    finally:
        if listener is not None:
            listener.terminate()
        manager.down()
    print("\ntime to the first correct sweep (1,048,560 probes):")
    best_of = {}
    for tool in args.tools.split(","):
        good = [r for r in runs if r.tool == tool and r.correct]
        best_of[tool] = min(good, key=lambda r: r.seconds) if good else None
        b = best_of[tool]
        peak = max((r.peak_mb for r in runs if r.tool == tool), default=0)
        print(
            f"  {tool:<9} "
            + (f"{b.seconds:7.1f} s at {b.rate:,}/s" if b else "no correct sweep at any rate tried")
            + f", peak memory {peak:.0f} MB"
        )
    p = best_of.get("prodwall")
    for peer in ("nmap", "masscan"):
        q = best_of.get(peer)
        if p and q and peer in best_of:
            print(
                f"  prodwall / {peer}: {p.seconds / q.seconds:.2f} of the time "
                f"({q.seconds / p.seconds:.1f}x faster)"
            )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

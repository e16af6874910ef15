"""iptables-save and ip6tables-save output read into the model."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from prodwall.addresses import IPNetwork
from prodwall.families.hosts.egress.model import Chain, Rule, Tri, _addresses, _const, _in_family
from prodwall.families.hosts.egress.nft import NEW_FLOW_STATES, _host

# --- iptables-save / ip6tables-save


def from_iptables(
    text: str, version: int, tool: str = "iptables-save"
) -> tuple[dict[str, Chain], list[str]]:
    chains: dict[str, Chain] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
            continue
        if table != "filter":
            continue
        if line.startswith(":"):
            name, policy = line[1:].split()[:2]
            key = f"{tool} ipv{version} {name}"
            chains[key] = Chain(
                key, policy=policy.lower() if policy != "-" else "", families=(version,)
            )
        elif line.startswith("-A "):
            words = shlex.split(line)
            key = f"{tool} ipv{version} {words[1]}"
            if key in chains:
                chains[key].rules.append(_ipt_rule(words[2:], version, line, tool))
    output = f"{tool} ipv{version} OUTPUT"
    base = [output] if output in chains else []
    return chains, base


def _ipt_rule(words: list[str], version: int, line: str, tool: str) -> Rule:
    matches: list[Callable[[IPNetwork], Tri]] = []
    verdict, target, negate = "", "", False
    dests: set[str] = set()
    proto, widening = "", False
    ports: set[int] = set()
    i = 0
    while i < len(words):
        w = words[i]
        arg = words[i + 1] if i + 1 < len(words) else ""
        if w == "!":
            negate = True
            i += 1
            continue
        if w in ("-d", "--destination"):
            matches.append(_in_family(_addresses(arg.split(","), negate), version))
            hosts = [_host(a) for a in arg.split(",")]
            widening |= negate or "" in hosts
            dests.update(hosts)
        elif w in ("-p", "--protocol") and not negate and arg in ("tcp", "udp"):
            proto = arg
            matches.append(_const(Tri.SOME))
        elif w in ("--dport", "--dports", "--destination-port") and not negate:
            try:
                ports.update(int(x) for x in arg.split(","))
            except ValueError:
                widening = True
            matches.append(_const(Tri.SOME))
        elif w in ("-o", "--out-interface"):
            matches.append(_const(Tri.NONE if arg == "lo" and not negate else Tri.SOME))
        elif w in ("--ctstate", "--state"):
            states = {s.lower() for s in arg.split(",")}
            new = bool(states & NEW_FLOW_STATES) != negate
            matches.append(_const(Tri.SOME if new else Tri.NONE))
        elif w in ("-j", "--jump", "-g", "--goto"):
            i = len(words)  # what follows -j is the target's own options, not matches
            t = arg.upper()
            if t in ("DROP", "REJECT"):
                verdict = "drop"
            elif t in ("ACCEPT", "RETURN"):
                verdict = t.lower()
            elif t in ("LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "AUDIT", "TRACE"):
                verdict = ""
            else:
                verdict = "goto" if w in ("-g", "--goto") else "jump"
                target = f"{tool} ipv{version} {arg}"
        elif w in ("-m", "--match", "-c", "--set-counters"):
            pass
        elif w.startswith("-") and w not in ("-A",):
            matches.append(_const(Tri.SOME))  # -s, -m set...: part of the traffic
        negate = False
        i += 2 if w.startswith("-") else 1
    confined = None
    if verdict == "accept" and dests and proto and ports and not widening:
        confined = (frozenset(dests), frozenset((proto, p) for p in ports))
    return Rule(re.sub(r"\s+", " ", line)[:160], tuple(matches), verdict, target, confined)

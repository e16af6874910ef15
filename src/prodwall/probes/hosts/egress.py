"""Does a host's live firewall drop every new flow it would send to a production
network? Read from the ruleset the kernel holds (nft's JSON, or iptables-save and
ip6tables-save), for each production network as a whole.

Each rule's match is asked three-valued against the network: it matches all of it,
none of it, or some (part of the network, some ports, some interfaces, a set or
module it cannot read). The network is dropped only when every output base chain
that sees it reaches a drop or reject that matches all of it before any accept that
could match some of it; a conditional drop guarantees nothing and a conditional
accept is a hole. Rules for established or related flows admit no new flow. A chain
that cannot be followed answers "unknown", never "dropped"."""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ...addresses import IPNetwork


class Tri(Enum):
    ALL = "all"
    NONE = "none"
    SOME = "some"


@dataclass(frozen=True)
class Rule:
    text: str
    matches: tuple[Callable[[IPNetwork], Tri], ...]
    verdict: str  # drop | accept | return | jump | goto | "" (no verdict: counter, log)
    target: str = ""
    # what an accept is confined to, when it is read whole: destination addresses and
    # (protocol, port) pairs; None: not confined (or not read), so never an allowed flow
    confined: tuple[frozenset[str], frozenset[tuple[str, int]]] | None = None

    def within(self, allowed: set[tuple[str, str, int]]) -> bool:
        """Every flow this accept admits is an allowed flow of the policy."""
        if self.confined is None:
            return False
        dests, ports = self.confined
        return bool(dests and ports) and all(
            (d, proto, port) in allowed for d in dests for proto, port in ports
        )


@dataclass
class Chain:
    name: str
    rules: list[Rule] = field(default_factory=list)
    policy: str = ""  # base chains: accept | drop
    families: tuple[int, ...] = (4, 6)
    priority: int = 0


@dataclass(frozen=True)
class Outcome:
    dropped: bool
    why: str


def judge(
    networks: list[IPNetwork],
    chains: dict[str, Chain],
    base: list[str],
    allowed: set[tuple[str, str, int]] | None = None,
) -> dict[str, Outcome]:
    """Per production network: dropped (by which rule) or not (which rule lets it out)."""
    out = {}
    for net in networks:
        seen = [chains[b] for b in base if net.version in chains[b].families]
        if not seen:
            out[str(net)] = Outcome(False, "no output filter chain sees this address family")
            continue
        whys = []
        dropped = False
        for chain in sorted(seen, key=lambda c: c.priority):
            verdict, why = _walk(chain, chains, net, 0, allowed or set())
            if verdict == "drop":
                dropped, whys = True, [why]
                break
            whys.append(why)
        out[str(net)] = Outcome(dropped, "; ".join(whys))
    return out


def _walk(
    chain: Chain,
    chains: dict[str, Chain],
    net: IPNetwork,
    depth: int,
    allowed: set[tuple[str, str, int]],
) -> tuple[str, str]:
    """drop | open | continue, and why. An accept confined to the policy's allowed flows
    (the deliberate jump) is no hole: the walk goes on past it."""
    if depth > 16:
        return "open", f"chain {chain.name}: jumps nest deeper than 16: not followed"
    for rule in chain.rules:
        hit = _all(rule, net)
        if hit is Tri.NONE or not rule.verdict:
            continue
        if rule.verdict in ("jump", "goto"):
            target = chains.get(rule.target)
            if target is None:
                return "open", f"rule '{rule.text}' jumps to {rule.target}, which is not there"
            verdict, why = _walk(target, chains, net, depth + 1, allowed)
            if verdict == "drop" and hit is Tri.ALL:
                return "drop", why
            if verdict == "open":
                return "open", why
            if rule.verdict == "goto" and hit is Tri.ALL:
                return "continue", why
            continue
        if rule.verdict == "drop" and hit is Tri.ALL:
            return "drop", f"dropped by '{rule.text}' ({chain.name})"
        if rule.verdict == "accept" and not rule.within(allowed):
            return "open", f"accepted by '{rule.text}' ({chain.name})"
        if rule.verdict == "return" and hit is Tri.ALL:
            return "continue", f"returns from {chain.name}"
    if chain.policy == "drop":
        return "drop", f"{chain.name}'s policy is drop and no rule before it accepts"
    if chain.policy == "accept":
        return "open", f"{chain.name}'s policy accepts it: no rule drops it"
    return "continue", f"falls through {chain.name}"


def _all(rule: Rule, net: IPNetwork) -> Tri:
    answers = [m(net) for m in rule.matches]
    if Tri.NONE in answers:
        return Tri.NONE
    return Tri.SOME if Tri.SOME in answers else Tri.ALL


def _addresses(values: list[str], negate: bool = False) -> Callable[[IPNetwork], Tri]:
    nets = []
    for v in values:
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            return lambda net: Tri.SOME

    def match(net: IPNetwork) -> Tri:
        mine = [n for n in nets if n.version == net.version]
        if any(net.subnet_of(n) for n in mine):  # type: ignore[arg-type]
            got = Tri.ALL
        elif any(n.overlaps(net) for n in mine):
            got = Tri.SOME
        else:
            got = Tri.NONE
        if negate:
            return {Tri.ALL: Tri.NONE, Tri.NONE: Tri.ALL, Tri.SOME: Tri.SOME}[got]
        return got

    return match


def _in_family(inner: Callable[[IPNetwork], Tri], version: int) -> Callable[[IPNetwork], Tri]:
    return lambda net: inner(net) if net.version == version else Tri.NONE


def _const(answer: Tri) -> Callable[[IPNetwork], Tri]:
    return lambda net: answer


def _family(version: int) -> Callable[[IPNetwork], Tri]:
    return lambda net: Tri.ALL if net.version == version else Tri.NONE


NEW_FLOW_STATES = {"new", "untracked", "invalid"}


# --- nft -j list ruleset


def from_nft(text: str) -> tuple[dict[str, Chain], list[str]]:
    items = json.loads(text).get("nftables", [])
    sets: dict[tuple[str, str, str], list[str]] = {}
    chains: dict[str, Chain] = {}
    base: list[str] = []
    fam_of = {"ip": (4,), "ip6": (6,), "inet": (4, 6)}
    for item in items:
        if "set" in item:
            s = item["set"]
            sets[(s["family"], s["table"], s["name"])] = [_nft_addr(e) for e in s.get("elem", [])]
        if "chain" in item:
            c = item["chain"]
            if c["family"] not in fam_of:
                continue
            key = f"{c['family']} {c['table']} {c['name']}"
            chain = Chain(key, families=fam_of[c["family"]], priority=int(c.get("prio", 0) or 0))
            if c.get("hook") == "output" and c.get("type", "filter") in ("filter", "route"):
                chain.policy = c.get("policy", "accept")
                base.append(key)
            chains[key] = chain
    for item in items:
        if "rule" not in item or item["rule"]["family"] not in fam_of:
            continue
        r = item["rule"]
        key = f"{r['family']} {r['table']} {r['chain']}"
        if key in chains:
            chains[key].rules.append(_nft_rule(r, sets, f"{r['family']} {r['table']} "))
    return chains, base


def _nft_rule(r: dict[str, Any], sets: dict[tuple[str, str, str], list[str]], prefix: str) -> Rule:
    matches: list[Callable[[IPNetwork], Tri]] = []
    verdict, target = "", ""
    for e in r.get("expr", []):
        if "match" in e:
            matches.append(_nft_match(e["match"], sets, r["family"], r["table"]))
        for v in ("accept", "drop", "return"):
            if v in e:
                verdict = v
        if "reject" in e:
            verdict = "drop"
        for v in ("jump", "goto"):
            if v in e:
                verdict, target = v, prefix + e[v]["target"]
    text = r.get("comment") or _nft_text(r.get("expr", []))
    confined = _nft_confined(r.get("expr", [])) if verdict == "accept" else None
    return Rule(text, tuple(matches), verdict, target, confined)


def _nft_confined(expr: list[Any]) -> tuple[frozenset[str], frozenset[tuple[str, int]]] | None:
    """An accept's destinations and ports, when it matches on nothing else that widens it."""
    dests: set[str] = set()
    ports: set[tuple[str, int]] = set()
    for e in expr:
        m = e.get("match") if isinstance(e, dict) else None
        if m is None:
            continue
        left, right, op = m.get("left", {}), m.get("right"), m.get("op", "==")
        p = left.get("payload", {}) if isinstance(left, dict) else {}
        if p.get("field") in ("daddr", "dport") and op not in ("==", "in"):
            return None  # a negated destination or port admits everything else
        if p.get("field") == "daddr":
            values = _nft_values(right) or []
            hosts = [_host(v) for v in values]
            if not values or "" in hosts:
                return None
            dests.update(hosts)
        elif p.get("field") == "dport" and p.get("protocol") in ("tcp", "udp"):
            numbers = right.get("set", []) if isinstance(right, dict) else [right]
            if not all(isinstance(n, int) for n in numbers):
                return None
            ports.update((p["protocol"], n) for n in numbers)
        # any other match (state, interface, source) only narrows an accept further
    return (frozenset(dests), frozenset(ports)) if dests and ports else None


def _host(value: str) -> str:
    """The address of a single-host value ("" for a network)."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ""
    return str(net.network_address) if net.num_addresses == 1 else ""


def _nft_match(
    m: dict[str, Any], sets: dict[tuple[str, str, str], list[str]], family: str, table: str
) -> Callable[[IPNetwork], Tri]:
    left, right, op = m.get("left", {}), m.get("right"), m.get("op", "==")
    negate = op == "!="
    if isinstance(left, dict) and "payload" in left:
        p = left["payload"]
        if p.get("field") == "daddr" and p.get("protocol") in ("ip", "ip6"):
            version = 4 if p["protocol"] == "ip" else 6
            if isinstance(right, str) and right.startswith("@"):
                values = sets.get((family, table, right[1:]))
                if values is None:
                    return _const(Tri.SOME)
            else:
                values = _nft_values(right)
            if values is None:
                return _const(Tri.SOME)
            inner = _addresses(values, negate)
            return lambda net: inner(net) if net.version == version else Tri.NONE
        if p.get("field") == "saddr":
            return _const(Tri.SOME)
        return _const(Tri.SOME)  # ports, protocols: part of the traffic
    if isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        if key == "nfproto" and isinstance(right, str):
            proto = {"ipv4": 4, "ipv6": 6}.get(right)
            if proto:
                f = _family(proto)
                return (lambda net: {Tri.ALL: Tri.NONE, Tri.NONE: Tri.ALL}[f(net)]) if negate else f
        if key in ("oif", "oifname") and right == "lo" and not negate:
            return _const(Tri.NONE)  # loopback never carries a flow to production
        return _const(Tri.SOME)
    if isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        if isinstance(right, list):
            states = set(right)
        elif isinstance(right, dict):
            states = set(right.get("set", []))
        else:
            states = {right}
        new = bool(states & NEW_FLOW_STATES) != negate  # a new flow's state is "new"
        return _const(Tri.SOME if new else Tri.NONE)
    return _const(Tri.SOME)


def _nft_values(right: Any) -> list[str] | None:
    if isinstance(right, str):
        return [right]
    if isinstance(right, dict) and "prefix" in right:
        return [f"{right['prefix']['addr']}/{right['prefix']['len']}"]
    if isinstance(right, dict) and "set" in right:
        out = [_nft_addr(e) for e in right["set"]]
        return None if "" in out else out
    return None


def _nft_addr(e: Any) -> str:
    if isinstance(e, str):
        return e
    if isinstance(e, dict) and "prefix" in e:
        return f"{e['prefix']['addr']}/{e['prefix']['len']}"
    if isinstance(e, dict) and "elem" in e:
        return _nft_addr(e["elem"].get("val"))
    return ""  # ranges and concatenations: not read


def _nft_text(expr: list[Any]) -> str:
    """nft's own words, near enough: "ip daddr @prod drop"."""
    words = []
    for e in expr:
        if "match" in e:
            m = e["match"]
            left, right = m.get("left"), m.get("right")
            op = "" if m.get("op") in ("==", "in") else m.get("op", "") + " "
            words.append(f"{_nft_words(left)} {op}{_nft_words(right)}")
        for v in ("accept", "drop", "return", "reject"):
            if v in e:
                words.append(v)
        for v in ("jump", "goto"):
            if v in e:
                words.append(f"{v} {e[v]['target']}")
    return " ".join(words)[:160]


def _nft_words(x: Any) -> str:
    if isinstance(x, dict):
        if "payload" in x:
            return f"{x['payload'].get('protocol', '')} {x['payload'].get('field', '')}".strip()
        if "meta" in x:
            return f"meta {x['meta'].get('key', '')}"
        if "ct" in x:
            return f"ct {x['ct'].get('key', '')}"
        if "prefix" in x:
            return f"{x['prefix']['addr']}/{x['prefix']['len']}"
        if "set" in x:
            return "{ " + ", ".join(_nft_words(v) for v in x["set"]) + " }"
        return json.dumps(x, separators=(",", ":"))[:60]
    if isinstance(x, list):
        return ",".join(_nft_words(v) for v in x)
    return str(x)


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

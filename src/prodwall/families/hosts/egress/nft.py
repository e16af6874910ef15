"""nft's JSON ruleset (`nft -j list ruleset`) read into the model."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from prodwall.addresses import IPNetwork
from prodwall.families.hosts.egress.model import Chain, Rule, Tri, _addresses, _const, _family

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

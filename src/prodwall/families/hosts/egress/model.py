"""The firewall model the rulesets are read into, and the judge that walks it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from prodwall.addresses import IPNetwork


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

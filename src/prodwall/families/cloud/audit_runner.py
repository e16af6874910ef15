"""The configuration proof, run from the runner: read every listed account x region
through its audit role (bounded concurrency), judge network paths, trust and stored
strings, and say for each check and account what was read, what crossed, and what could
not be read (inconclusive, never silence)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from prodwall.families.cloud import estate, grants, paths, stored
from prodwall.families.cloud.accounts import NONPROD_TIERS, accounts
from prodwall.families.cloud.audit import Auditor
from prodwall.families.cloud.findings import NETWORK, STRINGS, TRUST, Seen
from prodwall.families.secrets.observe import environment_maps, run_key
from prodwall.inventory.model import Inventory
from prodwall.plan import Probe
from prodwall.verdicts import Observation, Signal


def sides(inv: Inventory) -> paths.Sides:
    prod, nonprod, _ = accounts(inv)
    prod_nets: dict[Any, tuple[str, ...]] = {}
    for env in inv.production().values():
        for net in env.networks:
            prod_nets[net] = tuple(env.cloud.aws_accounts)
    nonprod_nets = tuple(n for e in inv.environments.values() if e.tier in NONPROD_TIERS
                         for n in e.networks)
    return paths.Sides(prod, nonprod, prod_nets, nonprod_nets, inv.aws.organization_id)


def run(probes: tuple[Probe, ...], inv: Inventory,
        auditor_factory: Callable[[], Auditor] | None = None) -> tuple[Observation, ...]:
    kinds = {p.kind for p in probes}
    if not kinds:
        return ()
    if not inv.aws.audit_role:
        return tuple(Observation(p.kind, p.target, Signal.FAILED,
                                 "aws.audit_role is not set in the inventory: the configuration "
                                 "proof reads each account through a read-only audit role")
                     for p in probes)
    try:
        auditor = auditor_factory() if auditor_factory else Auditor(inv.aws)
    except ImportError:
        return tuple(Observation(p.kind, p.target, Signal.FAILED, "boto3 is not installed")
                     for p in probes)
    prod, nonprod, other = accounts(inv)
    every = {**other, **nonprod, **prod}
    facts = {a: estate.AccountFacts(a, regions={r: estate.RegionFacts(a, r)
                                                for r in inv.aws.regions}) for a in every}
    auditor.each(_tasks(auditor, facts, kinds, prod, nonprod, inv.aws.regions[0]))
    seen: list[Seen] = []
    regional = [f for a in facts.values() for f in a.regions.values()]
    if NETWORK in kinds:
        seen += paths.find(sides(inv), regional)
    if TRUST in kinds:
        for account in prod:
            seen += grants.find(facts[account], nonprod, inv.aws.organization_id)
    if STRINGS in kinds:
        key, envs = run_key().value, environment_maps(inv)
        for account in nonprod:
            for f in facts[account].regions.values():
                seen += stored.find(f, envs, key, prod)
    # a peering is read from both of its accounts: one finding
    seen = list({(s.kind, s.account, s.detail): s for s in seen}.values())
    seen += _failures(auditor, prod)
    seen += _summaries(kinds, facts, prod, nonprod, auditor, inv.aws.regions)
    simulated = inv.aws.simulated
    return tuple(_observation(s, simulated) for s in seen)


def _tasks(
    a: Auditor, facts: dict[str, estate.AccountFacts], kinds: set[str],
    prod: dict[str, str], nonprod: dict[str, str], home: str,
) -> Iterable[Callable[[], None]]:
    for account, af in facts.items():
        if TRUST in kinds and account in prod:
            yield partial(_global, a, af, home)
        for f in af.regions.values():
            if NETWORK in kinds:
                yield partial(_regional, estate.read_network, a, NETWORK, f)
            if TRUST in kinds and account in prod:
                yield partial(_regional, estate.read_policies, a, TRUST, f)
            if STRINGS in kinds and account in nonprod:
                yield partial(_regional, estate.read_strings, a, STRINGS, f)


def _global(a: Auditor, af: estate.AccountFacts, home: str) -> None:
    estate.read_global(a.for_check(TRUST), af, home, True)


def _regional(read: Callable[[Auditor, estate.RegionFacts], None], a: Auditor, purpose: str,
              f: estate.RegionFacts) -> None:
    read(a.for_check(purpose), f)


def _failures(a: Auditor, prod: dict[str, str]) -> Iterable[Seen]:
    grouped = Counter(a.ledger.failures)
    for failure, times in sorted(grouped.items(), key=lambda kv: repr(kv[0])):
        kind = failure.purpose or NETWORK
        # a network read that failed anywhere leaves every production account's paths open
        groups = [failure.account] if kind != NETWORK or failure.account in prod else list(prod)
        for group in groups:
            yield Seen(kind, group, Signal.FAILED,
                       f"{failure.call} in account {failure.account} {failure.region} failed: "
                       f"{failure.code}" + (f" ({times} times)" if times > 1 else ""),
                       failure.region, "", failure.call, {"read_account": failure.account})


def _summaries(kinds: set[str], facts: dict[str, estate.AccountFacts], prod: dict[str, str],
               nonprod: dict[str, str], a: Auditor, regions: list[str]) -> Iterable[Seen]:
    where = f"{len(regions)} region(s) ({', '.join(regions)})"
    limits = sorted(set(a.ledger.limits))
    extra: dict[str, Any] = {"api_calls": a.ledger.calls}
    if limits:
        extra["limits"] = limits
    if NETWORK in kinds:
        counts: Counter[str] = Counter()
        for af in facts.values():
            for f in af.regions.values():
                for name in ("vpcs", "route_tables", "peerings", "tgw_tables",
                             "endpoint_services", "security_groups", "nacls", "ram_shares"):
                    counts[name] += len(getattr(f, name))
        said = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        for account in prod:
            yield Seen(NETWORK, account, Signal.STOPPED,
                       f"read {said} across {len(facts)} account(s) in {where}",
                       call="ec2:Describe*", extra=extra)
    if TRUST in kinds:
        for account in prod:
            yield Seen(TRUST, account, Signal.STOPPED,
                       f"read {grants.policies_read(facts[account])} trust and resource "
                       f"policies of account {account} in {where}, each against "
                       f"{len(nonprod)} non-production account(s)", call="iam:ListRoles",
                       extra=extra)
    if STRINGS in kinds:
        for account in nonprod:
            n = sum(len(f.strings) for f in facts[account].regions.values())
            yield Seen(STRINGS, account, Signal.STOPPED,
                       f"read {n} stored strings of account {account} in {where}",
                       call="ssm:GetParameters", extra=extra)


def _observation(s: Seen, simulated: bool) -> Observation:
    evidence: dict[str, Any] = {"account": s.account, "region": s.region or "global",
                                "arn": s.arn, "call": s.call, **s.extra}
    if simulated:
        evidence["simulated"] = True
    detail = f"[simulated] {s.detail}" if simulated else s.detail
    return Observation(s.kind, s.account, s.signal, detail, evidence=evidence)

"""Results files built in tests: every outcome, waivers, several vantages, any size."""

from __future__ import annotations

import dataclasses
import random

from prodwall.results import SCHEMA, Results, RunMeta, VantageInfo
from prodwall.verdicts import Outcome, Verdict, WaiverRef

CATALOGUE = {
    "NET-TCP-01": {
        "title": "No TCP port answers",
        "severity": "critical",
        "family": "network",
        "column": "tcp",
        "cause": "path",
        "references": {
            "pci-dss-4.0.1": ["1.3.1", "11.4.5"],
            "iso27001-2022": ["A.8.22"],
            "nist-800-53r5": ["SC-7(5)"],
            "soc2": ["CC6.6"],
        },
    },
    "NET-UDP-01": {
        "title": "No UDP service answers",
        "severity": "high",
        "family": "network",
        "column": "udp",
        "cause": "path",
        "references": {"pci-dss-4.0.1": ["11.4.5"], "nist-800-53r5": ["AC-4"]},
    },
    "DNS-NAME-01": {
        "title": "Names do not resolve",
        "severity": "high",
        "family": "dns",
        "cause": "path",
        "references": {"iso27001-2022": ["A.8.31"], "soc2": ["CC6.1"]},
    },
}
SCOPE = {
    "inventory": "t",
    "environments": {
        "production": {
            "tier": "production",
            "networks": ["198.19.0.0/16", "fd00:19::/32"],
            "dns_domains": ["prod.example.test"],
            "hosts": ["db", "web"],
            "aws_accounts": ["111122223333"],
            "kubernetes_api_servers": [],
        },
        "dev": {
            "tier": "dev",
            "networks": ["198.18.1.0/24"],
            "dns_domains": [],
            "hosts": [],
            "aws_accounts": [],
            "kubernetes_api_servers": [],
        },
    },
}
WAIVERS = (
    {
        "id": "W-1",
        "control": "NET-UDP-01",
        "vantage": None,
        "target": "db",
        "services": ["syslog=udp/514"],
        "ticket": "RISK-311",
        "approver": "Lee Marsh (CISO)",
        "justification": "legacy syslog until migration",
        "expires": "2027-01-31",
        "state": "active",
    },
    {
        "id": "W-OLD",
        "control": None,
        "vantage": None,
        "target": "web",
        "services": [],
        "ticket": "RISK-100",
        "approver": "Dana Okafor",
        "justification": "old exception",
        "expires": "2026-01-01",
        "state": "expired",
    },
)


def verdict(i: int, vantage: str, outcome: Outcome) -> Verdict:
    control = ["NET-TCP-01", "NET-UDP-01", "DNS-NAME-01"][i % 3]
    group = ["198.19.0.0/16", "fd00:19::/32", "prod.example.test"][i % 3]
    findings: tuple[str, ...] = ()
    waivers: tuple[WaiverRef, ...] = ()
    original = None
    if outcome is Outcome.REACHABLE:
        findings = (f"198.19.0.{i % 250} tcp/{1000 + i} (db): open (SYN-ACK)",)
    if outcome is Outcome.WAIVED:
        findings = ("198.19.0.5 udp/514 (db): open (waived by W-1, RISK-311)",)
        waivers = (
            WaiverRef(
                "W-1", "RISK-311", "Lee Marsh (CISO)", "legacy syslog until migration", "2027-01-31"
            ),
        )
        original = Outcome.REACHABLE
    counts = {outcome.value if outcome is not Outcome.NOT_REVIEWED else "blocked": 1}
    return Verdict(
        f"test_x.py::test_{i}[{group}]",
        (control,),
        vantage,
        group,
        outcome,
        f"reason {i}",
        original,
        waivers,
        counts,
        findings,
        ("198.19.0.9 tcp/22: silent",) if outcome is Outcome.INCONCLUSIVE else (),
        {"probes": 1, "by_detail": {"ICMP admin-prohibited from 198.18.1.1": 1}},
    )


def results(
    vantage: str = "dev",
    n: int = 10,
    started: str = "2026-11-27T01:00:00Z",
    seed: int = 1,
    outcomes: list[Outcome] | None = None,
) -> Results:
    rng = random.Random(seed)
    pool = outcomes or [Outcome.BLOCKED] * 6 + [
        Outcome.REACHABLE,
        Outcome.INCONCLUSIVE,
        Outcome.WAIVED,
        Outcome.NOT_REVIEWED,
    ]
    verdicts = tuple(
        verdict(i, vantage, pool[i % len(pool)] if i < len(pool) else rng.choice(pool))
        for i in range(n)
    )
    meta = RunMeta(
        started,
        started.replace("01:00", "01:05"),
        VantageInfo(vantage, f"netns:{vantage}", "dev", ("198.18.1.10/24 (eth0)",)),
        {"user": "ci", "host": "runner-1", "ci_system": "github", "GITHUB_RUN_ID": "4242"},
        "0.1.0",
        "abc123",
        "inventories/t.yaml",
        "ab" * 32,
        "Test Co",
    )
    return Results(
        SCHEMA,
        meta,
        verdicts,
        {"tcp": n},
        ("waiver W-OLD (RISK-100) expired on 2026-01-01: it no longer applies",),
        (),
        SCOPE,
        CATALOGUE,
        WAIVERS,
    )


def ran_hours_ago(r: Results, hours: float, minutes: int = 5) -> Results:
    """The run as if it started `hours` ago and lasted `minutes` (ci judges by age)."""
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC) - timedelta(hours=hours)
    meta = dataclasses.replace(
        r.meta,
        started_utc=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        finished_utc=(start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return dataclasses.replace(r, meta=meta)

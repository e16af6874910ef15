"""The production guardrails and the egress filter, judged both ways from facts (no host
needed): each guardrail in place is blocked, each one broken is reachable, anything
unread is inconclusive. The lab proves the same on a real host (test_fleet_lab.py)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prodwall.families.hosts import egress, logscan, sshd_policy, sudoers
from prodwall.families.hosts.observe import allowed_flows, observe
from prodwall.families.hosts.records import (
    Account,
    CardHit,
    Fim,
    Group,
    HostsJob,
    HostsResult,
    LogSample,
    ProductionFacts,
    Ruleset,
    TextFile,
    Unread,
)
from prodwall.inventory.model import Inventory
from prodwall.plan import Probe
from prodwall.verdicts import Signal

FIXTURES = Path(__file__).with_name("fixtures")
KEY = b"k" * 32
SECRET = "S3cret-prod-password!"


def _inventory(**policy: Any) -> Inventory:
    return Inventory.model_validate(
        {
            "version": 1,
            "name": "t",
            "environments": {
                "production": {
                    "tier": "production",
                    "networks": ["198.19.10.0/24", "fd00:19:10::/64"],
                    "hosts": {"db": {"addresses": ["198.19.10.10"], "services": ["postgres"]}},
                    "secrets": [
                        {
                            "name": "db-password",
                            "kind": "password",
                            "hmac_sha256": hmac.new(
                                KEY, SECRET.encode(), hashlib.sha256
                            ).hexdigest(),
                        }
                    ],
                    "host_policy": {
                        "developer_groups": ["developers"],
                        "sudo_readonly": ["/usr/bin/journalctl *"],
                        "break_glass": ["breakglass"],
                        **policy,
                    },
                },
                "dev": {"tier": "dev", "networks": ["198.18.1.0/24"]},
            },
            "policy": {
                "allowed_flows": [
                    {
                        "from": "dev",
                        "to": "db",
                        "services": ["postgres"],
                        "ticket": "T-1",
                        "approver": "cab",
                        "justification": "jump",
                        "expires": "2099-01-01",
                    }
                ]
            },
        }
    )


COMPLIANT = ProductionFacts(
    sshd_configs=(
        TextFile(
            path="/etc/ssh/sshd_config",
            text="Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"
            "PasswordAuthentication no\nBanner /etc/issue.net\n",
        ),
    ),
    sudoers=(
        TextFile(
            path="/etc/sudoers",
            text="root ALL=(ALL:ALL) ALL\n%developers ALL=(root) NOPASSWD: /usr/bin/journalctl\n",
        ),
    ),
    groups=(Group(name="developers", members=("alice",)), Group(name="wheel", members=("bob",))),
    accounts=(Account(name="breakglass", exists=True, locked=True),),
    prompts=(TextFile(path="/etc/profile.d/prompt.sh:1", text="PS1='[PRODUCTION] \\h$ '"),),
    banners=(TextFile(path="/etc/issue.net", text="Production system. Audited."),),
    daemons=("auditd",),
    audit_rules=(
        TextFile(
            path="/etc/audit/rules.d/priv.rules",
            text="-a always,exit -F arch=b64 -S execve -F euid=0 -k priv\n",
        ),
    ),
    fim=(
        Fim(
            tool="aide",
            binary="/usr/bin/aide",
            database="/var/lib/aide/aide.db",
            database_bytes=4096,
        ),
    ),
    logs=(LogSample(path="/var/log/app.log", bytes=100, words=logscan.words("hello world", KEY)),),
)
ASPECTS = ("banner", "privilege", "break-glass", "audit", "integrity", "logs")


def _judge(
    facts: ProductionFacts, unreadable: tuple[Unread, ...] = (), **policy: Any
) -> dict[str, set[Signal]]:
    inv = _inventory(**policy)
    probes = tuple(Probe("host", a, "production", "", sends="nothing") for a in ASPECTS)
    result = HostsResult(production=facts, unreadable=unreadable)
    seen = list(observe(result, probes, inv, inv.environments["production"], True))
    out: dict[str, set[Signal]] = {a: set() for a in ASPECTS}
    for o in seen:
        out[o.evidence["aspect"]].add(o.signal)
    return out


def _details(facts: ProductionFacts, aspect: str) -> list[str]:
    inv = _inventory()
    probes = (Probe("host", aspect, "production", "", sends="nothing"),)
    result = HostsResult(production=facts)
    return [
        o.detail
        for o in observe(result, probes, inv, inv.environments["production"], True)
        if o.signal is Signal.CROSSED
    ]


def test_a_compliant_production_host_passes_every_guardrail() -> None:
    assert _judge(COMPLIANT) == {a: {Signal.STOPPED} for a in ASPECTS}


@pytest.mark.parametrize(
    ("aspect", "broken", "said"),
    [
        ("banner", {"prompts": ()}, "no prompt setting shows 'production'"),
        (
            "banner",
            {"banners": (TextFile(path="/etc/issue.net", text="Debian 12"),)},
            "no login banner",
        ),
        (
            "privilege",
            {
                "sshd_configs": (
                    TextFile(path="/etc/ssh/sshd_config", text="Banner /etc/issue.net\n"),
                )
            },
            "PermitRootLogin prohibit-password (OpenSSH's default)",
        ),
        (
            "privilege",
            {
                "sshd_configs": (
                    TextFile(
                        path="/c",
                        text="PermitRootLogin no\n"
                        "Banner /etc/issue.net\n"
                        "Match Address 198.18.0.0/15\n"
                        "  PasswordAuthentication yes\n",
                    ),
                )
            },
            "passwordauthentication yes for Match Address",
        ),
        (
            "privilege",
            {
                "sudoers": (
                    TextFile(path="/etc/sudoers", text="%developers ALL=(ALL) NOPASSWD: ALL\n"),
                )
            },
            "lets group developers run 'ALL'",
        ),
        (
            "privilege",
            {
                "sudoers": (
                    TextFile(
                        path="/etc/sudoers.d/ops",
                        text="Cmnd_Alias FIX = /usr/bin/systemctl restart *\n%wheel ALL = FIX\n",
                    ),
                ),
                "groups": (
                    Group(name="developers", members=("alice",)),
                    Group(name="wheel", members=("alice",)),
                ),
            },
            "group wheel (members alice are developers)",
        ),
        (
            "privilege",
            {"sudoers": (TextFile(path="/etc/sudoers", text="alice ALL = sudoedit /etc/x\n"),)},
            "user alice (a developer)",
        ),
        (
            "break-glass",
            {"accounts": (Account(name="breakglass", exists=True),)},
            "is open (neither locked nor expired)",
        ),
        (
            "break-glass",
            {
                "accounts": (
                    Account(name="breakglass", exists=True, locked=True, authorized_keys=1),
                )
            },
            "a key logs in past a locked password",
        ),
        (
            "break-glass",
            {"accounts": (Account(name="breakglass", exists=False),)},
            "does not exist",
        ),
        ("audit", {"daemons": ()}, "no audit daemon"),
        (
            "audit",
            {"audit_rules": (TextFile(path="/etc/audit/audit.rules", text="-b 8192\n"),)},
            "no rule records privileged commands",
        ),
        ("integrity", {"fim": ()}, "no file-integrity monitor"),
        (
            "integrity",
            {
                "fim": (
                    Fim(
                        tool="aide",
                        binary="/usr/bin/aide",
                        database="/d",
                        why="/d: No such file or directory",
                    ),
                )
            },
            "No such file",
        ),
        (
            "logs",
            {
                "cards": (
                    CardHit(
                        path="/var/log/app.log",
                        line=3,
                        last4="6467",
                        brand="visa",
                        fingerprint="ab",
                    ),
                )
            },
            "card number ending 6467",
        ),
        (
            "logs",
            {
                "logs": (
                    LogSample(
                        path="/var/log/app.log",
                        bytes=9,
                        words=logscan.words(f"password={SECRET} x", KEY),
                    ),
                )
            },
            "secret db-password appears in /var/log/app.log",
        ),
    ],
)
def test_each_broken_guardrail_is_reachable(aspect: str, broken: dict[str, Any], said: str) -> None:
    facts = replace(COMPLIANT, **broken)
    assert Signal.CROSSED in _judge(facts)[aspect]
    assert any(said in d for d in _details(facts, aspect)), _details(facts, aspect)
    others = {a: s for a, s in _judge(facts).items() if a != aspect}
    assert all(s == {Signal.STOPPED} for s in others.values()), others


@pytest.mark.parametrize(
    ("aspect", "unread", "change"),
    [
        ("privilege", "/etc/sudoers", {}),
        (
            "break-glass",
            "",
            {
                "accounts": (
                    Account(
                        name="breakglass", exists=True, why_unknown="/etc/shadow: Permission denied"
                    ),
                )
            },
        ),
        ("audit", "/etc/audit/rules.d/x.rules", {}),
        ("audit", "", {"daemons": ("auditbeat",)}),
        (
            "integrity",
            "",
            {
                "fim": (
                    Fim(
                        tool="aide",
                        database="/var/lib/aide/aide.db",
                        why="/var/lib/aide/aide.db: Permission denied",
                    ),
                )
            },
        ),
        ("logs", "/var/log/auth.log", {}),
        ("logs", "", {"logs": (LogSample(path="/var/log/app.log", bytes=9, words_cut=True),)}),
        (
            "privilege",
            "",
            {"sudoers": (TextFile(path="/etc/sudoers", text="+ops ALL=(ALL) ALL\n"),)},
        ),
        ("logs", "", {"logs": ()}),
    ],
)
def test_what_the_account_cannot_read_is_inconclusive_never_a_pass(
    aspect: str, unread: str, change: dict[str, Any]
) -> None:
    unreadable = (Unread(what=unread, why="Permission denied"),) if unread else ()
    signals = _judge(replace(COMPLIANT, **change), unreadable)[aspect]
    assert Signal.FAILED in signals and Signal.CROSSED not in signals


def test_policy_the_inventory_does_not_state_is_inconclusive() -> None:
    assert Signal.FAILED in _judge(COMPLIANT, developer_groups=[])["privilege"]
    assert _judge(COMPLIANT, break_glass=[])["break-glass"] == {Signal.FAILED}


def test_without_the_run_key_log_secrets_cannot_be_matched() -> None:
    inv = _inventory()
    probes = (Probe("host", "logs", "production", "", sends="nothing"),)
    seen = observe(
        HostsResult(production=COMPLIANT), probes, inv, inv.environments["production"], False
    )
    assert Signal.FAILED in {o.signal for o in seen}


# --- sshd and sudoers as their programs read them


def test_sshd_first_value_wins_with_includes_read_in_place() -> None:
    files = [
        ("/etc/ssh/sshd_config", "Include sshd_config.d/*.conf\nPermitRootLogin no\n"),
        ("/etc/ssh/sshd_config.d/10-cloud.conf", "PermitRootLogin yes\n"),
    ]
    root = sshd_policy.effective(files).get("permitrootlogin")
    assert (root.value, root.where) == ("yes", "/etc/ssh/sshd_config.d/10-cloud.conf:1")
    later = sshd_policy.effective(
        [("/c", "PasswordAuthentication no\nPasswordAuthentication yes\n")]
    )
    assert later.get("passwordauthentication").value == "no"
    assert sshd_policy.effective([("/c", "")]).get("passwordauthentication").value == "yes"


def test_sudoers_aliases_continuations_and_allowlist() -> None:
    text = (
        "Defaults env_reset\n"
        "User_Alias DEVS = alice, %developers\n"
        "Cmnd_Alias READ = /usr/bin/journalctl *, \\\n   /usr/bin/systemctl status *\n"
        "DEVS ALL=(root) NOPASSWD: READ\n"
        "%developers ALL = (postgres) /usr/bin/psql\n"
        "root ALL=(ALL:ALL) ALL\n"
    )
    grants = sudoers.grants([("/etc/sudoers", text)])
    groups = {"developers": {"alice"}}
    allow = ["/usr/bin/journalctl *", "/usr/bin/systemctl status *"]
    beyond = sudoers.developer_grants(grants, groups, ["developers"], allow)
    assert [(g.where, who, cmd) for g, who, cmd in beyond] == [
        ("/etc/sudoers:6", "group developers", "/usr/bin/psql")
    ]
    assert sudoers.developer_grants(grants, groups, ["developers"], [*allow, "/usr/bin/psql"]) == []


# --- logs


def test_card_numbers_are_luhn_checked_decoys_ignored_and_never_carried() -> None:
    data = (
        b"ok 4111 1111 1111 1111 test card\n"
        b"order 4539-1488-0343-6467 declined\n"
        b"id 4539148803436468 not luhn\n"
        b"ts 1234567890123456 no brand\n"
        b"amex 3714 496353 98431 is a test card\n"
    )
    hits, decoys = logscan.cards(data, "/var/log/app.log", KEY)
    assert [(h.line, h.last4, h.brand) for h in hits] == [(2, "6467", "visa")]
    assert decoys == 2
    assert "4539148803436467" not in repr(hits)


def test_a_bounded_sample_reads_each_log_from_its_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 5000 + b"\nold 4539 1488 0343 6467\n" + b"y\n" * 3000)
    job = HostsJob(log_paths=(str(tmp_path / "*.log"),), log_sample_bytes=4096, key=KEY.hex())

    class _R:
        def text(self, path: str, limit: int = 0) -> str | None:
            return None

    hits, _, samples = logscan.sample(job, _R())
    assert hits == [] and samples[0].bytes <= 4096  # the old line is outside the sample


# --- the egress filter


def _nets(*names: str) -> list[Any]:
    return [ipaddress.ip_network(n) for n in names]


def test_nft_egress_read_from_a_real_ruleset() -> None:
    chains, base = egress.from_nft((FIXTURES / "nft_egress.json").read_text())
    out = egress.judge(_nets("198.19.10.0/24", "fd00:19:10::/64", "198.19.0.0/16"), chains, base)
    assert out["198.19.10.0/24"].dropped and "ip daddr @prod4 drop" in out["198.19.10.0/24"].why
    assert not out["fd00:19:10::/64"].dropped and "tcp dport 443" in out["fd00:19:10::/64"].why
    assert not out["198.19.0.0/16"].dropped  # only part of it is dropped


IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT {policy} [0:0]
:PROD - [0:0]
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
{extra}-A OUTPUT -d 198.19.10.0/24 -j PROD
-A PROD -j LOG
-A PROD -j REJECT --reject-with icmp-port-unreachable
COMMIT
"""


@pytest.mark.parametrize(
    ("policy", "extra", "dropped"),
    [
        ("ACCEPT", "", True),
        ("DROP", "", True),
        ("ACCEPT", "-A OUTPUT -d 198.19.10.20/32 -p tcp -m tcp --dport 443 -j ACCEPT\n", False),
        ("ACCEPT", "-A OUTPUT -p tcp -m tcp --dport 22 -j ACCEPT\n", False),
        ("ACCEPT", "-A OUTPUT ! -d 198.18.0.0/16 -j ACCEPT\n", False),
        ("ACCEPT", "-A OUTPUT -d 198.18.1.0/24 -j ACCEPT\n", True),
        # the deliberate jump of the policy (dev -> db postgres) is no hole
        ("ACCEPT", "-A OUTPUT -d 198.19.10.10/32 -p tcp -m tcp --dport 5432 -j ACCEPT\n", True),
        ("ACCEPT", "-A OUTPUT -d 198.19.10.10/32 -p tcp -m tcp --dport 5433 -j ACCEPT\n", False),
    ],
)
def test_iptables_egress_both_ways(policy: str, extra: str, dropped: bool) -> None:
    allowed = allowed_flows(_inventory(), "dev", __import__("datetime").date(2026, 1, 1))
    chains, base = egress.from_iptables(IPT.format(policy=policy, extra=extra), 4)
    out = egress.judge(_nets("198.19.10.0/24"), chains, base, allowed)
    assert out["198.19.10.0/24"].dropped is dropped, out


def test_ipv4_rules_say_nothing_for_ipv6() -> None:
    chains, base = egress.from_iptables(IPT.format(policy="ACCEPT", extra=""), 4)
    six, six_base = egress.from_iptables("*filter\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", 6)
    out = egress.judge(_nets("fd00:19:10::/64"), {**chains, **six}, base + six_base)
    assert not out["fd00:19:10::/64"].dropped


def test_an_unreadable_ruleset_is_inconclusive() -> None:
    inv = _inventory()
    probes = (Probe("host", "egress", "dev", "", sends="nothing"),)
    result = HostsResult(
        rulesets=(Ruleset(tool="nft", error="nft failed (exit 1): Operation not permitted"),)
    )
    seen = list(observe(result, probes, inv, inv.environments["dev"], True))
    assert [o.signal for o in seen] == [Signal.FAILED]
    assert "Operation not permitted" in seen[0].detail


def test_legacy_xtables_beside_nftables_count_too() -> None:
    """nft shows no output chain (the host filters with iptables-legacy): the legacy
    tables' drop is read, not reported as no filter at all."""
    chains, base = egress.from_nft('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}')
    legacy, legacy_base = egress.from_iptables(
        IPT.format(policy="ACCEPT", extra=""), 4, "iptables-legacy-save"
    )
    out = egress.judge(_nets("198.19.10.0/24"), {**chains, **legacy}, base + legacy_base)
    assert out["198.19.10.0/24"].dropped
    assert not egress.judge(_nets("198.19.10.0/24"), chains, base)["198.19.10.0/24"].dropped

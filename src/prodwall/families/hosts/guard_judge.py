"""A production host's guardrails judged against the inventory's host policy. A guardrail
missing is CROSSED (the deliberate jump is not enforced); one shown in place is STOPPED
with what showed it; a file the read-only account could not read, or a policy the
inventory does not state, is FAILED (inconclusive), never a pass."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodwall.families.hosts import sshd_policy, sudoers
from prodwall.families.hosts.guard_logs import _logs, _obs
from prodwall.families.hosts.records import HostsResult, ProductionFacts
from prodwall.inventory.model import Environment, Inventory
from prodwall.verdicts import Observation, Signal

PROD_ASPECTS = ("banner", "privilege", "break-glass", "audit", "integrity", "logs")
PRIVILEGED_RULE = re.compile(
    r"execve|(?:path=|-w\s+)\S*/(?:sudo|su|passwd|chmod|chown|useradd|usermod|visudo)\b"
)
AUDIT_DAEMONS_WITH_FILES = {"auditd"}  # rules for the others live in their own configs


def judge(
    aspect: str, result: HostsResult, env: Environment, inv: Inventory, key_from_run: bool
) -> Iterator[Observation]:
    facts = result.production
    if facts is None:
        yield _obs(aspect, Signal.FAILED, "the host sent no production facts")
        return
    unread = [u for u in result.unreadable if any(w in u.what for w in READS[aspect])]
    for u in unread:
        yield _obs(aspect, Signal.FAILED, f"{u.what} could not be read: {u.why}", where=u.what)
    if unread and aspect in ("privilege", "audit"):
        return  # half a config is not a config: judged only when all of it was read
    found = list(JUDGES[aspect](facts, env, inv, key_from_run))
    yield from found


READS = {
    "banner": ("sshd_config", "/etc/ssh/", "issue", "motd", "bash", "profile", "zsh"),
    "privilege": ("sshd_config", "/etc/ssh/", "sudoers", "/etc/group", "/etc/passwd"),
    "break-glass": ("/etc/passwd", "/etc/shadow"),
    "audit": ("/etc/audit",),
    "integrity": ("aide", "/var/ossec"),
    "logs": ("/var/log", "log"),
}


def _banner(f: ProductionFacts, env: Environment, inv: Inventory, k: bool) -> Iterator[Observation]:
    marker = env.host_policy.prompt_marker.lower()
    shown = [p for p in f.prompts if marker in p.text.lower()]
    if shown:
        yield _obs(
            "banner",
            Signal.STOPPED,
            f"the prompt shows '{marker}': {shown[0].path}",
            where=shown[0].path,
        )
    else:
        seen = "; ".join(f"{p.path}: {p.text}" for p in f.prompts[:4]) or "no PS1/PROMPT set"
        yield _obs(
            "banner", Signal.CROSSED, f"no prompt setting shows '{marker}' ({seen})", where="prompt"
        )
    banner = sshd_policy.effective([(c.path, c.text) for c in f.sshd_configs]).get("banner")
    files = {b.path: b.text for b in f.banners}
    login = [p for p in (banner.value, "/etc/motd") if marker in files.get(p, "").lower()]
    if login:
        yield _obs(
            "banner",
            Signal.STOPPED,
            f"the login banner {login[0]} shows '{marker}'",
            where=login[0],
        )
    else:
        yield _obs(
            "banner",
            Signal.CROSSED,
            f"no login banner shows '{marker}' (sshd Banner {banner.value}, {banner.where}; "
            "/etc/motd)",
            where="banner",
        )


# sshd settings a production host must have at "no" (also inside every Match block)
_MUST_BE_NO = (
    ("permitrootlogin", "PermitRootLogin", ": root logs in directly"),
    ("passwordauthentication", "PasswordAuthentication", ""),
)


def _privilege(
    f: ProductionFacts, env: Environment, inv: Inventory, k: bool
) -> Iterator[Observation]:
    policy = env.host_policy
    sshd = sshd_policy.effective([(c.path, c.text) for c in f.sshd_configs])
    if not f.sshd_configs:
        yield _obs("privilege", Signal.FAILED, "no sshd configuration was found to read")
    else:
        for key, name, what in _MUST_BE_NO:
            setting = sshd.get(key)
            if setting.value.lower() != "no":
                yield _obs(
                    "privilege",
                    Signal.CROSSED,
                    f"{name} {setting.value} ({setting.where}){what}",
                    where=setting.where,
                )
        kbd, pam = sshd.get("kbdinteractiveauthentication"), sshd.get("usepam")
        if kbd.value.lower() != "no" and pam.value.lower() == "yes":
            yield _obs(
                "privilege",
                Signal.CROSSED,
                f"KbdInteractiveAuthentication {kbd.value} with UsePAM yes ({kbd.where}): "
                "passwords through PAM",
                where=kbd.where,
            )
        for key, setting, criteria in sshd.conditional:
            if key in {k for k, _, _ in _MUST_BE_NO} and setting.value.lower() != "no":
                yield _obs(
                    "privilege",
                    Signal.CROSSED,
                    f"{key} {setting.value} for Match {criteria} ({setting.where})",
                    where=setting.where,
                )
    if not policy.developer_groups:
        yield _obs(
            "privilege",
            Signal.FAILED,
            "the inventory names no developer groups (host_policy.developer_groups): "
            "developers' sudo rules cannot be told apart",
        )
    groups = {g.name: set(g.members) for g in f.groups}
    grants = sudoers.grants([(s.path, s.text) for s in f.sudoers])
    for grant, who in sudoers.unresolved(grants, list(policy.sudo_readonly)):
        yield _obs(
            "privilege",
            Signal.FAILED,
            f"sudo rule {grant.where} is for {who}, whose members cannot be read here "
            "(a netgroup or a numeric id): developers among them cannot be ruled out",
            where=grant.where,
        )
    for grant, who, command in sudoers.developer_grants(
        grants, groups, list(policy.developer_groups), list(policy.sudo_readonly)
    ):
        yield _obs(
            "privilege",
            Signal.CROSSED,
            f"sudo rule {grant.where} lets {who} run '{command}' as {grant.runas}: "
            "beyond the read-only allowlist",
            where=grant.where,
        )
    yield _obs(
        "privilege",
        Signal.STOPPED,
        f"read {len(f.sshd_configs)} sshd config file(s) and {len(f.sudoers)} sudoers "
        f"file(s) ({len(grants)} rules)",
    )


def _break_glass(
    f: ProductionFacts, env: Environment, inv: Inventory, k: bool
) -> Iterator[Observation]:
    if not env.host_policy.break_glass:
        yield _obs(
            "break-glass",
            Signal.FAILED,
            "the inventory names no break-glass accounts (host_policy.break_glass)",
        )
        return
    for a in f.accounts:
        if not a.exists:
            yield _obs(
                "break-glass",
                Signal.CROSSED,
                f"break-glass account {a.name} does not exist on the host",
                where=a.name,
            )
        elif a.why_unknown:
            yield _obs(
                "break-glass",
                Signal.FAILED,
                f"break-glass account {a.name}: lock state unknown ({a.why_unknown})",
                where=a.name,
            )
        elif a.authorized_keys and not a.expired:
            yield _obs(
                "break-glass",
                Signal.CROSSED,
                f"break-glass account {a.name} has {a.authorized_keys} authorized ssh key(s): "
                "a key logs in past a locked password",
                where=a.name,
            )
        elif a.locked or a.expired:
            state = " and ".join(
                w for w, on in (("locked", a.locked), ("expired", a.expired)) if on
            )
            yield _obs(
                "break-glass",
                Signal.STOPPED,
                f"break-glass account {a.name} is {state}",
                where=a.name,
            )
        else:
            yield _obs(
                "break-glass",
                Signal.CROSSED,
                f"break-glass account {a.name} is open (neither locked nor expired) while "
                "no incident is open",
                where=a.name,
            )


def _audit(f: ProductionFacts, env: Environment, inv: Inventory, k: bool) -> Iterator[Observation]:
    daemons = list(f.daemons)
    auditors = [d for d in daemons if d in ("auditd", "auditbeat", "go-audit")]
    if not auditors:
        yield _obs("audit", Signal.CROSSED, "no audit daemon (auditd, auditbeat, go-audit) runs")
        return
    if "auditd" not in auditors:
        yield _obs(
            "audit",
            Signal.FAILED,
            f"{auditors[0]} runs; its rules live in its own configuration, not read",
        )
        return
    rules = [
        (r.path, n, line.strip())
        for r in f.audit_rules
        for n, line in enumerate(r.text.splitlines(), 1)
        if not line.strip().startswith("#") and PRIVILEGED_RULE.search(line)
    ]
    if not rules:
        read = ", ".join(r.path for r in f.audit_rules) or "no rule files"
        yield _obs(
            "audit", Signal.CROSSED, f"auditd runs but no rule records privileged commands ({read})"
        )
        return
    path, n, line = rules[0]
    yield _obs(
        "audit",
        Signal.STOPPED,
        f"auditd runs with {len(rules)} rule(s) for privileged commands, e.g. "
        f"{path}:{n}: {line[:120]}",
        where=f"{path}:{n}",
    )


def _integrity(
    f: ProductionFacts, env: Environment, inv: Inventory, k: bool
) -> Iterator[Observation]:
    if not f.fim:
        yield _obs(
            "integrity",
            Signal.CROSSED,
            "no file-integrity monitor (AIDE, OSSEC, Wazuh) is installed",
        )
        return
    ready = [m for m in f.fim if m.database_bytes and not m.why]
    if ready:
        m = ready[0]
        yield _obs(
            "integrity",
            Signal.STOPPED,
            f"{m.tool} installed ({m.binary or m.config}) with its database {m.database} "
            f"initialised ({m.database_bytes:,} bytes)",
            where=m.database,
        )
        return
    for m in f.fim:
        denied = "denied" in m.why.lower() or "not readable" in m.why
        yield _obs(
            "integrity",
            Signal.FAILED if denied else Signal.CROSSED,
            f"{m.tool}: {m.why}" + ("" if m.binary else " (its program is not installed)"),
            where=m.database or m.config,
        )


JUDGES = {
    "banner": _banner,
    "privilege": _privilege,
    "break-glass": _break_glass,
    "audit": _audit,
    "integrity": _integrity,
    "logs": _logs,
}

"""A production host's guardrails, read at the host by a read-only account (standard
library only: it travels in the agent file). Configuration texts travel as they are
(sshd, sudoers, audit rules, prompts, banners: no secrets in them); a break-glass
account's shadow hash never leaves, only whether it is locked or expired; logs leave
as fingerprints (see logscan)."""

from __future__ import annotations

import glob
import os
import re
import time

from prodwall.engine.protocol import one_of
from prodwall.families.hosts import logscan
from prodwall.families.hosts.reader import Reader
from prodwall.families.hosts.records import (
    Account,
    Fim,
    FimTool,
    Group,
    HostsJob,
    ProductionFacts,
    TextFile,
)

SSHD_DEFAULT = "/etc/ssh/sshd_config"
AUDIT_DAEMONS = {
    "auditd",
    "auditbeat",
    "go-audit",
    "wazuh-agentd",
    "ossec-agentd",
    "wazuh-syscheckd",
    "ossec-syscheckd",
    "wazuh-modulesd",
    "wazuh-logcollec",
    "ossec-logcollec",
}
PROMPT_FILES = ("/etc/bash.bashrc", "/etc/profile", "/etc/zsh/zshrc", "/etc/zshrc")
BANNER_FILES = ("/etc/issue.net", "/etc/issue", "/etc/motd")
NOLOGIN = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")
_PROMPT = re.compile(r"^\s*(?:export\s+)?(?:PS1|PROMPT)\s*=")


def collect(job: HostsJob, r: Reader) -> ProductionFacts:
    sshd = _sshd_configs(r)
    banners = [*BANNER_FILES, *_banner_paths(sshd)]
    cards, decoys, logs = logscan.sample(job, r)
    return ProductionFacts(
        sshd_configs=tuple(sshd),
        sudoers=tuple(_included(r, "/etc/sudoers", _sudo_includes, depth=0)),
        groups=tuple(_groups(r)),
        accounts=tuple(_account(r, name) for name in job.break_glass),
        prompts=tuple(_prompts(r)),
        banners=tuple(
            TextFile(path=p, text=t[:4096])
            for p in dict.fromkeys(banners)
            if (t := r.text(p)) is not None
        ),
        daemons=tuple(sorted(_daemons())),
        audit_rules=tuple(
            TextFile(path=p, text=t)
            for p in ["/etc/audit/audit.rules", *sorted(glob.glob("/etc/audit/rules.d/*.rules"))]
            if (t := r.text(p)) is not None
        ),
        fim=tuple(_fim(r)),
        logs=tuple(logs),
        cards=tuple(cards),
        decoys=decoys,
    )


def _sshd_configs(r: Reader) -> list[TextFile]:
    """The config of the sshd that let this session in (its -f, read off the listener
    among our ancestors), else the default one; with every file it Includes."""
    path = _our_sshd_config() or SSHD_DEFAULT
    return _included(r, path, _sshd_includes, depth=0)


def _our_sshd_config() -> str:
    pid = os.getppid()
    for _ in range(32):
        if pid <= 1:
            return ""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open(f"/proc/{pid}/status") as f:
                ppid = next(int(x.split()[1]) for x in f if x.startswith("PPid:"))
        except (OSError, StopIteration, ValueError):
            return ""
        # the listener retitles itself: "sshd: /usr/sbin/sshd -D -f /etc/x [listener] ..."
        words = " ".join(argv).split()
        sshd = bool(words) and (words[0] in ("sshd", "sshd:") or words[0].endswith("/sshd"))
        if sshd and "-f" in words[:-1]:
            return words[words.index("-f") + 1]
        pid = ppid
    return ""


def _included(r: Reader, path: str, includes: object, depth: int) -> list[TextFile]:
    text = r.text(path)
    if text is None:
        return []
    out = [TextFile(path=path, text=text)]
    if depth < 4 and callable(includes):
        for more in includes(text):
            out += _included(r, more, includes, depth + 1)
    return out


def _sshd_includes(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0].lower() == "include":
            for pattern in words[1:]:
                pattern = pattern if pattern.startswith("/") else "/etc/ssh/" + pattern
                out += sorted(glob.glob(pattern))
    return out


def _sudo_includes(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        words = line.strip().split()
        if len(words) != 2:
            continue
        if words[0] in ("#includedir", "@includedir"):
            names = sorted(os.listdir(words[1])) if os.path.isdir(words[1]) else []
            # sudo skips names ending in ~ or holding a dot
            out += [
                os.path.join(words[1], n) for n in names if "." not in n and not n.endswith("~")
            ]
        elif words[0] in ("#include", "@include"):
            out.append(words[1])
    return out


def _banner_paths(sshd: list[TextFile]) -> list[str]:
    return [
        w[1]
        for f in sshd
        for line in f.text.splitlines()
        if len(w := line.split("#", 1)[0].split()) == 2
        and w[0].lower() == "banner"
        and w[1].lower() != "none"
    ]


def _groups(r: Reader) -> list[Group]:
    members: dict[str, list[str]] = {}
    by_gid: dict[str, str] = {}
    for line in (r.text("/etc/group") or "").splitlines():
        f = line.split(":")
        if len(f) >= 4:
            members[f[0]] = [m for m in f[3].split(",") if m]
            by_gid[f[2]] = f[0]
    for line in (r.text("/etc/passwd") or "").splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[3] in by_gid and f[0] not in members[by_gid[f[3]]]:
            members[by_gid[f[3]]].append(f[0])  # primary group: a member too
    return [Group(name=n, members=tuple(m)) for n, m in members.items()]


def _account(r: Reader, name: str) -> Account:
    shell = home = ""
    for line in (r.text("/etc/passwd") or "").splitlines():
        f = line.split(":")
        if len(f) >= 7 and f[0] == name:
            home, shell = f[5], f[6]
            break
    else:
        return Account(name=name, exists=False)
    keys, why = _authorized_keys(home)
    if why:
        return Account(name=name, exists=True, shell_disabled=shell in NOLOGIN, why_unknown=why)
    try:
        with open("/etc/shadow") as shadow:
            rows = [line.split(":") for line in shadow]
    except OSError as exc:
        return Account(
            name=name,
            exists=True,
            shell_disabled=shell in NOLOGIN,
            why_unknown=f"/etc/shadow: {exc.strerror or type(exc).__name__}",
        )
    row = next((x for x in rows if x[0] == name and len(x) >= 8), None)
    if row is None:
        return Account(
            name=name,
            exists=True,
            shell_disabled=shell in NOLOGIN,
            why_unknown="no /etc/shadow entry",
        )
    today = int(time.time() // 86400)
    return Account(
        name=name,
        exists=True,
        locked=row[1].startswith(("!", "*")),  # an empty field is no password at all: open
        expired=row[7].strip().isdigit() and int(row[7]) <= today,
        shell_disabled=shell in NOLOGIN,
        authorized_keys=keys,
    )


def _authorized_keys(home: str) -> tuple[int, str]:
    """Keys that log the account in whatever its password lock says (sshd with PAM
    lets a key past a `!` lock). ("", count) or (0, why it could not be read)."""
    count = 0
    for name in ("authorized_keys", "authorized_keys2"):
        path = os.path.join(home, ".ssh", name)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                count += sum(1 for line in f if line.strip() and not line.startswith("#"))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            return 0, f"{path}: {exc.strerror or type(exc).__name__}"
    return count, ""


def _prompts(r: Reader) -> list[TextFile]:
    out = []
    for path in [*PROMPT_FILES, *sorted(glob.glob("/etc/profile.d/*.sh"))]:
        for n, line in enumerate((r.text(path) or "").splitlines(), 1):
            if _PROMPT.match(line):
                out.append(TextFile(path=f"{path}:{n}", text=line.strip()[:300]))
    return out


def _daemons() -> set[str]:
    found = set()
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(comm) as f:
                name = f.read().strip()
        except OSError:
            continue
        if name in AUDIT_DAEMONS:
            found.add(name)
    return found


def _fim(r: Reader) -> list[Fim]:
    out = []
    aide = next((b for b in ("/usr/bin/aide", "/usr/sbin/aide") if os.path.exists(b)), "")
    config = next((c for c in ("/etc/aide/aide.conf", "/etc/aide.conf") if os.path.exists(c)), "")
    if aide or config:
        out.append(_aide(r, aide, config))
    if os.path.isdir("/var/ossec"):
        tool = "wazuh" if glob.glob("/var/ossec/bin/wazuh-*") else "ossec"
        out.append(_ossec(tool))
    return out


def _aide(r: Reader, binary: str, config: str) -> Fim:
    text = r.text(config) if config else None
    if text is None:
        why = f"{config}: not readable" if config else "no aide.conf"
        return Fim(tool="aide", binary=binary, config=config, why=why)
    defines: dict[str, str] = {}
    database = ""
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"@@define\s+(\w+)\s+(.+)", line)
        if m:
            defines[m.group(1)] = m.group(2).strip()
            continue
        m = re.match(r"(database_in|database)\s*=\s*file:(.+)", line)
        if m and not database:
            database = re.sub(r"@@\{(\w+)\}", lambda d: defines.get(d.group(1), ""), m.group(2))
    if not database:
        return Fim(tool="aide", binary=binary, config=config, why="aide.conf names no database")
    return _database("aide", binary, config, database.strip())


def _ossec(tool: str) -> Fim:
    binary = next(iter(sorted(glob.glob(f"/var/ossec/bin/{tool}-control"))), "")
    for db in ("/var/ossec/queue/fim/db/fim.db", "/var/ossec/queue/syscheck/syscheck"):
        if os.path.exists(db):
            return _database(tool, binary, "/var/ossec/etc/ossec.conf", db)
    return Fim(
        tool=one_of(FimTool, tool),
        binary=binary,
        config="/var/ossec/etc/ossec.conf",
        why="no integrity database under /var/ossec/queue",
    )


def _database(tool: str, binary: str, config: str, path: str) -> Fim:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        why = f"{path}: {exc.strerror or type(exc).__name__}"
        return Fim(tool=one_of(FimTool, tool), binary=binary, config=config, database=path, why=why)
    why = "" if size else f"{path} is empty: never initialised"
    return Fim(tool=one_of(FimTool, tool), binary=binary, config=config, database=path,
               database_bytes=size, why=why)  # fmt: skip

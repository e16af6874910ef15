"""sudoers(5), read far enough to answer one question: which rules give a developer
(a member of a developer group, a developer group, or ALL) a command that is not on
the read-only allowlist? Aliases are expanded; a rule whose users or commands cannot
be read is reported, not skipped."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

_ALIAS = re.compile(r"^(User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)\s+(.+)$")
_TAGS = re.compile(
    r"^(?:(?:NO)?(?:PASSWD|EXEC|SETENV|LOG_INPUT|LOG_OUTPUT|MAIL_ALL_CMNDS|"
    r"FOLLOW|INTERCEPT|NOINTERCEPT|NOFOLLOW|NOMAIL_ALL_CMNDS):\s*)+"
)
_OPTIONS = re.compile(
    r"^(?:(?:ROLE|TYPE|CHROOT|CWD|NOTBEFORE|NOTAFTER|TIMEOUT|APPARMOR_PROFILE|"
    r"PRIVS|LIMITPRIVS)=\S+\s*)+"
)


@dataclass(frozen=True)
class Grant:
    where: str  # file:line
    users: tuple[str, ...]  # as written, aliases expanded: %group, user, ALL
    runas: str
    commands: tuple[str, ...]  # aliases expanded; ! for negated ones


def grants(files: list[tuple[str, str]]) -> list[Grant]:
    aliases: dict[str, list[str]] = {}
    out: list[Grant] = []
    for path, text in files:
        for number, line in _logical(text):
            where = f"{path}:{number}"
            m = _ALIAS.match(line)
            if m:
                for part in _split(m.group(2), ":"):
                    name, _, members = part.partition("=")
                    aliases[name.strip()] = [x.strip() for x in _split(members, ",")]
                continue
            if line.split()[0] in (
                "Defaults",
                "Defaults:",
                "#include",
                "@include",
                "#includedir",
                "@includedir",
            ) or line.startswith("Defaults"):
                continue
            out += _spec(line, where, aliases)
    return out


def _logical(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending:
            start = number
            if line.startswith(("#include", "#includedir")):
                continue
        if line.startswith("#") and not re.match(r"#\d", line):
            line = ""
        else:
            line = re.sub(r"(?<!\\)#(?!\d).*$", "", line).strip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            out.append((start, full))
    return out


def _split(text: str, sep: str) -> list[str]:
    return [p for p in re.split(rf"(?<!\\){re.escape(sep)}", text) if p.strip()]


def _expand(names: list[str], aliases: dict[str, list[str]], depth: int = 0) -> list[str]:
    out = []
    for name in names:
        neg = name.startswith("!")
        bare = name.lstrip("!").strip()
        if bare in aliases and depth < 8:
            out += [("!" if neg else "") + x for x in _expand(aliases[bare], aliases, depth + 1)]
        else:
            out.append(name)
    return out


def _spec(line: str, where: str, aliases: dict[str, list[str]]) -> list[Grant]:
    # users may be a comma list with spaces after commas: re-join up to the host list
    m = re.match(r"^(.+?)\s+([^\s=]+(?:\s*,\s*[^\s=]+)*)\s*=\s*(.+)$", line)
    if not m:
        return []
    users = _expand([u.strip() for u in _split(m.group(1), ",")], aliases)
    runas = "root"
    commands: list[str] = []
    # one host list only: the rare `: host2 = ...` second clause stays inside a command's
    # text, which then matches no allowlist entry (reported, never missed)
    for part in _split(m.group(3), ","):
        part = part.strip()
        r = re.match(r"^\(([^)]*)\)\s*(.*)$", part)
        if r:
            runas, part = r.group(1).strip() or "root", r.group(2)
        part = _TAGS.sub("", _OPTIONS.sub("", part)).strip()
        if part:
            commands.append(part)
    return [Grant(where, tuple(users), runas, tuple(_expand(commands, aliases)))]


def developer_grants(
    found: list[Grant],
    groups: dict[str, set[str]],
    developer_groups: list[str],
    allowlist: list[str],
) -> list[tuple[Grant, str, str]]:
    """(grant, which developer it reaches, the command beyond the allowlist)."""
    developers = set().union(*(groups.get(g, set()) for g in developer_groups))
    out = []
    for g in found:
        who = _reaches(g.users, groups, set(developer_groups), developers)
        if not who:
            continue
        beyond = next(
            (c for c in g.commands if not c.startswith("!") and not _allowed(c, allowlist)), None
        )
        if beyond is not None:
            out.append((g, who, beyond))
    return out


def unresolved(found: list[Grant], allowlist: list[str]) -> list[tuple[Grant, str]]:
    """Grants beyond the allowlist to users whose membership is not readable from
    /etc/group: netgroups (+name) and numeric ids (#uid, %#gid)."""
    out = []
    for g in found:
        who = next((u for u in g.users if u.lstrip("!").startswith(("+", "#", "%#", "%:#"))
                    and not u.startswith("!")), "")  # fmt: skip
        beyond = any(not c.startswith("!") and not _allowed(c, allowlist) for c in g.commands)
        if who and beyond:
            out.append((g, who))
    return out


def _reaches(
    users: tuple[str, ...], groups: dict[str, set[str]], dev_groups: set[str], developers: set[str]
) -> str:
    for u in users:
        if u.startswith("!"):
            continue
        if u == "ALL":
            return "ALL (developers included)"
        if u.startswith(("%:", "%")):
            g = u.lstrip("%:")
            if g in dev_groups:
                return f"group {g}"
            shared = developers & groups.get(g, set())
            if shared:
                return f"group {g} (members {', '.join(sorted(shared))} are developers)"
        elif u in developers:
            return f"user {u} (a developer)"
    return ""


def _allowed(command: str, allowlist: list[str]) -> bool:
    if command in ("ALL", "sudoedit") or command.startswith("sudoedit "):
        return False
    for allowed in allowlist:
        if command == allowed:
            return True
        if " " not in command and allowed == command + " *":
            return True  # no arguments written: any arguments, which the allowlist allows
        if allowed.endswith("*") and fnmatch.fnmatchcase(command, allowed):
            return True  # the command's own wildcards fall inside the allowed tail
        if " " not in allowed and command.startswith(allowed + " "):
            return True  # the allowlist names the program: any arguments
    return False

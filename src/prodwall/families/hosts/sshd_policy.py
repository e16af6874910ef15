"""sshd_config(5) as sshd reads it: keywords case-insensitive, the first value obtained
wins, Include read in place (relative to /etc/ssh), Match blocks conditional. OpenSSH's
own defaults apply to what is not set: PermitRootLogin prohibit-password and
PasswordAuthentication yes, which are both findings on a production host."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

DEFAULTS = {
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "usepam": "no",
    "banner": "none",
}
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}


@dataclass(frozen=True)
class Setting:
    value: str
    where: str  # file:line, or "OpenSSH's default"


@dataclass(frozen=True)
class Effective:
    settings: dict[str, Setting]  # the global value of each keyword
    conditional: list[tuple[str, Setting, str]]  # (keyword, setting, Match criteria)

    def get(self, key: str) -> Setting:
        return self.settings.get(key) or Setting(DEFAULTS.get(key, ""), "OpenSSH's default")


def effective(files: list[tuple[str, str]]) -> Effective:
    texts = dict(files)
    settings: dict[str, Setting] = {}
    conditional: list[tuple[str, Setting, str]] = []
    match = ""
    for where, key, value in _lines(files[0][0], texts, 0) if files else []:
        if key == "match":
            match = "" if value.lower() == "all" else value
            continue
        key = ALIASES.get(key, key)
        if match:
            conditional.append((key, Setting(value, where), match))
        elif key not in settings:
            settings[key] = Setting(value, where)
    return Effective(settings, conditional)


def _lines(path: str, texts: dict[str, str], depth: int) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for number, line in enumerate(texts.get(path, "").splitlines(), 1):
        words = line.split("#", 1)[0].replace("=", " ", 1).split()
        if len(words) < 2:
            continue
        key, value = words[0].lower(), " ".join(words[1:])
        if key == "include" and depth < 8:
            for pattern in words[1:]:
                pattern = pattern if pattern.startswith("/") else "/etc/ssh/" + pattern
                for included in sorted(p for p in texts if fnmatch.fnmatchcase(p, pattern)):
                    out += _lines(included, texts, depth + 1)
            continue
        out.append((f"{path}:{number}", key, value.strip('"')))
    return out

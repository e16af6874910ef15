"""One text (a file, a process's environment, a store) to findings.

Connection strings and credentials are recognised, each endpoint attributed to
an environment from the inventory, and every secret that travels with one is
replaced by its keyed fingerprint here, at the vantage. What crosses back:
production endpoints, and every credential whatever it points at (the runner
matches its fingerprint against production's; a production password reused
against a dev host is still production's). Connection strings to other
environments without a credential are counted, not listed."""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from prodwall.engine.protocol import one_of
from prodwall.families.secrets import conn, creds
from prodwall.families.secrets.attribute import Attribution, Attributor, as_address, normalise_host
from prodwall.families.secrets.keyvalue import is_comment, is_placeholder, role, settings
from prodwall.families.secrets.records import Confidence, Finding, Source

_HOSTLIKE = re.compile(
    r"^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,62}\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)\.?|"
    r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)(?::\d{1,5})?$",
    re.IGNORECASE,
)
# texts without any of these (lowercased) hold nothing the finders look for. Each is one
# pass of a fast substring search over the text: the fewer, the faster (a text with none,
# a log say, pays them all), so each stands for a family of keys ("pass": password,
# passwd, passphrase; "key": api_key, secret_key, private key). The credential shapes'
# own anchors come from creds.ANCHORS, lowercased: one list, never copied by hand.
SETTING_ANCHORS = (
    "://", "host", "pass", "secret", "token", "key", "pwd", "jdbc:", "server", "addr",
    "endpoint", "description", "bootstrap", "brokers", "data source",
)  # fmt: skip
ANCHORS = tuple(dict.fromkeys((*SETTING_ANCHORS, *(a.lower() for a in creds.ANCHORS))))
# single characters are found with memchr, many times faster than a word: an anchor whose
# characters are not all in the text cannot be in it, and is not searched for
_ANCHOR_CHARS = sorted(set("".join(ANCHORS)))
_ANCHOR_SETS = tuple((a, frozenset(a)) for a in ANCHORS)


def _anchored(lower: str) -> bool:
    present = frozenset(c for c in _ANCHOR_CHARS if c in lower)
    return any(a in lower for a, chars in _ANCHOR_SETS if chars <= present)


@dataclass
class Tally:
    non_production: int = 0


class Scanner:
    def __init__(self, key: bytes, attributor: Attributor) -> None:
        self._key = key
        self.attributor = attributor

    def fingerprint(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def text(self, text: str, path: str, source: str, tally: Tally) -> list[Finding]:
        lower = text.lower()
        if not _anchored(lower):
            return []
        lines = _Lines(text)
        out: list[Finding] = []
        taken: set[int] = set()  # lines whose value a connection string already explained
        for ep in conn.every(text, lower):
            number = lines.number(ep.start)
            if lines.is_comment(number):
                continue
            taken.add(number)
            secrets = tuple(s for s in (ep.password,) if s and not is_placeholder(s))
            out += self.endpoint(ep.rule, ep.hosts, secrets, path, number, source, tally,
                                  f"{ep.rule} connection string" + _user(ep.user))  # fmt: skip
        known: set[str] = set()  # values a finder already explained
        for cred in creds.every(text):
            number = lines.number(cred.start)
            known.update((cred.value, *cred.also))
            if not lines.is_comment(number):
                out.append(self._credential(cred, path, number, source))
        if source != "files" or _settings_worth_reading(path, lower):
            out += self._settings(text, path, source, taken, known, tally)
        return out

    def endpoint(
        self,
        rule: str,
        hosts: tuple[tuple[str, int], ...],
        secrets: tuple[str, ...],
        path: str,
        line: int,
        source: str,
        tally: Tally,
        detail: str,
    ) -> list[Finding]:
        found = [(h, p, self.attributor.host(h)) for h, p in hosts]
        prod = [(h, p, a) for h, p, a in found if a is not None and a.tier == "production"]
        pick = prod[0] if prod else next(((h, p, a) for h, p, a in found if a), found[0])
        host, port, where = pick
        if where is None and not secrets:
            return []  # points nowhere known and carries nothing: not a finding
        if (where is None or where.tier != "production") and not secrets:
            tally.non_production += 1
            return []
        target = f"{normalise_host(host) or host}" + (f":{port}" if port else "")
        with_secret = " with its secret" if secrets else ""
        return [
            _finding(
                source, path, line, rule, "connection-string", target, where,
                tuple(self.fingerprint(s) for s in secrets),
                f"{detail} to {target}{with_secret}",
            )
        ]  # fmt: skip

    def _credential(self, cred: creds.Credential, path: str, line: int, source: str) -> Finding:
        where: Attribution | None = None
        target = ""
        detail = cred.rule
        if cred.rule == "aws-access-key":
            target = cred.account
            where = self.attributor.aws_account(cred.account) if cred.account else None
            detail = (
                f"AWS access key of account {cred.account}"
                if cred.account
                else "AWS access key of the older generation (no account inside: undecodable)"
            ) + (" with its secret" if cred.also else "")
        elif cred.rule == "private-key":
            target = cred.public_key
            where = self.attributor.ssh_key(cred.public_key) if cred.public_key else None
            detail = "private key" + (f" {cred.public_key}" if cred.public_key else "")
        fps = tuple(self.fingerprint(v) for v in (cred.value, *cred.also))
        return _finding(source, path, line, cred.rule, "credential", target, where, fps, detail)

    def _settings(
        self, text: str, path: str, source: str, taken: set[int], known: set[str], tally: Tally
    ) -> Iterator[Finding]:
        blocks: dict[str, dict[str, list[tuple[str, int]]]] = {}
        for n, s in enumerate(settings(text)):
            if (
                s.line in taken
                or s.value in known
                or "://" in s.value
                or "jdbc:" in s.value.lower()
            ):
                continue
            r = role(s.key)
            if s.block in ("", "/"):  # top-level settings: unrelated unless named alike
                s = replace(s, block=f"#{n}")
            if r in ("password", "token", "aws-secret") and not is_placeholder(s.value):
                blocks.setdefault(s.block, {}).setdefault("secret", []).append((s.value, s.line))
            elif r in ("host", "") and _HOSTLIKE.match(s.value.strip()):
                blocks.setdefault(s.block, {}).setdefault("host", []).append((s.value, s.line))
            elif r == "port" and s.value.isdigit():
                blocks.setdefault(s.block, {}).setdefault("port", []).append((s.value, s.line))
        for block in blocks.values():
            yield from self._block(block, path, source, tally)

    def _block(
        self, block: dict[str, list[tuple[str, int]]], path: str, source: str, tally: Tally
    ) -> Iterator[Finding]:
        secrets = block.get("secret", [])
        port = int(block["port"][0][0]) if block.get("port") else 0
        hosts = [(_split_port(v, port), line) for v, line in block.get("host", [])]
        if hosts:
            line = hosts[0][1]
            all_hosts = tuple(hp for hp, _ in hosts)
            yield from self.endpoint(
                "config-block" if secrets else "host-literal",
                all_hosts,
                tuple(v for v, _ in secrets),
                path,
                secrets[0][1] if secrets else line,
                source,
                tally,
                "connection details split across keys" if secrets else "host in a setting",
            )
            return
        for value, line in secrets:  # a secret with no host beside it: matched by fingerprint
            yield _finding(source, path, line, "password-setting", "credential", "", None,
                           (self.fingerprint(value),), "a secret in a setting")  # fmt: skip


CONFIG_SUFFIXES = (".yml", ".yaml", ".ini", ".cfg", ".conf", ".cnf", ".properties", ".env",
                   ".toml", ".json", ".xml", ".tf", ".tfvars", ".sh", ".service")  # fmt: skip
SECRET_WORDS = ("password", "passwd", "secret", "token", "pwd", "apikey", "api_key",
                "access_key", "private_key", "credential")  # fmt: skip


def _settings_worth_reading(path: str, lower: str) -> bool:
    """Settings are read line by line, the slow part: in config files, and in any other
    file that names a secret somewhere (code with a hard-coded password)."""
    name = path.rsplit("/", 1)[-1].lower()
    if (
        name.endswith(CONFIG_SUFFIXES)
        or name.startswith((".env", "env", "config"))
        or ("." not in name)
    ):
        return True
    return any(w in lower for w in SECRET_WORDS)


def _split_port(value: str, default: int) -> tuple[str, int]:
    value = value.strip()
    if as_address(value) is not None:
        return value, default
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host, int(port)
    return value, default


def _user(user: str) -> str:
    return f" for user {user}" if user and not is_placeholder(user) else ""


def _finding(
    source: str,
    path: str,
    line: int,
    rule: str,
    kind: str,
    target: str,
    where: Attribution | None,
    fingerprints: tuple[str, ...],
    detail: str,
) -> Finding:
    return Finding(
        source=one_of(Source, source),
        path=path,
        line=line,
        rule=rule,
        kind=kind,
        target=target,
        environment=where.environment if where else "",
        tier=where.tier if where else "",
        attributed_by=where.by if where else "",
        confidence=one_of(Confidence, where.confidence) if where else "",
        fingerprints=fingerprints,
        detail=detail,
    )


class _Lines:
    """Offsets to 1-based line numbers, and which lines are comments (built on demand)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None
        self._comments: dict[int, bool] = {}

    def number(self, offset: int) -> int:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self._text))]
        return bisect.bisect_right(self._starts, offset)

    def is_comment(self, number: int) -> bool:
        if number not in self._comments:
            assert self._starts is not None
            start = self._starts[number - 1]
            end = self._text.find("\n", start)
            self._comments[number] = is_comment(self._text[start : end if end >= 0 else None])
        return self._comments[number]

"""Key/value settings of config-like text (YAML, INI, .properties, .env, compose
lists, JSON), with their line and the block they belong to, comments skipped.

A block is what one connection's details are split across: a YAML mapping, an
INI section, a .properties prefix (`spring.datasource.`), an environment
variable prefix (`DB_` of DB_HOST and DB_PASSWORD)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prodwall.families.secrets import flowstyle

_YAML = re.compile(r"^(\s*)(?:-\s+)?[\"']?([A-Za-z_][\w.-]*)[\"']?\s*:(?:\s+|$)(.*)$")
_ASSIGN = re.compile(
    r"^(\s*)(?:-\s+|export\s+|set\s+|ENV\s+)?[\"']?([A-Za-z_][\w.-]*)[\"']?\s*=\s*(.*)$"
)
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
COMMENT_STARTS = ("#", ";", "//", "--", "<!--", "*", "/*", "REM ")


@dataclass(frozen=True)
class Setting:
    key: str  # as written
    value: str = field(repr=False)
    line: int
    block: str


def is_comment(line: str) -> bool:
    return line.lstrip().startswith(COMMENT_STARTS)


def _unquote(value: str) -> str:
    value = value.strip().rstrip(",").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    # a trailing comment after whitespace (YAML, INI): not part of the value
    return re.split(r"\s+[#;]\s", value, maxsplit=1)[0].strip()


def settings(text: str) -> Iterator[Setting]:
    whole = _json(text)
    if whole is not None:  # a JSON document, pretty or minified: read as JSON, not as lines
        yield from _json_settings(whole, text, 1, "{}", 0)
        return
    parents: list[tuple[int, str]] = []  # YAML: (indent, key) of the enclosing mappings
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped[:1] == "{" and stripped[-1:] == "}":  # one JSON or flow-style object
            found = _json(stripped)
            found = found if found is not None else flowstyle.parse(stripped)
            if found is not None:
                yield from _json_settings(found, None, number, f"{{}}{number}", 0)
                continue
        if not stripped or is_comment(line) or len(line) > 4096:
            continue  # a minified or data line: the connection-string finders see it whole
        sec = _SECTION.match(line)
        if sec:
            section, parents = sec.group(1).strip(), []
            continue
        eq, colon = line.find("="), line.find(":")
        m = _ASSIGN.match(line) if eq >= 0 and (colon < 0 or eq < colon) else None
        if m is not None:
            key = m.group(2)
            yield Setting(key, _unquote(m.group(3)), number, section or _prefix(key))
            continue
        y = _YAML.match(line)
        if y is None:
            continue
        indent, key, value = len(y.group(1)), y.group(2), y.group(3)
        while parents and parents[-1][0] >= indent:
            parents.pop()
        block = section + "/" + "/".join(k for _, k in parents)
        if value.strip() in ("", "|", ">", "|-", ">-", "{", "["):
            parents.append((indent, key))
            continue
        flow = re.split(r"\s+#", value, maxsplit=1)[0]  # a trailing comment is not the node
        nested = flowstyle.parse(flow) if flow.strip()[:1] in ("{", "[") else None
        if nested is not None:  # `database: {host: h, password: p}`: one block of its own
            yield from _json_settings(nested, None, number, f"{block}/{key}", 0)
            continue
        yield Setting(key, _unquote(value), number, block)


MAX_JSON_CHARS = 8 << 20
_SCALARS = (str, int, float, bool)


def _json(text: str) -> Any:
    """A JSON object or array, when that is what `text` is; None otherwise."""
    body = text.strip()
    if body[:1] not in ("{", "[") or len(body) > MAX_JSON_CHARS:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict | list) else None


def _json_settings(
    data: Any, text: str | None, line: int, block: str, depth: int
) -> Iterator[Setting]:
    """Each scalar of a JSON tree as a setting: its key, the path of objects it sits in
    as its block (a Secrets Manager secret `{"host":..,"password":..}` is one block), and
    the line its key is on (`text`: the whole document, to find that line)."""
    if depth > 32:
        return
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        where = line
        if text is not None and isinstance(key, str):
            at = text.find(json.dumps(key))
            where = text.count("\n", 0, at) + 1 if at >= 0 else line
        if isinstance(value, dict | list):
            yield from _json_settings(value, text, where, f"{block}/{key}", depth + 1)
        elif isinstance(value, _SCALARS) and isinstance(key, str):
            yield Setting(key, str(value), where, block)


def _prefix(key: str) -> str:
    """DB_HOST -> DB; spring.datasource.url -> spring.datasource; host -> ''."""
    for sep in (".", "_", "-"):
        if sep in key:
            return key.rsplit(sep, 1)[0].lower()
    return ""


# --- what a key says its value is -------------------------------------------------------

_NORM = re.compile(r"[^a-z0-9]")


def _norm(key: str) -> str:
    return _NORM.sub("", key.lower())


def role(key: str) -> str:
    """host | port | user | password | aws-key-id | aws-secret | token | '' for a key."""
    k = _norm(key)
    if key in ("PWD", "OLDPWD"):  # the shell's working directories, not passwords
        return ""
    if k.endswith(("awssecretaccesskey", "secretaccesskey", "awssecretkey")):
        return "aws-secret"
    if k.endswith(("awsaccesskeyid", "accesskeyid")):
        return "aws-key-id"
    if k.endswith(("password", "passwd", "pwd", "pass", "passphrase", "dbpassword")):
        return "password"
    if k.endswith(("token", "apikey", "secret", "secretkey", "privatekey", "clientsecret",
                   "authtoken", "accesstoken", "auth")):  # fmt: skip
        return "token"
    if k.endswith(("host", "hostname", "server", "servername", "address", "endpoint", "addr")):
        return "host"
    if k.endswith("port"):
        return "port"
    if k.endswith(("user", "username", "login", "uid", "userid")):
        return "user"
    return ""


_PLACEHOLDER = re.compile(
    r"^(?:\$\{.*\}|\$[A-Za-z_]\w*|\{\{.*\}\}|<[^>]*>|%\(.*\)s|\*+|x+|\.+|-+|"
    r"changeme|change_me|password|secret|none|null|nil|true|false|undefined|todo|tbd|"
    r"example|your[_-].*|redacted|\[redacted\]|env\(.*\)|vault:.*|ref\+.*)$",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """A value that stands for a secret without being one (a template, a reference)."""
    return len(value) < 4 or bool(_PLACEHOLDER.match(value.strip()))

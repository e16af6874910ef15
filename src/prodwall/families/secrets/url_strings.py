"""Connection strings as URLs: every common scheme, passwords holding '@', '#', '?', '/'
or ';' unencoded as people write them, multi-host authorities, IPv6 literals. Nothing
is resolved: `mongodb+srv://` names its SRV record's domain, attributed as a host."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

URL_SCHEMES = (
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis",
    "rediss", "amqp", "amqps", "kafka", "http", "https", "ldap", "ldaps", "sftp", "ftp",
    "ftps", "smb", "mssql", "sqlserver", "oracle", "cassandra", "nats", "ssh", "clickhouse",
    "elasticsearch", "memcached", "couchbase", "neo4j", "bolt", "s3",
)  # fmt: skip
DEFAULT_PORTS = {
    "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mongodb": 27017,
    "redis": 6379, "rediss": 6379, "amqp": 5672, "amqps": 5671, "kafka": 9092, "http": 80,
    "https": 443, "ldap": 389, "ldaps": 636, "sftp": 22, "ssh": 22, "ftp": 21, "smb": 445,
    "sqlserver": 1433, "mssql": 1433, "oracle": 1521,
}  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """One connection string: where it goes and what secret travels with it. It never
    leaves the vantage: the agent turns it into findings with fingerprints."""

    rule: str  # url:postgres, jdbc:sqlserver, libpq, odbc, kafka, tns, ...
    hosts: tuple[tuple[str, int], ...]  # (host, port or 0)
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""
    start: int = 0  # offset in the text it was found in
    end: int = 0


_SCHEMES = frozenset(URL_SCHEMES)
_AFTER = re.compile(r"://([^\s'\"<>`]+)")  # a literal first: re finds it fast
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,20})$")
_HOSTPORT = re.compile(
    r"^(\[[0-9A-Fa-f:.%a-z]+\]|[A-Za-z0-9_.%\-\u00a0-\uffff]+)(?::(\d{1,5}))?$"
)


def urls(text: str) -> Iterator[Endpoint]:
    for m in _AFTER.finditer(text):
        before = _SCHEME.search(text, max(0, m.start() - 21), m.start())
        if before is None:
            continue
        scheme = before.group(1).lower()
        while scheme and scheme not in _SCHEMES and "." in scheme:
            scheme = scheme.split(".", 1)[1]  # "x.postgres" in a sentence: its tail
        if scheme not in _SCHEMES:
            continue
        start = m.start() - len(scheme)
        ep = parse_url(scheme, m.group(1).rstrip(".,;)]}'\""))
        if ep is not None:
            yield Endpoint(
                f"url:{scheme}", ep.hosts, ep.user, ep.password, ep.database, start, m.end()
            )


def parse_url(scheme: str, rest: str) -> Endpoint | None:
    """`rest` is what follows scheme://. The authority ends at the last '@' that is
    followed by a valid host list: a password may hold '@', '/', '#' and '?' raw."""
    userinfo, hostpart, tail = "", rest, ""
    for at in sorted((i for i, c in enumerate(rest) if c == "@"), reverse=True):
        head, after = rest[:at], rest[at + 1 :]
        if re.search(r"[/?][^@]*=", head):
            continue  # an '@' inside a query string's value: not the end of a userinfo
        cut = re.search(r"[/?#]", after)
        candidate = after[: cut.start()] if cut else after
        if _hosts(candidate) is not None:
            userinfo, hostpart, tail = head, candidate, after[len(candidate) :]
            break
    else:
        cut = re.search(r"[/?#]", rest)
        hostpart, tail = (rest[: cut.start()], rest[cut.start() :]) if cut else (rest, "")
    hosts = _hosts(hostpart) or []
    query = urllib.parse.parse_qs(urllib.parse.urlsplit("x://h" + tail).query)
    if scheme in ("postgres", "postgresql"):  # libpq: host= and hostaddr= in the query too
        hosts = [(h, 0) for key in ("hostaddr", "host") for v in query.get(key, [])
                 for h in v.split(",") if h and not h.startswith("/")] + hosts  # fmt: skip
    if not hosts:
        return None
    user, _, password = userinfo.partition(":")
    password = password or _first(query, "password", "pwd", "pass")
    user = user or _first(query, "user", "username")
    path = urllib.parse.urlsplit("x://h" + tail).path.strip("/")
    default = DEFAULT_PORTS.get(scheme, 0)
    return Endpoint(
        f"url:{scheme}",
        tuple((h, p or default) for h, p in hosts),
        urllib.parse.unquote(user),
        urllib.parse.unquote(password),
        path,
    )


def _first(query: dict[str, list[str]], *keys: str) -> str:
    for key in keys:
        for k, v in query.items():
            if k.lower() == key and v:
                return v[0]
    return ""


def _hosts(text: str) -> list[tuple[str, int]] | None:
    """host[:port][,host[:port]...] or None if any part is not a host."""
    if not text:
        return None
    out = []
    for part in text.split(","):
        m = _HOSTPORT.match(part.strip())
        if not m or not any(c.isalnum() for c in m.group(1)):
            return None
        port = int(m.group(2)) if m.group(2) else 0
        if port > 65535:
            return None
        # percent-decoded, as libpq and URL parsers read a host: db%2Eprod is db.prod
        out.append((urllib.parse.unquote(m.group(1)).strip("[]"), port))
    return out

"""Connection strings of every common shape, parsed into endpoints.

URLs (with passwords that hold '@', '#', '?', '/' or ';' unencoded, as people
write them, and multi-host authorities), JDBC sub-protocols (postgresql, mysql,
mariadb, sqlserver `;key=value`, oracle thin and TNS descriptors), libpq
`key=value`, ODBC / ADO.NET `Key=Value;` strings and Kafka bootstrap lists.
Nothing is resolved and nothing connects: `mongodb+srv://` names its SRV record's
domain, which is attributed as a host name.
"""

from __future__ import annotations

import bisect
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
_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.%a-z]+\]|[A-Za-z0-9_.\-\u00a0-\uffff]+)(?::(\d{1,5}))?$")


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
    hosts = _hosts(hostpart)
    if not hosts:
        return None
    user, _, password = userinfo.partition(":")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit("x://h" + tail).query)
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
        out.append((m.group(1).strip("[]"), port))
    return out


# --- JDBC -----------------------------------------------------------------------------

_JDBC = re.compile(r"jdbc:([a-z0-9]+)(:[a-z]+)?:([^\s'\"<>`]+)", re.IGNORECASE)


def jdbc(text: str) -> Iterator[Endpoint]:
    for m in _JDBC.finditer(text):
        sub = m.group(1).lower()
        rest = m.group(3).rstrip(".,)]}'\"")
        if sub == "oracle":
            ep = _oracle(m.group(0)[len("jdbc:oracle") :])
        elif sub in ("sqlserver", "jtds"):
            ep = _semicolon(rest.removeprefix("sqlserver:").lstrip("/"), "jdbc:sqlserver", 1433)
        elif rest.startswith("//"):
            ep = parse_url(sub, rest[2:])
            if ep is not None:
                ep = Endpoint(f"jdbc:{sub}", ep.hosts, ep.user, ep.password, ep.database)
        else:
            ep = None
        if ep is not None:
            yield Endpoint(ep.rule, ep.hosts, ep.user, ep.password, ep.database, m.start(), m.end())


def _semicolon(rest: str, rule: str, default_port: int) -> Endpoint | None:
    """jdbc:sqlserver://host[\\instance][:port];key=value;... (values may be {braced})."""
    head, _, params = rest.partition(";")
    kv = _pairs(params, ";")
    server = head or kv.get("servername", "")
    host, _, port = server.split("\\", 1)[0].partition(":")
    port = port or kv.get("portnumber", "")
    if not host:
        return None
    return Endpoint(
        rule,
        ((host, int(port) if port.isdigit() else default_port),),
        kv.get("user", kv.get("username", "")),
        kv.get("password", ""),
        kv.get("databasename", kv.get("database", "")),
    )


_TNS_HOST = re.compile(r"\(\s*HOST\s*=\s*([^)\s]+)\s*\)", re.IGNORECASE)
_TNS_PORT = re.compile(r"\(\s*PORT\s*=\s*(\d+)\s*\)", re.IGNORECASE)


def _oracle(rest: str) -> Endpoint | None:
    """:thin:[user/password]@host:port:SID | @//host:port/service | @(DESCRIPTION=...)."""
    m = re.match(r":thin:(?:([^/@\s]+)/(\S+))?@(.+)", rest, re.IGNORECASE | re.DOTALL)
    if not m:
        return None
    user, password, where = m.group(1) or "", m.group(2) or "", m.group(3)
    if where.lstrip().startswith("("):
        ep = tns(where)
        return Endpoint("jdbc:oracle", ep.hosts, user, password) if ep else None
    hm = re.match(r"/*(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?[:/]?([A-Za-z0-9_.$#-]*)", where)
    if not hm:
        return None
    port = int(hm.group(2)) if hm.group(2) else 1521
    return Endpoint("jdbc:oracle", ((hm.group(1).strip("[]"), port),), user, password, hm.group(3))


def tns(text: str) -> Endpoint | None:
    """An Oracle TNS descriptor: every (HOST=...) with its (PORT=...)."""
    hosts = _TNS_HOST.findall(text)
    if not hosts:
        return None
    ports = [int(p) for p in _TNS_PORT.findall(text)] or [1521]
    pairs = tuple((h, ports[min(i, len(ports) - 1)]) for i, h in enumerate(hosts))
    return Endpoint("tns", pairs)


_DESCRIPTION = re.compile(r"\(\s*DESCRIPTION\s*=", re.IGNORECASE)


def descriptors(text: str) -> Iterator[Endpoint]:
    for m in _DESCRIPTION.finditer(text):
        depth, end = 0, m.start()
        for end in range(m.start(), min(len(text), m.start() + 4096)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        ep = tns(text[m.start() : end + 1])
        if ep is not None:
            yield Endpoint(ep.rule, ep.hosts, start=m.start(), end=end + 1)


# --- key=value strings: libpq, ODBC / ADO.NET ------------------------------------------


def _pairs(text: str, sep: str) -> dict[str, str]:
    """key=value pairs split on `sep`, values possibly {braced} or 'quoted'."""
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        m = re.match(r"\s*([A-Za-z][A-Za-z0-9 _.-]*?)\s*=\s*", text[i:])
        if not m:
            nxt = text.find(sep, i)
            i = len(text) if nxt < 0 else nxt + 1
            continue
        key = m.group(1).strip().lower()
        i += m.end()
        if i < len(text) and text[i] in "{'\"":
            close = {"{": "}", "'": "'", '"': '"'}[text[i]]
            j = text.find(close, i + 1)
            j = len(text) if j < 0 else j
            value, i = text[i + 1 : j], j + 1
            nxt = text.find(sep, i)
            i = len(text) if nxt < 0 else nxt + 1
        else:
            j = text.find(sep, i) if sep != " " else _space(text, i)
            j = len(text) if j < 0 else j
            value, i = text[i:j].strip(), j + 1
        out[key] = value
    return out


def _space(text: str, i: int) -> int:
    m = re.search(r"\s", text[i:])
    return i + m.start() if m else -1


_LIBPQ = re.compile(r"(?:(?<=[\s'\"=])|^)host(?:addr)?\s*=\s*[^\s'\"]+[^\n]*", re.MULTILINE)
_LIBPQ_KEYS = ("dbname", "user", "password", "port", "sslmode")


def libpq(text: str) -> Iterator[Endpoint]:
    for m in _LIBPQ.finditer(text):
        line = m.group(0)
        odbc_like = re.search(r";\s*[A-Za-z][A-Za-z ]*=", line)  # Key=Value; pairs
        if odbc_like or not any(re.search(rf"\b{k}\s*=", line, re.I) for k in _LIBPQ_KEYS):
            continue
        kv = _libpq_pairs(line)
        hosts = [h for h in (kv.get("host") or kv.get("hostaddr") or "").split(",") if h]
        ports = [p for p in kv.get("port", "").split(",") if p.isdigit()] or ["5432"]
        pairs = tuple((h, int(ports[min(i, len(ports) - 1)])) for i, h in enumerate(hosts))
        if pairs:
            yield Endpoint(
                "libpq",
                pairs,
                kv.get("user", ""),
                kv.get("password", ""),
                kv.get("dbname", ""),
                m.start(),
                m.end(),
            )


def _libpq_pairs(line: str) -> dict[str, str]:
    """libpq's own rules: values bare or 'single-quoted' with \\' and \\\\ escapes."""
    out: dict[str, str] = {}
    for m in re.finditer(r"([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'\"]+)", line):
        value = m.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[m.group(1).lower()] = value
    return out


_ODBC = re.compile(
    r"(?:Server|Data Source|Address|Addr|Network Address|Host)\s*=\s*[^;\n]+;[^\n'\"]*",
    re.IGNORECASE,
)


def odbc(text: str) -> Iterator[Endpoint]:
    for m in _ODBC.finditer(text):
        kv = _pairs(m.group(0), ";")
        server = next(
            (kv[k] for k in ("server", "data source", "address", "addr", "network address", "host")
             if kv.get(k)),
            "",
        )  # fmt: skip
        server = re.sub(r"^(tcp|np|lpc):", "", server, flags=re.I)
        host, _, port = server.replace(",", ":").split("\\", 1)[0].partition(":")
        if not host or host in (".", "(local)"):
            continue
        yield Endpoint(
            "odbc",
            ((host, int(port) if port.isdigit() else int(kv.get("port", "0") or 0)),),
            kv.get("uid", kv.get("user id", kv.get("user", ""))),
            kv.get("pwd", kv.get("password", "")),
            kv.get("database", kv.get("initial catalog", "")),
            m.start(),
            m.end(),
        )


_KAFKA = re.compile(
    r"(?:bootstrap[._-]servers?|KAFKA_BROKERS|--bootstrap-server|brokers)\s*[=:\s]\s*['\"]?"
    r"([A-Za-z0-9_.\-\[\]:]+(?:\s*,\s*[A-Za-z0-9_.\-\[\]:]+)*)",
    re.IGNORECASE,
)


def kafka(text: str) -> Iterator[Endpoint]:
    for m in _KAFKA.finditer(text):
        parts = [p.strip() for p in m.group(1).split(",")]
        pairs = []
        for part in parts:
            host, _, port = part.rpartition(":") if part.count(":") == 1 or "]" in part else (
                part, "", "")  # fmt: skip
            if host and any(c.isalpha() or c.isdigit() for c in host):
                pairs.append((host.strip("[]"), int(port) if port.isdigit() else 9092))
        if pairs:
            yield Endpoint("kafka", tuple(pairs), start=m.start(), end=m.end())


# each finder runs only on a text holding its anchor (lowercased): most texts hold none
_GATES = (
    (("jdbc:",), "jdbc"),
    (("://",), "urls"),
    (("description",), "descriptors"),
    (("host=", "hostaddr=", "host ="), "libpq"),
    (
        ("server=", "server =", "data source=", "data source =", "address=", "addr=", "host="),
        "odbc",
    ),
    (("bootstrap", "brokers"), "kafka"),
)


def every(text: str, lower: str | None = None) -> Iterator[Endpoint]:
    """Every connection string in `text`, each once (a JDBC URL is not a URL again)."""
    lower = text.lower() if lower is None else lower
    finders = {"jdbc": jdbc, "urls": urls, "descriptors": descriptors, "libpq": libpq,
               "odbc": odbc, "kafka": kafka}  # fmt: skip
    taken: list[tuple[int, float]] = []  # (start, end) of what was found, sorted
    for anchors, name in _GATES:
        if not any(a in lower for a in anchors):
            continue
        if name == "odbc" and not ("=" in text and ";" in text):
            continue
        for ep in finders[name](text):
            at = bisect.bisect_right(taken, (ep.start, float("inf")))
            if at and taken[at - 1][0] <= ep.start < taken[at - 1][1]:
                continue
            bisect.insort(taken, (ep.start, max(ep.end, ep.start + 1)))
            yield ep

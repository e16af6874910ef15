"""JDBC URLs (postgresql, mysql, mariadb, sqlserver `;key=value`, oracle thin with SID,
service or TNS descriptor) and bare Oracle TNS descriptors."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodwall.families.secrets.kv_strings import _pairs
from prodwall.families.secrets.url_strings import Endpoint, parse_url

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

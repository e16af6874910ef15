"""key=value connection strings: libpq (with its quoting), ODBC and ADO.NET
(`Key=Value;`, values possibly {braced}), Kafka bootstrap lists."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodwall.families.secrets.url_strings import Endpoint


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
        # libpq connects to hostaddr when given (host then only names it): both count
        hosts = [h for key in ("hostaddr", "host") for h in kv.get(key, "").split(",")
                 if h and not h.startswith("/")]  # fmt: skip
        hosts = list(dict.fromkeys(hosts))
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

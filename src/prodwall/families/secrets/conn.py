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
from collections.abc import Iterator

from prodwall.families.secrets.jdbc_strings import descriptors, jdbc
from prodwall.families.secrets.kv_strings import kafka, libpq, odbc
from prodwall.families.secrets.url_strings import Endpoint, parse_url, urls

__all__ = ["Endpoint", "every", "parse_url"]

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


_FINDERS = {"jdbc": jdbc, "urls": urls, "descriptors": descriptors, "libpq": libpq,
            "odbc": odbc, "kafka": kafka}  # fmt: skip


def every(text: str, lower: str | None = None) -> Iterator[Endpoint]:
    """Every connection string in `text`, each once (a JDBC URL is not a URL again)."""
    lower = text.lower() if lower is None else lower
    taken: list[tuple[int, float]] = []  # (start, end) of what was found, sorted
    for anchors, name in _GATES:
        if not any(a in lower for a in anchors):
            continue
        if name == "odbc" and not ("=" in text and ";" in text):
            continue
        for ep in _FINDERS[name](text):
            at = bisect.bisect_right(taken, (ep.start, float("inf")))
            if at and taken[at - 1][0] <= ep.start < taken[at - 1][1]:
                continue
            bisect.insort(taken, (ep.start, max(ep.end, ep.start + 1)))
            yield ep

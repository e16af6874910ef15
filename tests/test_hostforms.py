"""One reading of a host (part of #25), checked against the software that connects:
glibc's inet_aton/getaddrinfo for numeric hosts, libpq's own conninfo parser (through
psycopg) for connection strings, Python's ipaddress for the IPv6 embeddings; then the
issue's eight production connection strings and embedded DNS answers, judged as such."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodwall import hostforms
from prodwall.families.dns.observe import _name_obs
from prodwall.families.dns.records import DnsStatus, NameAnswer
from prodwall.families.secrets.records import EnvironmentMap, ScanOptions, SecretJob, SecretResult
from prodwall.families.secrets.url_strings import urls
from prodwall.families.secrets.vantage_agent import collect
from prodwall.verdicts import Signal

PROD = ipaddress.IPv4Address("198.19.77.5")


@st.composite
def inet_aton_forms(draw: st.DrawFn) -> str:
    """An IPv4 number as people and inet_aton write it: 1 to 4 parts, each in decimal,
    octal or hex, the last part taking what the earlier ones leave."""
    value = draw(st.integers(0, 2**32 - 1))
    parts = draw(st.integers(1, 4))
    widths = {1: [32], 2: [8, 24], 3: [8, 8, 16], 4: [8, 8, 8, 8]}[parts]
    numbers, shift = [], 32
    for width in widths:
        shift -= width
        numbers.append((value >> shift) & ((1 << width) - 1))
    styles = draw(
        st.lists(st.sampled_from(["dec", "oct", "hex", "HEX"]), min_size=parts, max_size=parts)
    )
    written = []
    for n, style in zip(numbers, styles, strict=True):
        written.append(
            {
                "dec": str(n),
                "oct": "0" + format(n, "o"),
                "hex": hex(n),
                "HEX": "0X" + format(n, "X"),
            }[style]
        )
    return ".".join(written)


def _glibc(text: str) -> str | None:
    """The IPv4 address glibc's getaddrinfo reads in a numeric host, or None."""
    try:
        return str(socket.getaddrinfo(text, None, socket.AF_INET, socket.SOCK_STREAM, 0,
                                      socket.AI_NUMERICHOST)[0][4][0])  # fmt: skip
    except (socket.gaierror, UnicodeError):
        return None


@settings(max_examples=500)
@given(inet_aton_forms())
def test_numeric_hosts_read_as_glibc_reads_them(text: str) -> None:
    ours = hostforms.numeric_ipv4(text)
    theirs = _glibc(text)
    assert (str(ours) if ours else None) == theirs, text


@settings(max_examples=300)
@given(st.text(alphabet="0123456789xXabcdefABCDEF.", min_size=1, max_size=20))
def test_nothing_glibc_refuses_is_read_as_an_address(text: str) -> None:
    theirs = _glibc(text)
    ours = hostforms.numeric_ipv4(text)
    assert (str(ours) if ours else None) == theirs, text


@settings(max_examples=300)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1))
def test_every_ipv6_embedding_gives_back_its_ipv4(v4: int, port: int) -> None:
    four = ipaddress.IPv4Address(v4)
    forms = {
        "mapped": ipaddress.IPv6Address(0xFFFF << 32 | v4),
        "nat64": ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | v4),
        "nat64-local/96": ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b:1::")) | v4),
        "6to4": ipaddress.IPv6Address(0x2002 << 112 | v4 << 80 | 1),
        "teredo": ipaddress.IPv6Address(
            0x20010000 << 96 | 0x01020304 << 64 | port << 32 | (~v4 & 0xFFFFFFFF)
        ),
        "isatap": ipaddress.IPv6Address(0xFE80 << 112 | 0x5EFE << 32 | v4),
    }
    for name, six in forms.items():
        assert four in hostforms.addresses(f"[{six}]"), name
        assert four in hostforms.addresses(str(six)), name
    # the /48 local-use format puts the IPv4 around the u-octet (RFC 6052 section 2.2)
    local48 = ipaddress.IPv6Address(
        int(ipaddress.IPv6Address("64:ff9b:1::")) | (v4 >> 16) << 64 | (v4 & 0xFFFF) << 40
    )
    assert four in hostforms.addresses(str(local48))


hosts = st.sampled_from(["db.prod.corp.internal", "198.19.77.5", "h1", "x-y.example"])


@st.composite
def libpq_urls(draw: st.DrawFn) -> str:
    host = draw(hosts)
    encoded = "".join(f"%{ord(c):02X}" if draw(st.booleans()) and c == "." else c for c in host)
    where = draw(st.sampled_from(["authority", "query-host", "query-hostaddr", "both"]))
    query = []
    authority = encoded if where in ("authority", "both") else ""
    if where in ("query-host", "both"):
        query.append(f"host={draw(hosts)}")
    if where == "query-hostaddr":
        authority = "x"
        query.append("hostaddr=198.19.77.5")
    tail = "?" + "&".join(query) if query else ""
    return f"postgresql://u:pw@{authority}/db{tail}"


@settings(max_examples=300)
@given(libpq_urls())
def test_connection_urls_name_every_host_libpq_would_use(url: str) -> None:
    conninfo = pytest.importorskip("psycopg.conninfo")
    said = conninfo.conninfo_to_dict(url)
    theirs = {h for key in ("host", "hostaddr") for h in str(said.get(key, "")).split(",") if h}
    (found,) = list(urls(url))
    ours = {hostforms.unquote_host(h) for h, _port in found.hosts}
    assert theirs <= ours, (url, said, found.hosts)


KEY = "11" * 32
ENVS = (
    EnvironmentMap(
        name="production",
        tier="production",
        domains=("prod.corp.internal",),
        hosts={"db.prod.corp.internal": "prod-db"},
        networks=("198.19.77.0/24",),
    ),
    EnvironmentMap(
        name="dev", tier="dev", domains=("dev.corp.internal",), networks=("198.18.1.0/24",)
    ),
)
ISSUE_STRINGS = [
    "postgres://u:p@db%2Eprod.corp.internal/x",
    "postgres:///x?host=db.prod.corp.internal",
    "postgres://u:p@x/x?hostaddr=198.19.77.5",
    "postgres://u:p@[64:ff9b::198.19.77.5]/x",
    "postgres://u:p@[2002:c613:4d05::1]/x",
    "postgres://u:p@3323153669/x",
    "postgres://u:p@0xc6134d05/x",
    "postgres://u:p@198.19.19717/x",
]


@pytest.mark.parametrize("text", ISSUE_STRINGS)
def test_the_issues_connection_strings_point_at_production(tmp_path: Path, text: str) -> None:
    (tmp_path / "app.env").write_text(f"DATABASE_URL={text}\n")
    opts = ScanOptions(paths=(str(tmp_path),), processes=False)
    result = SecretResult.from_json(
        collect(SecretJob(key=KEY, environments=ENVS, options=opts, canary="")).to_json()
    )
    assert [f.environment for f in result.findings] == ["production"], result.findings


@pytest.mark.parametrize(
    "aaaa",
    ["::ffff:198.19.77.5", "64:ff9b::c613:4d05", "2002:c613:4d05::1", "teredo"],
)
def test_dns_answers_that_carry_a_production_ipv4_reach_production(aaaa: str) -> None:
    if aaaa == "teredo":  # a Teredo address whose (obfuscated) client is production's
        aaaa = str(
            ipaddress.IPv6Address(0x20010000 << 96 | 0x01020304 << 64 | (~int(PROD) & 0xFFFFFFFF))
        )
    answer = NameAnswer(
        name="db.prod.corp.internal",
        status=DnsStatus.ANSWER,
        addresses=(aaaa,),
        nameservers=("198.18.1.1",),
    )
    prod = [ipaddress.ip_network("198.19.77.0/24")]
    seen = _name_obs(answer, ["prod.corp.internal"], prod)  # type: ignore[arg-type]
    assert seen.signal is Signal.CROSSED, seen.detail


@settings(max_examples=200)
@given(st.lists(hosts, min_size=1, max_size=3), st.booleans())
def test_libpq_keyword_strings_name_every_host_libpq_uses(names: list[str], addr: bool) -> None:
    conninfo = pytest.importorskip("psycopg.conninfo")
    from prodwall.families.secrets import conn

    text = f"host={','.join(names)} dbname=x password=Pw-123456"
    if addr:
        text = "hostaddr=198.19.77.5 " + text.replace(f"host={','.join(names)}", f"host={names[0]}")
    said = conninfo.conninfo_to_dict(text)
    theirs = {h for key in ("host", "hostaddr") for h in str(said.get(key, "")).split(",") if h}
    found = [h for ep in conn.every(text) for h, _port in ep.hosts]
    assert theirs <= set(found), (text, said, found)

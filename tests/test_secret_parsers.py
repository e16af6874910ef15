"""The secrets family's parsers and attribution rules, one shape at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodwall.families.secrets import conn, creds
from prodwall.families.secrets.attribute import (
    Attributor,
    aws_account_of,
    aws_key_id_for,
    normalise_host,
)
from prodwall.families.secrets.records import EnvironmentMap
from prodwall.families.secrets.stores import entries
from prodwall.lab import keys


def _one(text: str) -> conn.Endpoint:
    (found,) = list(conn.every(text))
    return found


@pytest.mark.parametrize(
    ("text", "hosts", "user", "password"),
    [
        # passwords holding '#', '?', '/', '@' and ';' as people write them, unencoded
        ("postgres://app:p#ss@db.prod.example:5432/pay", [("db.prod.example", 5432)],
         "app", "p#ss"),
        ("postgresql://app:a?b/c@db.prod.example/pay", [("db.prod.example", 5432)], "app", "a?b/c"),
        ("mysql://root:p@ss@word@198.18.99.7:3307/x", [("198.18.99.7", 3307)], "root", "p@ss@word"),
        ("redis://:se;cret@cache.prod.example:6380/0", [("cache.prod.example", 6380)],
         "", "se;cret"),
        ("amqp://u:p%40ss@mq.prod.example", [("mq.prod.example", 5672)], "u", "p@ss"),
        # multi-host authorities and IPv6 literals
        (
            "mongodb://a:b@[fd00:19:10::10]:27018,198.19.10.11/db?replicaSet=r",
            [("fd00:19:10::10", 27018), ("198.19.10.11", 27017)],
            "a",
            "b",
        ),
        ("postgres://h1.prod:5432,h2.prod:5433/db", [("h1.prod", 5432), ("h2.prod", 5433)], "", ""),
        # no DNS lookup: the SRV record's name is what is attributed
        ("mongodb+srv://u:pw@cluster0.prod.example/db", [("cluster0.prod.example", 0)], "u", "pw"),
        ("ldaps://cn=admin:pw@ldap.prod.example", [("ldap.prod.example", 636)], "cn=admin", "pw"),
        ("https://deploy:tok@git.prod.example/org/repo.git", [("git.prod.example", 443)],
         "deploy", "tok"),
        # the password in the query string
        ("postgres://db.prod.example/pay?user=app&password=q%26w", [("db.prod.example", 5432)],
         "app", "q&w"),
        # an '@' inside the query string's password is not the end of a userinfo
        ("postgres://db.prod.example:5432/pay?password=ab@cd", [("db.prod.example", 5432)],
         "", "ab@cd"),
    ],
)  # fmt: skip
def test_urls(text: str, hosts: list[tuple[str, int]], user: str, password: str) -> None:
    found = _one(text)
    assert list(found.hosts) == hosts and found.user == user and found.password == password


@pytest.mark.parametrize(
    ("text", "rule", "hosts", "user", "password"),
    [
        ("jdbc:postgresql://db.prod:5432/app?user=app&password=s;cret", "jdbc:postgresql",
         [("db.prod", 5432)], "app", "s;cret"),
        ("jdbc:mysql://h1.prod:3306,h2.prod:3307/app", "jdbc:mysql",
         [("h1.prod", 3306), ("h2.prod", 3307)], "", ""),
        ("jdbc:sqlserver://sql.prod:1433;databaseName=l;user=sa;password={p;w}", "jdbc:sqlserver",
         [("sql.prod", 1433)], "sa", "p;w"),
        ("jdbc:sqlserver://;serverName=sql2.prod;portNumber=1444;password=x1y2", "jdbc:sqlserver",
         [("sql2.prod", 1444)], "", "x1y2"),
        ("jdbc:oracle:thin:scott/ti@ger@ora.prod:1521:ORCL", "jdbc:oracle",
         [("ora.prod", 1521)], "scott", "ti@ger"),
        ("jdbc:oracle:thin:@//ora.prod:1522/svc", "jdbc:oracle", [("ora.prod", 1522)], "", ""),
        ("jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora1.prod)(PORT=1523))"
         "(ADDRESS=(PROTOCOL=TCP)(HOST=ora2.prod)(PORT=1524))(CONNECT_DATA=(SERVICE_NAME=s)))",
         "jdbc:oracle", [("ora1.prod", 1523), ("ora2.prod", 1524)], "", ""),
        ("PAY=(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora3.prod)(PORT=1521)))", "tns",
         [("ora3.prod", 1521)], "", ""),
        ("host=db.prod port=5433 dbname=pay user=pay password='p a\\'ss'", "libpq",
         [("db.prod", 5433)], "pay", "p a'ss"),
        ("host=h1.prod,h2.prod port=5432,5433 user=u password=x9y8", "libpq",
         [("h1.prod", 5432), ("h2.prod", 5433)], "u", "x9y8"),
        ("Driver={ODBC Driver 18};Server=tcp:sql.prod,1433;Database=x;Uid=sa;Pwd={a;b};", "odbc",
         [("sql.prod", 1433)], "sa", "a;b"),
        ("Data Source=sql3.prod;Initial Catalog=x;User ID=u;Password=p#w;", "odbc",
         [("sql3.prod", 0)], "u", "p#w"),
        ("bootstrap.servers=k1.prod:9092, k2.prod:9093", "kafka",
         [("k1.prod", 9092), ("k2.prod", 9093)], "", ""),
    ],
)  # fmt: skip
def test_other_shapes(
    text: str, rule: str, hosts: list[tuple[str, int]], user: str, password: str
) -> None:
    found = _one(text)
    assert (found.rule, list(found.hosts), found.user, found.password) == (
        rule,
        hosts,
        user,
        password,
    )


def test_a_plain_word_or_path_is_not_a_connection_string() -> None:
    assert list(conn.every("see the postgres docs; path=/srv/app; port 5432")) == []


# --- credentials ------------------------------------------------------------------------


def test_aws_key_ids_decode_to_their_account_offline() -> None:
    # published examples (Aidan Steele, Tal Be'ery): the account each decodes to
    assert aws_account_of("ASIAY34FZKBOKMUTVV7A") == "609629065308"
    assert aws_account_of("ASIAQNZGKIQY56JQ7WML") == "029608264753"
    made = aws_key_id_for("111122223333", b"abcde")
    assert len(made) == 20 and aws_account_of(made) == "111122223333"
    # an older-generation key carries no account: flagged, never guessed
    assert aws_account_of("AKIAIOSFODNN7EXAMPL2") is None
    assert aws_account_of("AKIA-not-a-key") is None


def test_aws_pairs_and_documentation_examples() -> None:
    key = aws_key_id_for("111122223333", b"abcde")
    text = f"aws_secret_access_key = {'s' * 20}/{'T' * 19}\naws_access_key_id = {key}\n"
    (found,) = creds.every(text)
    assert found.account == "111122223333" and found.also == ("s" * 20 + "/" + "T" * 19,)
    docs = "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert list(creds.every(docs)) == []


def test_openssh_private_keys_are_matched_by_their_public_fingerprint(tmp_path: Path) -> None:
    path = keys.write_private(keys.host_key_purpose("prod-db"), tmp_path / "k")
    (found,) = creds.every(path.read_text())
    assert found.rule == "private-key"
    assert found.public_key == keys.fingerprint(keys.host_key_purpose("prod-db"))


def test_vendor_tokens() -> None:
    text = "GITHUB_TOKEN=ghp_" + "a1" * 18 + "\nslack: xoxb-1234567890-abcdefghij\n"
    assert sorted(c.rule for c in creds.every(text)) == ["github-token", "slack-token"]


# --- attribution --------------------------------------------------------------------------

ENVS = (
    EnvironmentMap(
        name="production",
        tier="production",
        domains=("prod.example.com", "bücher.example"),
        hosts={"db.prod.example.com": "prod-db", "legacy-db.corp.example": "legacy"},
        networks=("198.19.10.0/24", "fd00:19:10::/64"),
        aws_accounts=("111122223333",),
        api_servers=("https://k8s.prod.example.com:6443",),
    ),
    EnvironmentMap(
        name="dev",
        tier="dev",
        domains=("dev.example.com", "example.com"),
        networks=("198.18.1.0/24",),
    ),
)


@pytest.mark.parametrize(
    ("host", "env", "by"),
    [
        ("DB.Prod.Example.COM.", "production", "host-name"),  # case and trailing dot
        ("[fd00:19:10::10]", "production", "network"),  # brackets
        ("fd00:19:10::10%eth0", "production", "network"),  # a zone id
        ("::ffff:198.19.10.10", "production", "network"),  # IPv4-mapped IPv6
        ("xn--bcher-kva.example", "production", "domain"),  # IDNA, both ways
        ("api.bücher.example", "production", "domain"),
        ("legacy-db.corp.example", "production", "host-name"),  # a name outside the domains
        ("ws.dev.example.com", "dev", "domain"),
        ("198.18.1.10", "dev", "network"),
        # under both example.com (dev) and prod.example.com: production wins (fail closed)
        ("cache.prod.example.com", "production", "domain"),
    ],
)
def test_hosts_are_normalised_and_matched(host: str, env: str, by: str) -> None:
    found = Attributor(ENVS).host(host)
    assert found is not None and (found.environment, found.by) == (env, by)


def test_unknown_and_malformed_hosts_point_nowhere() -> None:
    a = Attributor(ENVS)
    assert a.host("github.com") is None and a.host("198.18.99.3") is None
    assert normalise_host("db prod") == "" and normalise_host("${DB_HOST}") == ""


def test_accounts_and_api_servers() -> None:
    a = Attributor(ENVS)
    assert a.aws_account("111122223333") is not None
    assert a.aws_account("999999999999") is None
    found = a.api_server("HTTPS://k8s.prod.example.com:6443/")
    assert found is not None and found.by == "kube-api"


# --- credential stores ----------------------------------------------------------------------


def test_store_formats() -> None:
    (pg,) = entries("/root/.pgpass", "# comment\ndb.prod:5433:*:app:p\\:w\\\\x\n")
    assert pg.hosts == (("db.prod", 5433),) and pg.secrets == ("p:w\\x",)
    net = list(entries("/home/a/.netrc", "machine git.prod login me password t0k\nmachine x\n"))
    assert [(e.hosts, e.secrets) for e in net] == [
        ((("git.prod", 0),), ("t0k",)),
        ((("x", 0),), ()),
    ]
    docker = '{"auths": {"https://registry.prod.example:5000": {"auth": "dTpwQHNz"}}}'
    (reg,) = entries("/root/.docker/config.json", docker)
    assert reg.hosts == (("registry.prod.example", 5000),) and reg.secrets == ("p@ss",)
    kube = (
        "apiVersion: v1\nclusters:\n- name: p\n  cluster:\n    server: https://k8s.prod:6443\n"
        "- name: d\n  cluster:\n    server: https://k8s.dev:6443\ncontexts:\n- name: p\n"
        "  context:\n    cluster: p\n    user: admin\nusers:\n- name: admin\n  user:\n"
        "    token: t-prod-1\n"
    )
    (ctx,) = entries("/root/.kube/config", kube)
    assert ctx.api_server == "https://k8s.prod:6443" and ctx.secrets == ("t-prod-1",)


def test_resolution_only_where_asked_and_only_through_the_given_resolver() -> None:
    asked: list[str] = []

    def resolver(host: str) -> list[str]:
        asked.append(host)
        return ["198.19.10.77"] if host == "alias.corp.example" else []

    quiet = Attributor(ENVS)
    assert quiet.host("alias.corp.example") is None  # no lookup unless the inventory asks
    loud = Attributor(ENVS, resolver)
    found = loud.host("alias.corp.example")
    assert found is not None and (found.environment, found.by) == ("production", "resolved")
    assert loud.host("db.prod.example.com") is not None and asked == ["alias.corp.example"]
    assert loud.host("alias.corp.example") is not None and asked == ["alias.corp.example"]

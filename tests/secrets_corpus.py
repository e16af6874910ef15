"""A generated, labelled corpus for the secrets family: every shape it must recognise,
with decoys, each item labelled with the file, line and whether it is production's.

Used by tests/test_secret_corpus.py (recall and false production findings, as a
regression test) and benchmarks/secrets_accuracy.py (precision and recall printed).
Deterministic for a seed; every secret is made up."""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodwall.families.secrets.attribute import aws_key_id_for
from prodwall.families.secrets.records import EnvironmentMap

PROD_ACCOUNT, TEST_ACCOUNT = "111122223333", "222233334444"
ENVIRONMENTS = (
    EnvironmentMap(
        name="production",
        tier="production",
        domains=("prod.corp.test",),
        hosts={"db.prod.corp.test": "prod-db", "ledger-db.corp.test": "ledger"},
        networks=("198.19.10.0/24", "fd00:19:10::/64"),
        aws_accounts=(PROD_ACCOUNT,),
        api_servers=("https://k8s.prod.corp.test:6443",),
    ),
    EnvironmentMap(
        name="test",
        tier="test",
        domains=("test.corp.test",),
        networks=("198.18.2.0/24",),
        aws_accounts=(TEST_ACCOUNT,),
    ),
)


@dataclass(frozen=True)
class Item:
    path: str  # relative to the corpus root
    line: int
    shape: str
    production: bool  # a finding prodwall must report as production's
    note: str = ""


@dataclass
class Corpus:
    files: dict[str, str]
    items: list[Item]


def _pw(rng: random.Random) -> str:
    """A password with the characters that break naive parsers."""
    core = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))
    return core[:3] + rng.choice("#?/@;!") + core[3:7] + rng.choice("#?/@;") + core[7:]


def _host(rng: random.Random, prod: bool) -> str:
    if prod:
        return rng.choice(
            ["db.prod.corp.test", "cache.prod.corp.test", "198.19.10.11", "ledger-db.corp.test"]
        )
    return rng.choice(["db.test.corp.test", "198.18.2.40", "mq.test.corp.test"])


def _url(scheme: str, port: int) -> Callable[[random.Random, bool], str]:
    def make(rng: random.Random, prod: bool) -> str:
        return f"url: {scheme}://app:{_pw(rng)}@{_host(rng, prod)}:{port}/data"

    return make


SHAPES: dict[str, Callable[[random.Random, bool], str]] = {
    "postgres-url": _url("postgres", 5432),
    "mysql-url": _url("mysql", 3306),
    "mongodb-url": _url("mongodb", 27017),
    "redis-url": lambda r, p: f"REDIS_URL=redis://:{_pw(r)}@{_host(r, p)}:6379/0",
    "amqp-url": _url("amqp", 5672),
    "kafka-url": lambda r, p: f"broker: kafka://{_host(r, p)}:9092",
    "https-url": lambda r, p: f"remote = https://deploy:{_pw(r)}@{_host(r, p)}/repo.git",
    "ldap-url": _url("ldaps", 636),
    "sftp-url": _url("sftp", 22),
    "smb-url": _url("smb", 445),
    "mongodb-srv": lambda r, p: (
        f"MONGO=mongodb+srv://u:{_pw(r)}@"
        + ("cluster0.prod.corp.test" if p else "cluster0.test.corp.test")
        + "/db"
    ),
    "multi-host": lambda r, p: (
        f"dsn: postgresql://a:{_pw(r)}@{_host(r, p)}:5432,{_host(r, p)}:5433/db"
    ),
    "ipv6-literal": lambda r, p: (
        f"url: mongodb://a:{_pw(r)}@[" + ("fd00:19:10::10" if p else "fd00:18:2::10") + "]/db"
    ),
    "jdbc-postgresql": lambda r, p: (
        f"spring.datasource.url=jdbc:postgresql://{_host(r, p)}:5432/app?password={_pw(r)}"
    ),
    "jdbc-mysql": lambda r, p: f"jdbc.url=jdbc:mysql://{_host(r, p)}:3306/app",
    "jdbc-sqlserver": lambda r, p: (
        f"conn=jdbc:sqlserver://{_host(r, p)}:1433;databaseName=l;user=sa;password={{{_pw(r)}}}"
    ),
    "jdbc-oracle-sid": lambda r, p: f"ORA=jdbc:oracle:thin:scott/{_pw(r)}@{_host(r, p)}:1521:ORCL",
    "jdbc-oracle-tns": lambda r, p: (
        "ORA=jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)"
        f"(HOST={_host(r, p)})(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))"
    ),
    "libpq": lambda r, p: (
        f"PGCONN='host={_host(r, p)} port=5432 dbname=pay user=pay password={_pw(r)}'"
    ),
    "odbc": lambda r, p: (
        f"ODBC=Driver={{ODBC Driver 18}};Server=tcp:{_host(r, p)},1433;Uid=sa;Pwd={{{_pw(r)}}};"
    ),
    "kafka-bootstrap": lambda r, p: f"bootstrap.servers={_host(r, p)}:9092,{_host(r, p)}:9093",
    "bare-host": lambda r, p: f"primary_database: {_host(r, p)}",
    "bare-ip": lambda r, p: "replica_address: " + ("198.19.10.12" if p else "198.18.2.12"),
}


def _aws(rng: random.Random, prod: bool) -> str:
    key = aws_key_id_for(PROD_ACCOUNT if prod else TEST_ACCOUNT, rng.randbytes(5))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"


def _split_block(rng: random.Random, prod: bool) -> str:
    return (
        f"production:\n  adapter: postgresql\n  host: {_host(rng, prod)}\n  password: {_pw(rng)}\n"
    )


DECOYS: dict[str, str] = {
    "comment": "# the old primary was db.prod.corp.test, see postgres://x:y@db.prod.corp.test/z\n",
    "aws-doc-example": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    "placeholder": "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.test.corp.test/app\n",
    "template": "password: {{ vault_db_password }}\nhost: db.test.corp.test\n",
    "prose": "Production lives in the prod domain; ask ops for db access.\n",
}


def generate(seed: int = 7, copies: int = 4) -> Corpus:
    rng = random.Random(seed)
    files: dict[str, str] = {}
    items: list[Item] = []
    for n in range(copies):
        for shape, make in SHAPES.items():
            for prod in (True, False):
                path = f"app{n}/{shape}-{'prod' if prod else 'test'}.conf"
                files[path] = f"# {shape}\n" + make(rng, prod) + "\n"
                items.append(Item(path, 2, shape, prod))
        for prod in (True, False):
            path = f"home{n}/.aws-{'prod' if prod else 'test'}/credentials"
            files[path] = _aws(rng, prod)
            items.append(Item(path, 2, "aws-key-pair", prod))
            path = f"app{n}/config/database-{'prod' if prod else 'test'}.yml"
            files[path] = _split_block(rng, prod)
            items.append(Item(path, 4, "split-config-block", prod))
        # a production host in a variable whose name says test: the value decides
        path = f"app{n}/.env.staging"
        files[path] = f"TEST_DB_HOST=db.prod.corp.test\nTEST_DB_PASSWORD={_pw(rng)}\n"
        items.append(Item(path, 2, "prod-host-in-test-variable", True))
        # a Kubernetes Secret, its value base64-encoded
        url = f"postgres://k:{_pw(rng)}@db.prod.corp.test/x".encode()
        path = f"deploy{n}/secret.yaml"
        files[path] = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
            f"  DATABASE_URL: {base64.b64encode(url).decode()}\n"
        )
        items.append(Item(path, 6, "k8s-secret-data", True))
        for name, text in DECOYS.items():
            path = f"docs{n}/{name}.txt"
            files[path] = text
            items.append(Item(path, 0, f"decoy:{name}", False))
    return Corpus(files, items)


def write(corpus: Corpus, root: Path) -> None:
    for rel, text in corpus.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@dataclass
class Score:
    production_items: int
    found: int
    missed: list[str]
    false_production: list[str]

    @property
    def recall(self) -> float:
        return self.found / self.production_items if self.production_items else 1.0

    @property
    def precision(self) -> float:
        reported = self.found + len(self.false_production)
        return self.found / reported if reported else 1.0


def score(corpus: Corpus, findings: object, root: Path) -> Score:
    """Production findings against the labels, by file and line."""
    prod_at: set[tuple[str, int]] = set()
    for f in findings:  # type: ignore[attr-defined]
        if f.tier == "production":
            prod_at.add((Path(f.path).relative_to(root).as_posix(), f.line))
    wanted = {(i.path, i.line): i for i in corpus.items if i.production}
    missed = [f"{i.shape} {i.path}:{i.line}" for k, i in wanted.items() if k not in prod_at]
    false = sorted(f"{path}:{line}" for path, line in prod_at if (path, line) not in wanted)
    return Score(len(wanted), len(wanted) - len(missed), missed, false)

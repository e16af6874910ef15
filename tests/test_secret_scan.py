"""The secrets agent on a planted tree: what it reports, what it leaves out, its caps.
Everything runs here, on files the test writes; nothing is sent anywhere."""

from __future__ import annotations

import base64
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from prodwall.families.secrets.attribute import aws_key_id_for
from prodwall.families.secrets.records import EnvironmentMap, ScanOptions, SecretJob, SecretResult
from prodwall.families.secrets.vantage_agent import collect

KEY = "11" * 32
ENVS = (
    EnvironmentMap(
        name="production",
        tier="production",
        domains=("prod.example.com",),
        hosts={"db.prod.example.com": "prod-db"},
        networks=("198.19.10.0/24",),
        aws_accounts=("111122223333",),
    ),
    EnvironmentMap(
        name="test", tier="test", domains=("test.example.com",), aws_accounts=("222233334444",)
    ),
)
PROD_KEY = aws_key_id_for("111122223333", b"tests")
TEST_KEY = aws_key_id_for("222233334444", b"tests")
SECRET = "Zq0wLr7PtY3uV9bXcN2mKa5sDf8gHj1kLo4iUe6w"

FILES = {
    # a production URL; a test one (not a finding); a production host only in a comment
    "srv/app/database.yml": (
        "production:\n  url: postgres://pay:Pr0d!pw@db.prod.example.com:5432/pay\n"
        "test:\n  url: postgres://pay:t3stpw@db.test.example.com/pay\n"
        "# migrated from db.prod.example.com last year\n"
    ),
    # details split across the keys of one block (Rails, Spring, .env)
    "srv/app/config.yml": "db:\n  host: 198.19.10.10\n  port: 5433\n  password: Sp1it-pw\n",
    "srv/app/application.properties": (
        "spring.datasource.host=db.prod.example.com\nspring.datasource.password=Pr0ps-pw\n"
    ),
    # a production host in a variable whose name says test: the value decides
    "srv/app/.env.test": "TEST_DB_HOST=db.prod.example.com\nTEST_DB_PASSWORD=Env-pw-1\n",
    "root/.aws/credentials": (
        f"[prod]\naws_access_key_id = {PROD_KEY}\naws_secret_access_key = {SECRET}\n"
        f"[ci]\naws_access_key_id = {TEST_KEY}\naws_secret_access_key = {SECRET[::-1]}\n"
    ),
    # a password with nothing beside it: unattributed, left to fingerprint matching
    "srv/app/secrets.ini": "[app]\nsigning_secret = Lone-s3cret-value\n",
    "srv/k8s/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  DATABASE_URL: "
        + base64.b64encode(b"postgres://k:K8s-pw@db.prod.example.com/x").decode()
        + "\n"
    ),
    "srv/compose/docker-compose.yml": (
        "services:\n  app:\n    environment:\n      - REDIS_URL=redis://:C0mpose@198.19.10.20:6379\n"
    ),
    "srv/bin/tool": "\0ELF binary postgres://x:y@db.prod.example.com/z",
    "srv/docs/README.md": "Use AKIAIOSFODNN7EXAMPLE and host db.prod.example.com in examples.\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _scan(root: Path, **options: object) -> SecretResult:
    opts = ScanOptions(paths=(str(root),), processes=False, **options)  # type: ignore[arg-type]
    job = SecretJob(key=KEY, environments=ENVS, options=opts, canary="")
    return SecretResult.from_json(collect(job).to_json())


def _where(result: SecretResult) -> dict[tuple[str, str], str]:
    return {(f.path.split("/", 3)[-1], f.rule): f.environment for f in result.findings}


def test_what_is_reported_and_what_is_not(tree: Path) -> None:
    result = _scan(tree)
    found = {(Path(f.path).relative_to(tree).as_posix(), f.line, f.rule, f.environment)
             for f in result.findings}  # fmt: skip
    assert ("srv/app/database.yml", 2, "url:postgres", "production") in found
    assert ("srv/app/config.yml", 4, "config-block", "production") in found
    assert ("srv/app/application.properties", 2, "config-block", "production") in found
    assert ("srv/app/.env.test", 2, "config-block", "production") in found
    assert ("root/.aws/credentials", 2, "aws-access-key", "production") in found
    assert ("srv/k8s/secret.yaml", 6, "url:postgres", "production") in found
    assert ("srv/compose/docker-compose.yml", 4, "url:redis", "production") in found
    # credentials cross back whatever they point at: the runner matches fingerprints
    assert ("root/.aws/credentials", 5, "aws-access-key", "test") in found
    assert ("srv/app/database.yml", 4, "url:postgres", "test") in found
    assert ("srv/app/secrets.ini", 2, "password-setting", "") in found
    lines = {(Path(f.path).name, f.line) for f in result.findings}
    assert ("database.yml", 5) not in lines  # a comment
    assert not any("README" in f.path or "bin/tool" in f.path for f in result.findings)
    by = {s.source: s for s in result.stats}
    assert by["files"].skipped_binary == 1
    assert by["manifests"].items == 2 and by["stores"].items >= 1  # and this host's own


def test_findings_carry_fingerprints_never_values(tree: Path) -> None:
    result = _scan(tree)
    wire = str(result.to_json())
    for value in ("Pr0d!pw", "Sp1it-pw", SECRET, "Lone-s3cret-value", "K8s-pw", PROD_KEY):
        assert value not in wire
    prod = next(f for f in result.findings if f.rule == "aws-access-key" and f.tier)
    assert len(prod.fingerprints) == 2 and all(len(fp) == 64 for fp in prod.fingerprints)


def test_caps_and_switches(tree: Path) -> None:
    big = tree / "srv" / "big.conf"
    big.write_text("password = " + "x" * 5000 + "\nhost=db.prod.example.com\n")
    capped = _scan(tree, max_file_bytes=4096)
    assert not any(f.path.endswith("big.conf") for f in capped.findings)
    assert next(s for s in capped.stats if s.source == "files").skipped_large == 1
    assert "max_files" in _scan(tree, max_files=3).truncated
    only = _scan(tree, include=("*.properties",))
    assert {Path(f.path).name for f in only.findings} == {"application.properties"}
    none = _scan(tree, exclude=("*/srv/*", "*/root/*"))
    assert none.findings == ()


def test_archives_are_read_only_when_asked(tree: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("WEB-INF/app.properties", "url=jdbc:postgresql://db.prod.example.com/x\n")
    (tree / "srv" / "app.war").write_bytes(buf.getvalue())
    assert not any("app.war" in f.path for f in _scan(tree).findings)
    inside = [f for f in _scan(tree, archives=True).findings if "app.war!" in f.path]
    assert [f.rule for f in inside] == ["jdbc:postgresql"]


def test_the_canary_goes_through_the_same_pipeline(tree: Path) -> None:
    job = SecretJob(
        key=KEY,
        environments=ENVS,
        options=ScanOptions(paths=(str(tree),), processes=False),
        canary="DATABASE_URL=postgres://c:canary-pw-1@db.prod.example.com:5432/x\n",
    )
    (found,) = collect(job).canary_found
    assert found.tier == "production" and found.rule == "url:postgres"
    # a pipeline that cannot attribute production finds no canary: silence is not trusted
    blind = SecretJob(key=KEY, environments=ENVS[1:], options=job.options, canary=job.canary)
    assert not any(f.tier == "production" for f in collect(blind).canary_found)


def test_git_history_is_read_only_when_asked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
            check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q")
    (repo / "settings.py").write_text(
        'DATABASE_URL = "postgres://app:Hist0ry-pw@db.prod.example.com/app"\n'
    )
    git("add", "settings.py")
    git("commit", "-q", "-m", "add")
    (repo / "settings.py").write_text('DATABASE_URL = os.environ["DATABASE_URL"]\n')
    git("commit", "-q", "-am", "the secret is gone (from the tree)")
    assert _scan(tmp_path).findings == ()
    (found,) = _scan(tmp_path, git_history=True).findings
    assert found.path.endswith(".git (history)") and found.tier == "production"


def test_a_finder_that_fails_names_the_file_but_never_the_text(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodwall.families.secrets import conn
    from prodwall.families.secrets import vantage_agent as agent

    def choke(text: str, lower: str | None = None) -> object:
        raise ValueError(f"cannot parse {text!r}")  # a message quoting the secret

    monkeypatch.setattr(conn, "every", choke)
    result = _scan(tree)
    assert "Pr0d!pw" not in str(result.to_json())
    failed = [u for u in result.unreadable if "database.yml" in u.what]
    assert failed and failed[0].why == "the scanner failed on it (ValueError)"
    monkeypatch.setattr(agent, "collect", lambda job: choke("Pr0d!pw"))
    with pytest.raises(RuntimeError) as caught:
        agent.run(SecretJob(key=KEY, environments=ENVS).to_json())
    assert "Pr0d!pw" not in str(caught.value) and caught.value.__suppress_context__


@pytest.mark.parametrize(
    "shape",
    ["compact", "pretty", "nested", "flow-yaml-line", "flow-yaml-nested", "flow-yaml-value",
     "json-line-in-a-log"],
)  # fmt: skip
def test_settings_in_any_json_shape_are_read_the_same(tmp_path: Path, shape: str) -> None:
    """A Secrets Manager database secret as the CLI prints it (one line), pretty-printed,
    nested in a config, as a YAML flow mapping, or as one JSON line in a log (part of #25)."""
    import json

    secret = {"engine": "postgres", "host": "db.prod.example.com", "port": 5432,
              "username": "pay", "password": "Sm-Pr0d-pw-77"}  # fmt: skip
    text = {
        "compact": json.dumps(secret, separators=(",", ":")),
        "pretty": json.dumps(secret, indent=4),
        "nested": json.dumps({"app": {"name": "pay", "database": secret}}),
        "flow-yaml-line": "db: pay\n{host: db.prod.example.com, password: Sm-Pr0d-pw-77}\n",
        "flow-yaml-nested": "{app: {name: pay, database: {host: db.prod.example.com, "
        "port: 5432, password: 'Sm-Pr0d-pw-77'}}, replicas: [a, b]}\n",
        "flow-yaml-value": "app:\n  name: pay\n  database: {host: db.prod.example.com, "
        'port: 5432, password: "Sm-Pr0d-pw-77"}  # from the vault\n',
        "json-line-in-a-log": "2026-12-01 started\n" + json.dumps(secret) + "\nready\n",
    }[shape]
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "secret.json").write_text(text)
    result = _scan(tmp_path)
    blocks = [f for f in result.findings if f.rule == "config-block"]
    assert [f.environment for f in blocks] == ["production"], result.findings
    assert blocks[0].fingerprints  # the password travels as a fingerprint, never in clear
    assert "Sm-Pr0d-pw-77" not in json.dumps(result.to_json())

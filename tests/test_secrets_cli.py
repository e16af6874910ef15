"""The secrets family through the CLI, as a user runs it, from a `local` vantage whose
host is a planted tree: the leaks are found and attributed, and no byte sequence of a
planted secret (raw, base64, URL-encoded or hex) appears in anything prodwall wrote or
printed. Nothing is sent over the network: only the secrets checks are selected."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest

from conftest import run_cli
from prodwall.families.secrets.attribute import aws_key_id_for
from prodwall.fingerprint import fingerprint

KEY = "tests-fingerprint-key-0123456789"
DB_PASSWORD = "Pl@nted#db/pw?1;x"
AWS_ID = aws_key_id_for("111122223333", b"cli-t")
AWS_SECRET = "Pl4ntedAwsSecretKeyForTheCliTest00000000"
ENV_PASSWORD = "Env-pl4nted-pw-77"
REUSED = "Reu5ed-prod-pw-in-dev"  # production's password, written against a dev host
PLANTED = (DB_PASSWORD, AWS_ID, AWS_SECRET, ENV_PASSWORD, REUSED)


def _fp(secret: str) -> str:
    return fingerprint(secret.encode(), KEY.encode())


INVENTORY = """\
version: 1
name: secrets through the CLI
environments:
  production:
    tier: production
    networks: [198.19.10.0/24]
    dns_domains: [prod.pwtest.test]
    hosts:
      prod-db:
        addresses: [198.19.10.10]
        services: [postgres]
        names: [db.prod.pwtest.test]
    cloud:
      aws_accounts: ["111122223333"]
    secrets:
      - {{name: prod-db-password, kind: password, hmac_sha256: {db}}}
      - {{name: prod-reused, kind: password, hmac_sha256: {reused}}}
  dev:
    tier: dev
    networks: [198.18.1.0/24]
    dns_domains: [dev.pwtest.test]
vantages:
  here:
    location: local
    environment: dev
secret_scan:
  paths: [{root}]
  credential_stores: false
"""


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "host"
    (root / "srv" / "app").mkdir(parents=True)
    (root / "srv" / "app" / "database.yml").write_text(
        "production:\n"
        f"  url: postgresql://pay:{urllib.parse.quote(DB_PASSWORD, safe='')}"
        "@db.prod.pwtest.test:5432/pay\n"
        f"dev:\n  host: ws.dev.pwtest.test\n  password: {REUSED}\n"
    )
    (root / "srv" / "app" / "ci.env").write_text(
        f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
    )
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        INVENTORY.format(db=_fp(DB_PASSWORD), reused=_fp(REUSED), root=json.dumps(str(root)))
    )
    return inv, tmp_path / "out"


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        raw.hex(),
        raw.hex().upper(),
    ]


def test_leaks_are_found_and_no_secret_is_ever_written(planted: tuple[Path, Path]) -> None:
    inv, out = planted
    env = {
        "PRODWALL_FINGERPRINT_KEY": KEY,
        # the agent inherits it: the processes source reads its own environment
        "PAYMENTS_DB_URL": f"postgres://pay:{ENV_PASSWORD}@198.19.10.10/pay",
    }
    done = run_cli(
        "run", "-i", str(inv), "--vantage", "here", "--out", str(out), "--", "-k", "secrets",
        timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # 1: production reachable
    results = json.loads((out / "results.json").read_text())
    verdicts = {(v["controls"][0], v["group"]): v for v in results["verdicts"]}
    assert verdicts[("SEC-CONN-01", "files")]["outcome"] == "reachable"
    assert verdicts[("SEC-CRED-01", "files")]["outcome"] == "reachable"
    assert verdicts[("SEC-CONN-01", "processes")]["outcome"] == "reachable"
    text = json.dumps(verdicts[("SEC-CRED-01", "files")])
    assert "by fingerprint" in text and "prod-reused" in text  # reused on a dev host: found
    assert "account 111122223333" in text
    assert verdicts[("SEC-CONN-01", "manifests")]["outcome"] == "blocked"  # the canary seen
    # nothing prodwall wrote or printed holds a planted secret, in any encoding
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 4  # results.json, report.html, junit.xml, manifest...
    blobs = [done.stdout, done.stderr, *(p.read_bytes().decode("latin-1") for p in written)]
    for secret in PLANTED:
        for form in _forms(secret):
            assert not any(form in blob for blob in blobs), (secret, form)


def test_without_the_fingerprint_key_hosts_still_attribute_and_no_value_leaks(
    planted: tuple[Path, Path],
) -> None:
    inv, out = planted
    done = run_cli(
        "run", "-i", str(inv), "--vantage", "here", "--out", str(out), "--", "-k", "secrets",
        timeout=300, env={"PRODWALL_FINGERPRINT_KEY": ""},
    )  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    verdicts = {(v["controls"][0], v["group"]): v for v in results["verdicts"]}
    assert verdicts[("SEC-CONN-01", "files")]["outcome"] == "reachable"  # by host name
    assert "throwaway" in json.dumps(verdicts[("SEC-CONN-01", "files")])
    blobs = [done.stdout, done.stderr, (out / "results.json").read_text()]
    assert not any(form in blob for s in PLANTED for form in _forms(s) for blob in blobs)


def test_a_finding_is_waived_by_fingerprint_and_path_and_stays_visible(
    planted: tuple[Path, Path],
) -> None:
    inv, out = planted
    fp = _fp(AWS_ID)[:16]
    waiver = (
        "policy:\n  waivers:\n"
        "    - {id: W-AWS, control: SEC-CRED-01, finding: {fingerprint: %s, path: '*/ci.env', "
        "rule: aws-access-key}, ticket: SEC-9, approver: CISO, justification: rotated, "
        "expires: 2099-01-01}\n"
        "    - {id: W-OLD, control: SEC-CONN-01, finding: {fingerprint: %s, path: '*'}, "
        "ticket: SEC-1, approver: CISO, justification: gone, expires: 2020-01-01}\n"
    )
    inv.write_text(inv.read_text() + waiver % (fp, _fp(DB_PASSWORD)[:16]))
    done = run_cli(
        "run", "-i", str(inv), "--vantage", "here", "--out", str(out), "--", "-k", "secrets",
        timeout=300, env={"PRODWALL_FINGERPRINT_KEY": KEY},
    )  # fmt: skip
    assert done.returncode in (1, 4), done.stderr
    results = json.loads((out / "results.json").read_text())
    verdicts = {(v["controls"][0], v["group"]): v for v in results["verdicts"]}
    cred = verdicts[("SEC-CRED-01", "files")]
    waived = [f for f in cred["findings"] if "waived by W-AWS" in f]
    assert len(waived) == 1 and "ci.env" in waived[0] and fp in waived[0]  # still listed
    assert cred["outcome"] == "reachable"  # the database password is not waived
    # an expired waiver stops applying
    conn = verdicts[("SEC-CONN-01", "files")]
    assert conn["outcome"] == "reachable" and not any("(waived by" in f for f in conn["findings"])


def test_a_waiver_naming_both_a_host_and_a_finding_is_refused(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        INVENTORY.format(db=_fp(DB_PASSWORD), reused=_fp(REUSED), root='"/nowhere"')
        + "policy:\n  waivers:\n    - id: W-1\n      target: prod-db\n"
        "      finding: {fingerprint: 0123456789abcdef, path: '*'}\n"
        "      ticket: T\n      approver: A\n      justification: J\n"
        "      expires: 2099-01-01\n"
    )
    done = run_cli("validate", "-i", str(inv))
    assert done.returncode == 2
    assert "inv.yaml" in done.stderr and "either a target host" in done.stderr


def test_the_inventorys_switches_reach_the_vantage(planted: tuple[Path, Path]) -> None:
    """archives, git_history and exclude, set in the inventory, change what is read."""
    import io
    import subprocess
    import zipfile

    inv, out = planted
    root = Path(json.loads(inv.read_text().split("paths: [", 1)[1].split("]", 1)[0]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("WEB-INF/db.properties", "url=jdbc:postgresql://db.prod.pwtest.test/pay\n")
    (root / "srv" / "app.war").write_bytes(buf.getvalue())
    repo = root / "srv" / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "s.py").write_text('U = "postgres://h:x@db.prod.pwtest.test/x"\n')
    subprocess.run([*git, "add", "s.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "a"], check=True)
    (repo / "s.py").write_text("U = None\n")
    subprocess.run([*git, "commit", "-qam", "b"], check=True)

    base = inv.read_text()

    def findings(extra: str) -> str:
        inv.write_text(base.replace("  credential_stores: false\n", extra))
        (out / "results.json").unlink(missing_ok=True)
        run_cli(
            "run", "-i", str(inv), "--vantage", "here", "--out", str(out), "--force", "--",
            "-k", "secrets",
            timeout=300, env={"PRODWALL_FINGERPRINT_KEY": KEY},
        )  # fmt: skip
        results = json.loads((out / "results.json").read_text())
        return json.dumps([v["findings"] for v in results["verdicts"]])

    plain = findings("  credential_stores: false\n")
    assert "app.war!" not in plain and "(history)" not in plain
    deep = findings("  credential_stores: false\n  archives: true\n  git_history: true\n")
    assert "app.war!WEB-INF/db.properties" in deep and ".git (history)" in deep
    less = findings(
        "  credential_stores: false\n  archives: true\n  git_history: true\n"
        "  exclude: ['*.war', '*/srv/app/*']\n"
    )
    assert "app.war!" not in less and "database.yml" not in less and "(history)" in less

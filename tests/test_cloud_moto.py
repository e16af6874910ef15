"""The cloud family against moto in server mode (ThreadedMotoServer on 127.0.0.1, nothing
leaves loopback): a clean estate where every check passes and a leaky one where each
planted leak is found, in two differently shaped estates; through the family and through
the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import cloud_env
import cloud_shape_b as shape_b
from prodwall.families.base import RunContext
from prodwall.families.cloud.family import FAMILY
from prodwall.inventory import load_inventory
from prodwall.lab import cloud_estate as lab
from prodwall.lab.leaks import (
    DEV_AWS_KEY_ID,
    DEV_AWS_SECRET,
    PROD_AWS_ACCOUNT,
    PROD_AWS_KEY_ID,
    PROD_AWS_SECRET,
    PROD_DB_PASSWORD,
    TEST_AWS_ACCOUNT,
)
from prodwall.planning import build_plan, runner_plan
from prodwall.verdicts import Observation, Signal

PRODWALL = [sys.executable, "-m", "prodwall.cli"]


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with cloud_env.moto_server() as url:
        yield url


@pytest.fixture
def estate(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cloud_env.reset(moto)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in cloud_env.aws_environment(moto, tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    yield moto
    cloud_env.reset(moto)


def _inventory(tmp_path: Path, text: str) -> Path:
    (tmp_path / "homes").mkdir(exist_ok=True)
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def _audit(path: Path) -> list[Observation]:
    inv = load_inventory(str(path), today=date.today()).inventory
    plan = runner_plan(inv, date.today())
    return list(FAMILY.run(plan.probes, RunContext(plan, None, inv)))


def _at_vantage(path: Path) -> list[Observation]:
    inv = load_inventory(str(path), today=date.today()).inventory
    plan = build_plan(inv, "here", date.today())
    return list(FAMILY.run(plan.of_kind(*FAMILY.kinds), RunContext(plan, None, inv)))


def _vantage_keys(tmp_path: Path, keys: lab.Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vantage's own credentials file (the runner's audit key is not the vantage's)."""
    home = tmp_path / "homes" / "ci"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {keys.key_id}\naws_secret_access_key = {keys.secret}\n")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.delenv("AWS_CONFIG_FILE")


def _crossed(seen: list[Observation], kind: str) -> list[str]:
    return [o.detail for o in seen if o.kind == kind and o.signal is Signal.CROSSED]


def test_sealed_estate_every_configuration_check_passes(estate: str, tmp_path: Path) -> None:
    lab.build(estate, "sealed")
    lab.enforce(estate)
    seen = _audit(_inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes")))
    assert [o for o in seen if o.signal is not Signal.STOPPED] == []
    assert {(o.kind, o.target) for o in seen} == {
        ("cloud-network", PROD_AWS_ACCOUNT), ("cloud-trust", PROD_AWS_ACCOUNT),
        ("cloud-strings", TEST_AWS_ACCOUNT)}
    assert all(o.evidence["simulated"] for o in seen)


def test_leaky_estate_each_planted_leak_is_found(estate: str, tmp_path: Path) -> None:
    lab.build(estate, "leaky")
    lab.enforce(estate)
    seen = _audit(_inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes")))
    network = _crossed(seen, "cloud-network")
    assert any("VPC peering" in d for d in network)
    assert any(f"routes {lab.PROD_VPC} (production) to pcx-" in d for d in network)
    trust = _crossed(seen, "cloud-trust")
    assert any("role/prod-deploy: its trust policy grants account 222233334444" in d
               for d in trust)
    assert any(f"{lab.PROD_BUCKET}: its resource policy grants account" in d for d in trust)
    assert len(trust) == 2  # the ec2 service role and the audit role grant nothing to test
    strings = [o for o in seen if o.kind == "cloud-strings" and o.signal is Signal.CROSSED]
    assert len(strings) == 1 and lab.TEST_PARAMETER in strings[0].detail
    assert strings[0].evidence["call"] == "ssm:GetParameters"
    assert strings[0].evidence["account"] == TEST_AWS_ACCOUNT
    assert PROD_DB_PASSWORD not in json.dumps([o.evidence for o in seen] + [o.detail for o in seen])


def test_vantage_with_a_test_key_is_denied_everywhere(
    estate: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.build(estate, "sealed")
    lab.enforce(estate)
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    _vantage_keys(tmp_path, lab.Keys(DEV_AWS_KEY_ID, DEV_AWS_SECRET), monkeypatch)
    seen = _at_vantage(path)
    identity = [o for o in seen if o.kind == "cloud-identity"]
    assert [o.signal for o in identity] == [Signal.STOPPED]
    assert identity[0].evidence["sts_account"] == TEST_AWS_ACCOUNT
    live = [o for o in seen if o.kind != "cloud-identity"]
    assert {o.kind for o in live} == {"cloud-role", "cloud-bucket", "cloud-secret",
                                      "cloud-parameter"}
    assert all(o.signal is Signal.STOPPED for o in live), [o.detail for o in live]
    assert all(o.evidence["request_id"] for o in live)  # AWS's own answer, named
    # moto cannot answer an unsigned request under IAM enforcement: a limit, said
    assert any("unsigned" in x for o in live for x in o.evidence.get("limits", []))


def test_vantage_with_the_production_key_reaches_production(
    estate: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.build(estate, "leaky")
    lab.enforce(estate)
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    _vantage_keys(tmp_path, lab.Keys(PROD_AWS_KEY_ID, PROD_AWS_SECRET), monkeypatch)
    seen = _at_vantage(path)
    ident = _crossed(seen, "cloud-identity")
    assert len(ident) == 1 and "user/prod-deployer: production account 111122223333" in ident[0]
    assert {o.kind for o in seen if o.signal is Signal.CROSSED} >= {
        "cloud-identity", "cloud-bucket", "cloud-secret", "cloud-parameter"}
    text = json.dumps([[o.detail, o.evidence] for o in seen])
    for secret in (PROD_AWS_SECRET, PROD_AWS_KEY_ID, PROD_DB_PASSWORD):
        assert secret not in text


def test_simulated_cross_account_assume_is_judged_by_the_trust_policy(
    estate: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto lets any cross-account AssumeRole through; the trust policy decides here."""
    lab.build(estate, "sealed")
    from moto.iam.models import iam_backends

    # the test key may call sts:AssumeRole on anything: only the trust policy stands between
    iam_backends[TEST_AWS_ACCOUNT]["aws"].put_user_policy(
        "ci-deployer", "wide", lab.policy(lab.allow(["sts:AssumeRole"])))
    lab.enforce(estate)
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    _vantage_keys(tmp_path, lab.Keys(DEV_AWS_KEY_ID, DEV_AWS_SECRET), monkeypatch)
    import boto3

    from prodwall.families.cloud.audit import Auditor
    from prodwall.families.cloud.simulated import Rejudge

    # the runner's own credentials (here the vantage is this very machine: kept apart)
    runner = boto3.session.Session(aws_access_key_id=lab.AUDIT_KEY_ID,
                                   aws_secret_access_key=lab.AUDIT_SECRET)
    monkeypatch.setattr(Rejudge, "auditor", lambda self: Auditor(self.inv.aws, base=runner))
    role = [o for o in _at_vantage(path) if o.kind == "cloud-role"]
    assert [o.signal for o in role] == [Signal.STOPPED], [o.detail for o in role]
    assert "the simulator allowed this cross-account call, which AWS refuses" in role[0].detail


def test_shape_b_sealed_hub_and_spoke_passes(estate: str, tmp_path: Path) -> None:
    shape_b.build(estate, leaky=False)
    seen = _audit(_inventory(tmp_path, shape_b.inventory(estate, ["us-east-1"])))
    assert [o.detail for o in seen if o.signal is not Signal.STOPPED] == []
    assert {o.kind for o in seen} == {"cloud-network", "cloud-trust", "cloud-strings"}


def test_shape_b_leaky_each_kind_of_leak_is_found(estate: str, tmp_path: Path) -> None:
    shape_b.build(estate, leaky=True)
    seen = _audit(_inventory(tmp_path, shape_b.inventory(estate, ["us-east-1"])))
    network = "\n".join(_crossed(seen, "cloud-network"))
    for leak in ("transit gateway route table", "network ACL", "rule 80",
                 f"admits non-production {shape_b.TEST}/", "endpoint service",
                 "RAM share ledger-subnet"):
        assert leak in network, leak
    assert "0.0.0.0/0" not in network  # world-open is not a grant to test by itself
    trust = "\n".join(_crossed(seen, "cloud-trust"))
    assert ":key/" in trust and "settlements" in trust and "ledger/api" in trust
    assert "PrincipalOrgID" not in trust or "o-pwlab" not in trust.split("ledger/api")[0]
    strings = "\n".join(_crossed(seen, "cloud-strings"))
    assert "function:settle" in strings and "task-definition/settle" in strings
    assert "instance/" in strings
    assert "s3cr3t" not in json.dumps([[o.detail, o.evidence] for o in seen])
    bad = [o for o in seen if o.signal is Signal.FAILED]
    assert bad == [], [o.detail for o in bad]


def test_three_accounts_four_regions_are_all_read(estate: str, tmp_path: Path) -> None:
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
    shape_b.build(estate, leaky=True, regions=tuple(regions))
    started = time.monotonic()
    seen = _audit(_inventory(tmp_path, shape_b.inventory(estate, regions)))
    took = time.monotonic() - started
    print(f"\n3 accounts x 4 regions: {took:.1f} s, {len(seen)} observations")
    found = {o.evidence["region"] for o in seen if o.signal is Signal.CROSSED}
    assert set(regions) <= found


def test_cli_cloud_sealed_and_leaky(estate: str, tmp_path: Path) -> None:
    """`prodwall cloud` as a user runs it: the bundle, its verdicts, its exit codes."""
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    lab.build(estate, "sealed")
    lab.enforce(estate)
    out = tmp_path / "sealed"
    done = subprocess.run([*PRODWALL, "cloud", "-i", str(path), "-o", str(out), "-q"],
                          capture_output=True, text=True, env=env, timeout=300)
    # every cloud check blocked; a cloud-only run leaves other requirements: partial (3)
    assert done.returncode == 3, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    cloud = [v for v in results["verdicts"] if "test_cloud" in v["check"]]
    assert {v["outcome"] for v in cloud} == {"blocked"} and len(cloud) == 3
    assert (out / "report.html").is_file()
    cloud_env.reset(estate)
    lab.build(estate, "leaky")
    lab.enforce(estate)
    out = tmp_path / "leaky"
    done = subprocess.run([*PRODWALL, "cloud", "-i", str(path), "-o", str(out), "-q"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    reached = {v["check"].split("::")[1].split("[")[0] for v in results["verdicts"]
               if v["outcome"] == "reachable"}
    assert reached == {"test_no_network_path_joins_production_to_non_production",
                       "test_no_production_policy_grants_a_non_production_account",
                       "test_no_stored_string_points_into_production"}
    trust = next(v for v in results["verdicts"] if "policy_grants" in v["check"])
    api = trust["evidence"]["api_evidence"]
    assert {"account", "region", "arn", "call"} <= set(api[0])
    assert trust["evidence"]["simulated"]
    everything = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    for secret in (PROD_DB_PASSWORD, PROD_AWS_SECRET, lab.AUDIT_SECRET):
        assert secret not in everything


def test_cli_cloud_without_an_audit_role_is_a_clear_error(tmp_path: Path) -> None:
    text = cloud_env.inventory_a("http://127.0.0.1:9", tmp_path).replace(
        "  audit_role: prodwall-audit\n", "")
    path = _inventory(tmp_path, text)
    done = subprocess.run([*PRODWALL, "cloud", "-i", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "aws.audit_role" in done.stderr and str(path) in done.stderr


def test_cli_run_from_a_vantage_and_merge_with_the_runners_proof(
    estate: str, tmp_path: Path
) -> None:
    """`prodwall run --vantage` with the production key on the vantage, then `merge` with
    the runner's `prodwall cloud`: one report holding all five cloud checks."""
    lab.build(estate, "leaky")
    lab.enforce(estate)
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    env = {**cloud_env.aws_environment(estate, tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([*PRODWALL, "cloud", "-i", str(path), "-o", str(tmp_path / "c"), "-q"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    vantage_env = cloud_env.aws_environment(estate, tmp_path / "homes",
                                            lab.Keys(PROD_AWS_KEY_ID, PROD_AWS_SECRET))
    done = subprocess.run(
        [*PRODWALL, "run", "-i", str(path), "--vantage", "here", "-o", str(tmp_path / "v"),
         "-q", "--", "-k", "test_cloud"],
        capture_output=True, text=True, timeout=300,
        env={**vantage_env, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = json.loads((tmp_path / "v" / "results.json").read_text())["verdicts"]
    reached = sorted(v["check"].split("::")[1].split("[")[0] for v in verdicts
                     if v["outcome"] == "reachable")
    assert reached == ["test_aws_denies_the_vantage_identities_on_production",
                       "test_no_identity_at_the_vantage_belongs_to_production"]
    done = subprocess.run([*PRODWALL, "merge", str(tmp_path / "c"), str(tmp_path / "v"),
                           "-o", str(tmp_path / "m"), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    page = (tmp_path / "m" / "report.html").read_text()
    for control in ("CLOUD-IDENT-01", "CLOUD-DENY-01", "CLOUD-NET-01", "CLOUD-TRUST-01",
                    "CLOUD-STRINGS-01"):
        assert control in page
    everything = done.stdout + "".join(
        p.read_text(errors="replace") for p in (tmp_path / "m").rglob("*") if p.is_file())
    for secret in (PROD_AWS_SECRET, PROD_AWS_KEY_ID, PROD_DB_PASSWORD):
        assert secret not in everything


def test_cli_cloud_with_no_answer_is_inconclusive_never_a_pass(tmp_path: Path) -> None:
    """An endpoint that does not answer: every read fails, and the run says so (exit 3)."""
    text = cloud_env.inventory_a("http://127.0.0.1:9", tmp_path / "homes").replace(
        "  simulated: true\n", "  simulated: true\n  max_attempts: 1\n")
    path = _inventory(tmp_path, text)
    env = cloud_env.aws_environment("http://127.0.0.1:9", tmp_path)
    done = subprocess.run([*PRODWALL, "cloud", "-i", str(path), "-o", str(tmp_path / "o"), "-q"],
                          capture_output=True, text=True, timeout=300,
                          env={**env, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 3, done.stdout + done.stderr
    verdicts = json.loads((tmp_path / "o" / "results.json").read_text())["verdicts"]
    assert {v["outcome"] for v in verdicts} == {"inconclusive"} and len(verdicts) == 3
    assert all("could not tell" in v["reason"] for v in verdicts)


def test_cli_plan_from_the_runner_sends_nothing(tmp_path: Path) -> None:
    path = _inventory(tmp_path, cloud_env.inventory_a("http://127.0.0.1:9", tmp_path))
    done = subprocess.run([*PRODWALL, "plan", "-i", str(path), "--from-runner"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Nothing is sent by `plan`" in done.stdout
    for kind in ("cloud-network", "cloud-trust", "cloud-strings"):
        assert kind in done.stdout
    done = subprocess.run([*PRODWALL, "plan", "-i", str(path), "--vantage", "here"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    for kind in ("cloud-identity", "cloud-role", "cloud-bucket", "cloud-secret",
                 "cloud-parameter"):
        assert kind in done.stdout
    done = subprocess.run([*PRODWALL, "plan", "-i", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "--from-runner" in done.stderr


def test_a_vantage_without_credentials_proves_no_identity_but_no_denial(
    estate: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No identity at all: CLOUD-IDENT-01 is blocked (every source read, none held one);
    the denial probes had nothing to try with, so they prove nothing (inconclusive)."""
    lab.build(estate, "sealed")
    lab.enforce(estate)
    path = _inventory(tmp_path, cloud_env.inventory_a(estate, tmp_path / "homes"))
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.delenv("AWS_CONFIG_FILE")
    seen = _at_vantage(path)
    identity = [o for o in seen if o.kind == "cloud-identity"]
    assert [o.signal for o in identity] == [Signal.STOPPED]
    assert "no AWS credential at the vantage" in identity[0].detail
    live = [o for o in seen if o.kind != "cloud-identity"]
    assert {o.kind for o in live} == {"cloud-role", "cloud-bucket", "cloud-secret",
                                      "cloud-parameter"}
    assert {o.signal for o in live} == {Signal.FAILED}, [o.detail for o in live]


def test_an_endpoint_outside_aws_needs_a_declared_simulator(tmp_path: Path) -> None:
    """The runner signs with its own credentials wherever endpoint_url points."""
    text = cloud_env.inventory_a("http://198.18.3.20:4566", tmp_path).replace(
        "  simulated: true\n", "")
    path = _inventory(tmp_path, text)
    done = subprocess.run([*PRODWALL, "validate", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    line = text.splitlines().index("aws:") + 1
    assert f"{path}:{line}" in done.stderr and "simulated: true" in done.stderr
    for good in ("https://sts.eu-west-1.amazonaws.com", "https://sts-fips.us-east-1.amazonaws.com",
                 "https://ec2.eu-west-1.api.aws", "https://sts.cn-north-1.amazonaws.com.cn"):
        path.write_text(text.replace('"http://198.18.3.20:4566"', f'"{good}"'))
        done = subprocess.run([*PRODWALL, "validate", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, (good, done.stderr)
    # names under amazonaws.com that customers own, and AWS over plain http
    for bad in ("http://sts.eu-west-1.amazonaws.com", "https://ec2-198-51-100-7.compute-1.amazonaws.com",
                "https://a1b2c3.execute-api.eu-west-1.amazonaws.com",
                "https://mybucket.s3-website-eu-west-1.amazonaws.com",
                "https://mybucket.s3.eu-west-1.amazonaws.com",
                "https://sts.eu-west-1.amazonaws.com.example.net",
                "https://sts.eu-west-1.amazonaws.com:8443"):
        path.write_text(text.replace('"http://198.18.3.20:4566"', f'"{bad}"'))
        done = subprocess.run([*PRODWALL, "validate", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and f"{path}:{line}" in done.stderr, (bad, done.stderr)


def test_an_endpoint_from_the_runners_environment_is_refused_before_signing() -> None:
    """$AWS_ENDPOINT_URL (or a config file) can point botocore anywhere: without a declared
    simulator, a client whose endpoint is not AWS's is refused before any call is signed."""
    import boto3

    from prodwall.families.cloud import readonly
    from prodwall.inventory.aws_endpoints import aws_endpoint_problem

    session = boto3.session.Session(aws_access_key_id="AKIAEXAMPLEEXAMPLE12",
                                    aws_secret_access_key="x" * 40, region_name="eu-west-1")
    with pytest.raises(readonly.EndpointRefused, match="not https"):
        readonly.client(session, "sts", aws_endpoint_problem, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(readonly.EndpointRefused, match="not an AWS service endpoint"):
        readonly.client(session, "sts", aws_endpoint_problem,
                        endpoint_url="https://x.execute-api.eu-west-1.amazonaws.com")
    made = readonly.client(session, "sts", aws_endpoint_problem)  # botocore's own: AWS
    assert made.meta.endpoint_url.startswith("https://sts.")

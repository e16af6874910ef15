"""Every ambient AWS credential a vantage holds, and the read-only guard, against moto on
127.0.0.1: environment, shared files with profiles (static, role chains, web identity,
credential_process, SSO), a container credentials endpoint, instance metadata (IMDSv2,
only where the inventory says the vantage is an EC2 instance). Secrets stay out."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import cloud_env
from prodwall.families.cloud import readonly
from prodwall.families.cloud.records import CloudJob
from prodwall.families.cloud.vantage_agent import collect
from prodwall.lab import cloud_estate as lab

PROD, TEST = "111122223333", "222233334444"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with cloud_env.moto_server() as url:
        yield url


def _user(url: str, account: str, name: str) -> lab.Keys:
    seed = lab.seed_keys(account)
    iam = lab.client(url, seed, "iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lab.Keys(key["AccessKeyId"], key["SecretAccessKey"])


class _Metadata(http.server.BaseHTTPRequestHandler):
    """A stand-in for the instance metadata service and the container endpoint."""

    creds: dict[str, Any] = {}
    seen: list[str] = []

    def do_PUT(self) -> None:  # IMDSv2 session token
        self.seen.append(f"PUT {self.path}")
        self._send(b"token-123", "text/plain")

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        if self.path.endswith("/security-credentials/"):
            self._send(b"ci-instance-role", "text/plain")
        else:
            self._send(json.dumps(self.creds).encode(), "application/json")

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def metadata() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    _Metadata.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _job(tmp_path: Path, **kw: Any) -> CloudJob:
    return CloudJob(key="00" * 32, homes=(str(tmp_path / "home" / "*"),), **kw)


def _env(url: str, **extra: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true", **extra}


def test_every_source_is_found_resolved_and_fingerprinted(
    moto: str, tmp_path: Path, metadata: str
) -> None:
    cloud_env.reset(moto)
    env_keys = _user(moto, TEST, "from-env")
    file_keys = _user(moto, PROD, "from-file")
    container = _user(moto, TEST, "from-container")
    token = tmp_path / "token"
    token.write_text("eyJ.web.identity")
    home = tmp_path / "home" / "ci" / ".aws"
    home.mkdir(parents=True)
    (home / "credentials").write_text(
        f"[default]\naws_access_key_id = {file_keys.key_id}\n"
        f"aws_secret_access_key = {file_keys.secret}\n"
        "[tool]\ncredential_process = /usr/local/bin/get-creds\n")
    (home / "config").write_text(
        f"[profile deploy]\nrole_arn = arn:aws:iam::{PROD}:role/deployer\n"
        "source_profile = default\n"
        f"[profile ci-oidc]\nrole_arn = arn:aws:iam::{TEST}:role/ci\n"
        f"web_identity_token_file = {token}\n"
        "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n")
    _Metadata.creds = {"AccessKeyId": container.key_id, "SecretAccessKey": container.secret,
                       "Token": "", "Expiration": "2099-01-01T00:00:00Z"}
    env = _env(moto, AWS_ACCESS_KEY_ID=env_keys.key_id, AWS_SECRET_ACCESS_KEY=env_keys.secret,
               AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{metadata}/v2/credentials")
    result = collect(_job(tmp_path), env)
    by_source = {i.source.split(" [")[-1].rstrip("]"): i for i in result.identities}
    assert by_source["environment"].account == TEST
    assert by_source["default"].account == PROD and by_source["default"].offline_account == PROD
    assert by_source["deploy"].kind == "assumed-role"
    assert ":assumed-role/deployer/" in by_source["deploy"].arn
    assert by_source["ci-oidc"].kind == "web-identity" and by_source["ci-oidc"].account == TEST
    container_id = next(i for i in result.identities if i.kind == "container")
    assert container_id.account == TEST
    assert any("credential_process" in u for u in result.unresolved)
    assert any("SSO" in u for u in result.unresolved)
    text = json.dumps(result.to_json())
    for keys in (env_keys, file_keys, container):
        assert keys.key_id not in text and keys.secret not in text
    assert all(len(i.key_fp) == 64 for i in result.identities if i.key_type)


def test_instance_metadata_only_where_the_vantage_is_an_ec2_instance(
    moto: str, tmp_path: Path, metadata: str
) -> None:
    cloud_env.reset(moto)
    keys = _user(moto, PROD, "instance")
    _Metadata.creds = {"AccessKeyId": keys.key_id, "SecretAccessKey": keys.secret,
                       "Token": "t", "Expiration": "2099-01-01T00:00:00Z", "Code": "Success"}
    env = {"AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_SERVICE_ENDPOINT": metadata + "/"}
    assert collect(_job(tmp_path), env).identities == ()
    assert _Metadata.seen == []  # not asked at all
    got = collect(_job(tmp_path, ec2_instance=True), env)
    assert [i.kind for i in got.identities] == ["instance"]
    assert got.identities[0].account == PROD and "ci-instance-role" in got.identities[0].source
    assert any(s.startswith("PUT /latest/api/token") for s in _Metadata.seen)  # IMDSv2


def test_unreachable_endpoint_keeps_the_offline_attribution(tmp_path: Path) -> None:
    from prodwall.lab.leaks import PROD_AWS_KEY_ID, PROD_AWS_SECRET

    env = _env("http://127.0.0.1:9", AWS_ACCESS_KEY_ID=PROD_AWS_KEY_ID,
               AWS_SECRET_ACCESS_KEY=PROD_AWS_SECRET)
    got = collect(_job(tmp_path, timeout=2), env)
    identity = got.identities[0]
    assert identity.offline_account == PROD and identity.account == ""
    assert identity.error  # why STS could not be asked, by type or code only
    assert PROD_AWS_SECRET not in json.dumps(got.to_json())


def test_the_guard_refuses_a_mutating_call_before_it_is_sent(moto: str) -> None:
    cloud_env.reset(moto)
    keys = lab.seed_keys(TEST)
    session = readonly.guard_session(boto3.session.Session(
        aws_access_key_id=keys.key_id, aws_secret_access_key=keys.secret,
        region_name="us-east-1"))
    s3 = readonly.client(session, "s3", endpoint_url=moto)
    with pytest.raises(readonly.RefusedCall, match="s3:CreateBucket"):
        s3.create_bucket(Bucket="pwlab-must-not-exist")
    ec2 = session.client("ec2", endpoint_url=moto)  # from the guarded session alone
    with pytest.raises(readonly.RefusedCall, match="ec2:CreateVpc"):
        ec2.create_vpc(CidrBlock="198.18.99.0/24")
    s3.list_buckets()  # reads pass
    plain = lab.client(moto, keys, "s3")
    assert "pwlab-must-not-exist" not in [b["Name"] for b in plain.list_buckets()["Buckets"]]
    assert lab.client(moto, keys, "ec2").describe_vpcs(
        Filters=[{"Name": "cidr", "Values": ["198.18.99.0/24"]}])["Vpcs"] == []


@pytest.mark.parametrize(("operation", "read"), [
    ("DescribeVpcs", True), ("GetCallerIdentity", True), ("AssumeRole", True),
    ("HeadBucket", True), ("ListObjectsV2", True), ("SearchTransitGatewayRoutes", True),
    ("GetSecretValue", True), ("PutObject", False), ("DeleteBucket", False),
    ("CreateAccessKey", False), ("GetSessionToken", False), ("GetFederationToken", False),
    ("UpdateAssumeRolePolicy", False), ("TagResource", False), ("RunInstances", False),
])
def test_what_counts_as_a_read(operation: str, read: bool) -> None:
    assert readonly.is_read(operation) is read


def test_hostile_aws_files_are_named_not_read(tmp_path: Path) -> None:
    """A credentials file that is a link to /dev/zero, a FIFO, or huge: named unreadable,
    never read to the end (the agent runs as root on the vantage)."""
    import os

    homes = tmp_path / "home"
    for user, make in (("zero", "zero"), ("fifo", "fifo"), ("huge", "huge")):
        aws = homes / user / ".aws"
        aws.mkdir(parents=True)
        if make == "zero":
            (aws / "credentials").symlink_to("/dev/zero")
        elif make == "fifo":
            os.mkfifo(aws / "credentials")
        else:
            (aws / "credentials").write_bytes(b"[default]\n" + b"x = y\n" * 400_000)
    got = collect(_job(tmp_path, timeout=2), {"AWS_EC2_METADATA_DISABLED": "true"})
    assert got.identities == ()
    said = "\n".join(got.unreadable)
    assert "zero/.aws/credentials: not a regular file" in said
    assert "fifo/.aws/credentials: not a regular file" in said
    assert "huge/.aws/credentials: 2400010 bytes" in said

"""The runner's way into each account: role chaining through a hub role, and retries
with backoff when AWS throttles (a stand-in endpoint that throttles twice)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

import cloud_env
from prodwall.families.base import RunContext
from prodwall.families.cloud import readonly
from prodwall.families.cloud.audit import Auditor
from prodwall.families.cloud.family import FAMILY
from prodwall.inventory import load_inventory
from prodwall.inventory.model import Aws
from prodwall.lab import cloud_estate as lab
from prodwall.lab.leaks import PROD_AWS_ACCOUNT, TEST_AWS_ACCOUNT
from prodwall.planning import runner_plan
from prodwall.verdicts import Signal

HUB = f"arn:aws:iam::{lab.AUDIT_ACCOUNT}:role/prodwall-hub"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with cloud_env.moto_server() as url:
        yield url


def _chained_estate(url: str) -> None:
    """The lab estate plus a hub role in the audit account that may assume anything."""
    lab.build(url, "sealed")
    seed = lab.seed_keys(lab.AUDIT_ACCOUNT)
    hub = lab.client(url, seed, "iam")
    hub.create_role(RoleName="prodwall-hub", AssumeRolePolicyDocument=lab.policy(
        # moto matches a same-account trust by the exact principal, not the account root
        {"Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{lab.AUDIT_ACCOUNT}:user/prodwall-runner"},
         "Action": "sts:AssumeRole"}))
    hub.put_role_policy(RoleName="prodwall-hub", PolicyName="chain",
                        PolicyDocument=lab.policy(lab.allow(["sts:AssumeRole"])))
    lab.enforce(url)


def _hub_used() -> bool:
    """moto marks a role used when a key it issued for that role signs a request."""
    from moto.iam.models import iam_backends

    role = iam_backends[lab.AUDIT_ACCOUNT]["aws"].get_role("prodwall-hub")
    return role.last_used is not None


@pytest.mark.parametrize("via", [False, True])
def test_audit_roles_through_a_hub_role(
    moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: bool
) -> None:
    cloud_env.reset(moto)
    _chained_estate(moto)
    for key, value in cloud_env.aws_environment(moto, tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    text = cloud_env.inventory_a(moto, tmp_path)
    if via:
        text = text.replace("  audit_role: prodwall-audit\n",
                            f"  audit_role: prodwall-audit\n  audit_via: \"{HUB}\"\n")
    (tmp_path / "inv.yaml").write_text(text)
    inv = load_inventory(str(tmp_path / "inv.yaml"), today=date.today()).inventory
    plan = runner_plan(inv, date.today())
    seen = FAMILY.run(plan.probes, RunContext(plan, None, inv))
    failed = [o.detail for o in seen if o.signal is not Signal.STOPPED]
    assert failed == []  # every account read, nothing open, either way
    assert _hub_used() is via  # ...and only with audit_via through the hub
    cloud_env.reset(moto)


def test_an_audit_role_that_cannot_be_assumed_is_named(
    moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud_env.reset(moto)
    lab.build(moto, "sealed")
    from moto.iam.models import iam_backends

    # the runner's key loses sts:AssumeRole: no account can be read
    iam_backends[lab.AUDIT_ACCOUNT]["aws"].put_user_policy(
        "prodwall-runner", "prodwall-runner-policy",
        lab.policy(lab.allow(["sts:GetCallerIdentity"])))
    lab.enforce(moto)
    for key, value in cloud_env.aws_environment(moto, tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    (tmp_path / "inv.yaml").write_text(cloud_env.inventory_a(moto, tmp_path))
    inv = load_inventory(str(tmp_path / "inv.yaml"), today=date.today()).inventory
    plan = runner_plan(inv, date.today())
    seen = FAMILY.run(plan.probes, RunContext(plan, None, inv))
    failed = {o.kind: o.detail for o in seen if o.signal is Signal.FAILED}
    assert set(failed) == {"cloud-network", "cloud-trust", "cloud-strings"}
    assert all("sts:AssumeRole arn:aws:iam::" in d and "prodwall-audit" in d
               and "AccessDenied" in d for d in failed.values()), failed
    cloud_env.reset(moto)


class _Throttling(http.server.BaseHTTPRequestHandler):
    calls: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.calls.append(self.path)
        if len(self.calls) <= 2:
            body = (b'<?xml version="1.0"?><Response><Errors><Error><Code>RequestLimitExceeded'
                    b"</Code><Message>slow down</Message></Error></Errors>"
                    b"<RequestID>r1</RequestID></Response>")
            self.send_response(503)
        else:
            body = (b'<?xml version="1.0"?><DescribeVpcsResponse xmlns="http://ec2.amazonaws'
                    b'.com/doc/2016-11-15/"><requestId>r3</requestId><vpcSet><item><vpcId>'
                    b"vpc-1</vpcId><cidrBlock>198.18.30.0/24</cidrBlock><ownerId>"
                    + TEST_AWS_ACCOUNT.encode() + b"</ownerId></item></vpcSet>"
                    b"</DescribeVpcsResponse>")
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_throttled_read_is_retried_with_backoff_then_read() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    _Throttling.calls = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        aws = Aws(audit_role="prodwall-audit", max_attempts=4, simulated=True,
                  endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
        base = boto3.session.Session(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x",
                                     region_name="us-east-1")
        auditor = Auditor(aws, base=base)
        auditor._sessions[TEST_AWS_ACCOUNT] = readonly.guard_session(base)  # no assume here
        vpcs = auditor.call(TEST_AWS_ACCOUNT, "us-east-1", "ec2", "describe_vpcs", "Vpcs")
        assert vpcs is not None and vpcs[0]["VpcId"] == "vpc-1"
        assert len(_Throttling.calls) == 3 and auditor.ledger.failures == []
        # with a single attempt allowed, the same throttling is a failure, kept and named
        _Throttling.calls = []
        once = Auditor(Aws(audit_role="prodwall-audit", max_attempts=1, simulated=True,
                           endpoint_url=aws.endpoint_url), base=base)
        once._sessions[PROD_AWS_ACCOUNT] = readonly.guard_session(base)
        assert once.call(PROD_AWS_ACCOUNT, "us-east-1", "ec2", "describe_vpcs", "Vpcs") is None
        assert [f.code for f in once.ledger.failures] == ["RequestLimitExceeded"]
    finally:
        server.shutdown()

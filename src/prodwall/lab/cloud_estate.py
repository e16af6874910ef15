"""The lab's AWS estate, planted into moto (a simulator: every result against it is
labelled simulated). A production account, a test account, and an audit account whose
runner key assumes the read-only `prodwall-audit` role in the other two.

Keys are planted in moto's IAM backend in-process, so the lab's made-up keys (whose ids
decode offline to their accounts) are the ones moto knows; everything else is created
through moto's own API with guarded-free seeding clients, before IAM enforcement is
switched on. The leaky profile adds four leaks: a cross-account trust, a peering route, a
bucket policy granting the test account, and a production connection string in a test
account parameter."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from prodwall.families.secrets.attribute import aws_key_id_for
from prodwall.lab.leaks import (
    DEV_AWS_KEY_ID,
    DEV_AWS_SECRET,
    DEVWS_AWS_ACCOUNT,
    DEVWS_AWS_KEY_ID,
    DEVWS_AWS_SECRET,
    PROD_AWS_ACCOUNT,
    PROD_AWS_KEY_ID,
    PROD_AWS_SECRET,
    PROD_DB_PASSWORD,
    TEST_AWS_ACCOUNT,
)
from prodwall.lab.topology import AWS_LINK, AWS_PORT, HOSTS, LAB_DIR

AUDIT_ACCOUNT = "333344445555"
AUDIT_KEY_ID = aws_key_id_for(AUDIT_ACCOUNT, b"pwlb3")
AUDIT_SECRET = "pwlabAuditSecretKey000000000000000000001"  # noqa: S105 - a lab fake
AUDIT_ROLE = "prodwall-audit"
REGION = "us-east-1"
PROD_ROLE = f"arn:aws:iam::{PROD_AWS_ACCOUNT}:role/prod-deploy"
PROD_BUCKET = "pwlab-prod-ledger"
PROD_SECRET = f"arn:aws:secretsmanager:{REGION}:{PROD_AWS_ACCOUNT}:secret:prod/db-password"
PROD_PARAMETER = f"arn:aws:ssm:{REGION}:{PROD_AWS_ACCOUNT}:parameter/prod/db/url"
TEST_PARAMETER = "/test/app/database_url"
PROD_VPC, TEST_VPC = "198.19.20.0/24", "198.18.20.0/24"  # the accounts' VPCs (no packets)
RUNNER_ENDPOINT = f"http://{AWS_LINK[1]}:{AWS_PORT}"  # as lab.yaml's aws.endpoint_url
READ_ONLY = ["ec2:Describe*", "ec2:Get*", "ec2:Search*", "iam:Get*", "iam:List*", "s3:Get*",
             "s3:List*", "kms:Get*", "kms:List*", "kms:Describe*", "secretsmanager:Get*",
             "secretsmanager:List*", "secretsmanager:Describe*", "sns:Get*", "sns:List*",
             "sqs:Get*", "sqs:List*", "ssm:Get*", "ssm:Describe*", "lambda:Get*",
             "lambda:List*", "ecs:Describe*", "ecs:List*", "ram:Get*", "ram:List*",
             "sts:GetCallerIdentity"]


@dataclass(frozen=True)
class Keys:
    key_id: str
    secret: str


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def plant_user(account: str, user: str, keys: Keys, document: str) -> None:
    """A user of `account` whose access key is exactly `keys` (moto generates its own)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    if user not in backend.users:
        backend.create_user(region_name=REGION, user_name=user)
    key = backend.create_access_key(user)
    del backend.access_keys[key.access_key_id]
    key.access_key_id, key.secret_access_key = keys.key_id, keys.secret
    backend.access_keys[keys.key_id] = key
    backend.put_user_policy(user, f"{user}-policy", document)


def seed_keys(account: str) -> Keys:
    keys = Keys(aws_key_id_for(account, b"seed0"), f"pwlabSeed{account}".ljust(40, "0"))
    plant_user(account, "pwlab-seed", keys, policy(allow("*")))
    return keys


def client(url: str, keys: Keys, service: str, region: str = REGION) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=region,
                        aws_access_key_id=keys.key_id, aws_secret_access_key=keys.secret)


def audit_roles(url: str, seeds: dict[str, Keys], trusted: str = AUDIT_ACCOUNT) -> None:
    for keys in seeds.values():
        iam = client(url, keys, "iam")
        iam.create_role(RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{trusted}:root"},
             "Action": "sts:AssumeRole"}))
        iam.put_role_policy(RoleName=AUDIT_ROLE, PolicyName="read-only",
                            PolicyDocument=policy(allow(READ_ONLY)))


def build(url: str, profile: str) -> None:
    """Plant the lab estate into the moto server at `url` (this process runs it)."""
    leaky = profile == "leaky"
    prod, test = seed_keys(PROD_AWS_ACCOUNT), seed_keys(TEST_AWS_ACCOUNT)
    plant_user(AUDIT_ACCOUNT, "prodwall-runner", Keys(AUDIT_KEY_ID, AUDIT_SECRET),
               policy(allow(["sts:AssumeRole", "sts:GetCallerIdentity"])))
    dev = seed_keys(DEVWS_AWS_ACCOUNT)
    audit_roles(url, {PROD_AWS_ACCOUNT: prod, TEST_AWS_ACCOUNT: test, DEVWS_AWS_ACCOUNT: dev})
    plant_user(DEVWS_AWS_ACCOUNT, "ws-developer", Keys(DEVWS_AWS_KEY_ID, DEVWS_AWS_SECRET),
               policy(allow(["s3:*", "ssm:*", "secretsmanager:*"],
                            f"arn:aws:*:*:{DEVWS_AWS_ACCOUNT}:*"),
                      allow(["sts:GetCallerIdentity"])))
    plant_user(PROD_AWS_ACCOUNT, "prod-deployer", Keys(PROD_AWS_KEY_ID, PROD_AWS_SECRET),
               policy(allow("*")))
    own = f"arn:aws:*:*:{TEST_AWS_ACCOUNT}:*"
    plant_user(TEST_AWS_ACCOUNT, "ci-deployer", Keys(DEV_AWS_KEY_ID, DEV_AWS_SECRET), policy(
        allow(["s3:*"], ["arn:aws:s3:::pwlab-test-*", "arn:aws:s3:::pwlab-test-*/*"]),
        allow(["ssm:*", "secretsmanager:*", "lambda:*"], own),
        allow(["sts:AssumeRole"], f"arn:aws:iam::{TEST_AWS_ACCOUNT}:role/*"),
        allow(["sts:GetCallerIdentity"])))
    _production(url, prod, leaky)
    _test(url, test, leaky)
    _network(url, prod, test, leaky)


def _production(url: str, keys: Keys, leaky: bool) -> None:
    trusted = [f"arn:aws:iam::{PROD_AWS_ACCOUNT}:root"]
    if leaky:  # planted: the test account may assume the production deploy role
        trusted.append(f"arn:aws:iam::{TEST_AWS_ACCOUNT}:root")
    iam = client(url, keys, "iam")
    iam.create_role(RoleName="prod-deploy", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}))
    iam.create_role(RoleName="prod-ec2", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
         "Action": "sts:AssumeRole"}))
    s3 = client(url, keys, "s3")
    s3.create_bucket(Bucket=PROD_BUCKET)
    s3.put_object(Bucket=PROD_BUCKET, Key="ledger/2026-11.csv", Body=b"id,amount\n1,10\n")
    if leaky:  # planted: a bucket policy granting the test account
        s3.put_bucket_policy(Bucket=PROD_BUCKET, Policy=policy(
            {"Sid": "ReportingReadsLedger", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{TEST_AWS_ACCOUNT}:root"},
             "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{PROD_BUCKET}", f"arn:aws:s3:::{PROD_BUCKET}/*"]}))
    else:
        s3.put_bucket_policy(Bucket=PROD_BUCKET, Policy=policy(
            {"Sid": "OnlyProduction", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{PROD_BUCKET}", f"arn:aws:s3:::{PROD_BUCKET}/*"],
             "Condition": {"StringNotEquals": {"aws:PrincipalAccount": PROD_AWS_ACCOUNT}}}))
    db = HOSTS["prod-db"].fqdn()
    client(url, keys, "secretsmanager").create_secret(Name="prod/db-password",
                                                      SecretString=PROD_DB_PASSWORD)
    client(url, keys, "ssm").put_parameter(
        Name="/prod/db/url", Type="SecureString",
        Value=f"postgres://payments:{PROD_DB_PASSWORD}@{db}:5432/payments")
    client(url, keys, "kms").create_key(Description="production data key")
    client(url, keys, "sns").create_topic(Name="prod-alerts")
    client(url, keys, "sqs").create_queue(QueueName="prod-settlements")


def _test(url: str, keys: Keys, leaky: bool) -> None:
    db = HOSTS["prod-db"].fqdn() if leaky else HOSTS["test-ci"].fqdn()
    password = PROD_DB_PASSWORD if leaky else "ci-only-password"
    # planted (leaky): the test account's app reads the production database's URL
    client(url, keys, "ssm").put_parameter(
        Name=TEST_PARAMETER, Type="SecureString",
        Value=f"postgres://payments:{password}@{db}:5432/payments")
    client(url, keys, "s3").create_bucket(Bucket="pwlab-test-artifacts")
    iam = client(url, keys, "iam")
    role = iam.create_role(RoleName="ci-lambda", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handle(event, context):\n    return None\n")
    client(url, keys, "lambda").create_function(
        FunctionName="ci-report", Runtime="python3.12", Role=role, Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"REPORT_DB": f"{HOSTS['test-ci'].fqdn()}:5432"}})


def _network(url: str, prod: Keys, test: Keys, leaky: bool) -> None:
    p, t = client(url, prod, "ec2"), client(url, test, "ec2")
    pv = p.create_vpc(CidrBlock=PROD_VPC)["Vpc"]["VpcId"]
    tv = t.create_vpc(CidrBlock=TEST_VPC)["Vpc"]["VpcId"]
    p.create_route_table(VpcId=pv)
    t_rt = t.create_route_table(VpcId=tv)["RouteTable"]["RouteTableId"]
    p.create_security_group(GroupName="prod-db", Description="database", VpcId=pv)
    if not leaky:
        return
    # planted: a peering between the accounts' VPCs, and the route that uses it
    pcx = t.create_vpc_peering_connection(VpcId=tv, PeerVpcId=pv,
                                          PeerOwnerId=PROD_AWS_ACCOUNT)
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    p.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    t.create_route(RouteTableId=t_rt, DestinationCidrBlock=PROD_VPC,
                   VpcPeeringConnectionId=pcx_id)


def runner_files() -> dict[str, str]:
    """The runner's own AWS files (its audit key): LAB_DIR/aws/credentials and config."""
    return {
        "credentials": f"[default]\naws_access_key_id = {AUDIT_KEY_ID}\n"
        f"aws_secret_access_key = {AUDIT_SECRET}\n",
        "config": f"[default]\nregion = {REGION}\n",
    }


def runner_environment() -> dict[str, str]:
    """What a process on the lab's runner needs to reach AWS as the runner."""
    folder = LAB_DIR / "aws"
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
        "AWS_CONFIG_FILE": str(folder / "config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def vantage_endpoint() -> str:
    return f"http://{HOSTS['aws-api'].v4()}:{AWS_PORT}"


def enforce(url: str) -> None:
    """Switch moto's IAM enforcement on (everything is planted by now)."""
    import urllib.request

    if not url.startswith("http://"):
        raise ValueError(f"not the lab's moto endpoint: {url}")
    request = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST",  # noqa: S310
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        answer.read()

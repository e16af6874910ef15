"""What the cloud agent is asked and answers. Standard library only (it travels).

No record holds a credential: an access key id crosses back as its keyed fingerprint and
its first four characters (the key type), a secret value never crosses at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prodwall.engine.protocol import Record

ROLE, BUCKET, SECRET, PARAMETER = "cloud-role", "cloud-bucket", "cloud-secret", "cloud-parameter"
LIVE_KINDS = (ROLE, BUCKET, SECRET, PARAMETER)
IDENTITY = "cloud-identity"
AGENT = "prodwall.families.cloud.vantage_agent"  # the vantage-side module (boto3 there)


IdentityKind = Literal["static", "session", "assumed-role", "web-identity", "container", "instance"]
AttemptOutcome = Literal["allowed", "denied", "error"]


@dataclass(frozen=True, kw_only=True)
class Target(Record):
    kind: str  # one of LIVE_KINDS
    name: str  # a role, secret or parameter ARN, or a bucket name
    account: str  # the production account that owns it
    region: str  # where the call goes ("" for IAM roles and buckets: the default region)


@dataclass(frozen=True, kw_only=True)
class CloudJob(Record):
    key: str  # the run's fingerprint key, hex
    targets: tuple[Target, ...] = ()
    homes: tuple[str, ...] = ("/root", "/home/*")
    ec2_instance: bool = False
    region: str = "us-east-1"  # where identities are asked when their profile names none
    timeout: float = 10.0


@dataclass(frozen=True, kw_only=True)
class Identity(Record):
    source: str  # where it was found: "environment", "/root/.aws/credentials [ci]", ...
    kind: IdentityKind
    key_type: str = ""  # AKIA (long-term) or ASIA (temporary): the key id's prefix only
    key_fp: str = ""  # HMAC-SHA-256 of the access key id under the run's key
    offline_account: str = ""  # decoded from the key id, or the account of a role ARN
    account: str = ""  # what sts:GetCallerIdentity answered
    arn: str = ""
    endpoint: str = ""  # where it was asked ("": AWS itself)
    error: str = ""  # an error code: why it could not be asked or resolved
    request_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Attempt(Record):
    identity: int  # index into the identities; -1: unsigned (anonymous)
    kind: str
    target: str
    call: str  # e.g. sts:AssumeRole
    outcome: AttemptOutcome
    code: str = ""  # AWS's error code, or the exception's type
    request_id: str = ""
    detail: str = ""  # what an allowed call showed (never a value)


@dataclass(frozen=True, kw_only=True)
class CloudResult(Record):
    identities: tuple[Identity, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    read: tuple[str, ...] = ()  # the sources read, found or not
    unresolved: tuple[str, ...] = ()  # "source: why" for credentials not resolved
    unreadable: tuple[str, ...] = ()  # "path: why"
    boto: str = ""  # boto3's version at the vantage ("": missing)

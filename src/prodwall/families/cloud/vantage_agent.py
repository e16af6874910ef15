"""The cloud agent: runs at the vantage (shipped in the agent file), where the credentials
live. It finds every ambient credential, attributes its key offline first (the account
inside the key id, or the role ARN's), then asks sts:GetCallerIdentity, then tries each
production resource the job names with each identity, read-only: AssumeRole, HeadBucket
and ListObjectsV2 (and the same unsigned), GetSecretValue, GetParameter. What an allowed
call returned is dropped at once: a value never leaves this process, nor its fingerprint.

Every client comes from a session the read-only guard (readonly.py) holds."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from prodwall.engine.protocol import one_of
from prodwall.families.cloud import readonly
from prodwall.families.cloud.ambient import Found, discover, read_small
from prodwall.families.cloud.answers import error_code, request_id
from prodwall.families.cloud.records import (
    BUCKET,
    PARAMETER,
    ROLE,
    SECRET,
    Attempt,
    AttemptOutcome,
    CloudJob,
    CloudResult,
    Identity,
    IdentityKind,
)
from prodwall.families.secrets.attribute import aws_account_of

DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "403", "AllAccessDisabled",
    "UnauthorizedOperation", "AuthorizationError", "InvalidClientTokenId", "ExpiredToken",
    "UnrecognizedClientException",
})


def run(raw_job: dict[str, Any]) -> dict[str, Any]:
    job = CloudJob.from_json(raw_job)
    try:
        out: dict[str, Any] = collect(job).to_json()
    except Exception as exc:
        # by type only: an SDK exception's message can quote a request, and so a credential
        raise RuntimeError(f"the cloud agent failed ({type(exc).__name__})") from None
    return out


def collect(job: CloudJob, env: dict[str, str] | None = None) -> CloudResult:
    found = discover(job, env)
    key = bytes.fromhex(job.key)
    try:
        import boto3
    except ImportError:  # the offline attribution still stands; nothing can be asked
        ids = tuple(_offline(f, key, "boto3 is not installed at the vantage") for f in found.found)
        return CloudResult(identities=ids, read=tuple(found.read),
                           unresolved=tuple(found.unresolved),
                           unreadable=tuple(found.unreadable))
    asker = _Asker(job, key, boto3)
    identities, sessions = [], []
    for f in found.found:
        identity, session = asker.resolve(f)
        identities.append(identity)
        sessions.append(session)
    attempts = []
    # one credential found in several places (a key in the environment and in a file) is
    # tried once, under its first source
    first = {id(s): i for i, s in reversed(list(enumerate(sessions))) if s is not None}
    for target in job.targets:
        for index, session in enumerate(sessions):
            if session is not None and first[id(session)] == index:
                attempts.append(asker.attempt(index, session, target, identities[index].endpoint))
        if target.kind == BUCKET:  # a public bucket needs no credential at all
            endpoint = next((i.endpoint for i in identities if i.endpoint), "")
            attempts.append(asker.attempt(-1, None, target, endpoint))
    return CloudResult(
        identities=tuple(identities),
        attempts=tuple(attempts),
        read=tuple(found.read),
        unresolved=tuple(found.unresolved),
        unreadable=tuple(found.unreadable),
        boto=str(boto3.__version__),
    )


def _offline(f: Found, key: bytes, error: str = "") -> Identity:
    account = aws_account_of(f.access_key) if f.access_key else None
    if account is None and f.role_arn.count(":") >= 5:
        account = f.role_arn.split(":")[4]
    return Identity(
        source=f.source,
        kind=one_of(IdentityKind, f.kind),
        key_type=f.access_key[:4],
        key_fp=hmac.new(key, f.access_key.encode(), hashlib.sha256).hexdigest()
        if f.access_key else "",
        offline_account=account or "",
        endpoint=f.endpoint,
        error=error,
    )


class _Asker:
    def __init__(self, job: CloudJob, key: bytes, boto3: Any) -> None:
        from botocore.config import Config

        self.job, self.key, self.boto3 = job, key, boto3
        self.config = Config(connect_timeout=job.timeout, read_timeout=job.timeout,
                             retries={"max_attempts": 3, "mode": "standard"})
        self._cache: dict[tuple[str, str, str], tuple[Identity, Any]] = {}

    def session(self, access: str, secret: str, token: str, region: str) -> Any:
        made = self.boto3.session.Session(aws_access_key_id=access, aws_secret_access_key=secret,
                                          aws_session_token=token or None,
                                          region_name=region or self.job.region)
        return readonly.guard_session(made)

    def client(self, session: Any, service: str, endpoint: str, region: str = "") -> Any:
        kwargs: dict[str, Any] = {"endpoint_url": endpoint or None, "config": self.config}
        if region:
            kwargs["region_name"] = region
        return readonly.client(session, service, **kwargs)

    def resolve(self, f: Found) -> tuple[Identity, Any]:
        """The identity behind a credential, and a session that acts as it (None: none)."""
        offline = _offline(f, self.key)
        cache_key = (f.access_key or f.role_arn, f.endpoint, f.kind)
        if cache_key in self._cache and f.kind != "assumed-role":
            known, session = self._cache[cache_key]
            return _same(offline, known), session
        try:
            session = self._session_for(f)
            answer = self.client(session, "sts", f.endpoint).get_caller_identity()
        except Exception as exc:
            return _replace(offline, error=error_code(exc), request_id=request_id(exc)), None
        identity = _replace(offline, account=str(answer.get("Account", "")),
                            arn=str(answer.get("Arn", "")),
                            request_id=request_id(answer))
        self._cache[cache_key] = (identity, session)
        return identity, session

    def _session_for(self, f: Found) -> Any:
        if f.kind == "assumed-role":
            assert f.via is not None
            base = self._session_for(f.via)
            got = self.client(base, "sts", f.endpoint).assume_role(
                RoleArn=f.role_arn, RoleSessionName="prodwall-ambient", DurationSeconds=900
            )
            c = got["Credentials"]
            return self.session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                                f.region)
        if f.kind == "web-identity":
            from botocore import UNSIGNED
            from botocore.config import Config

            token = read_small(f.token_file).strip()
            anonymous = readonly.guard_session(self.boto3.session.Session(region_name=f.region))
            sts = readonly.client(anonymous, "sts", endpoint_url=f.endpoint or None,
                                  config=self.config.merge(Config(signature_version=UNSIGNED)))
            got = sts.assume_role_with_web_identity(
                RoleArn=f.role_arn, RoleSessionName="prodwall-ambient", WebIdentityToken=token
            )
            c = got["Credentials"]
            return self.session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                                f.region)
        return self.session(f.access_key, f.secret_key, f.token, f.region)

    def attempt(self, index: int, session: Any, target: Any, endpoint: str) -> Attempt:
        region = target.region
        call = {ROLE: "sts:AssumeRole", BUCKET: "s3:HeadBucket",
                SECRET: "secretsmanager:GetSecretValue", PARAMETER: "ssm:GetParameter"}[target.kind]
        try:
            if session is None:
                from botocore import UNSIGNED
                from botocore.config import Config

                plain = self.boto3.session.Session(region_name=self.job.region)
                bare = readonly.guard_session(plain)
                s3 = readonly.client(bare, "s3", endpoint_url=endpoint or None,
                                     config=self.config.merge(Config(signature_version=UNSIGNED)))
                return self._bucket(index, s3, target, call + " (unsigned)")
            if target.kind == ROLE:
                got = self.client(session, "sts", endpoint).assume_role(
                    RoleArn=target.name, RoleSessionName="prodwall-probe", DurationSeconds=900
                )
                arn = str(got.get("AssumedRoleUser", {}).get("Arn", ""))
                got = {"ResponseMetadata": got.get("ResponseMetadata", {})}  # credentials dropped
                return Attempt(identity=index, kind=target.kind, target=target.name, call=call,
                               outcome="allowed", request_id=request_id(got),
                               detail=f"became {arn}")
            if target.kind == BUCKET:
                return self._bucket(index, self.client(session, "s3", endpoint), target, call)
            if target.kind == SECRET:
                got = self.client(session, "secretsmanager", endpoint, region).get_secret_value(
                    SecretId=target.name
                )
                detail = f"returned version {got.get('VersionId', '?')} (value discarded)"
            else:
                got = self.client(session, "ssm", endpoint, region).get_parameter(
                    Name=target.name, WithDecryption=False
                )
                detail = (f"returned a {got.get('Parameter', {}).get('Type', '?')} parameter "
                          "(value discarded)")
            rid = request_id(got)
            del got  # the value goes nowhere
            return Attempt(identity=index, kind=target.kind, target=target.name, call=call,
                           outcome="allowed", request_id=rid, detail=detail)
        except Exception as exc:
            return _refusal(index, target, call, exc)

    def _bucket(self, index: int, s3: Any, target: Any, call: str) -> Attempt:
        try:
            got = s3.head_bucket(Bucket=target.name)
        except Exception as exc:
            first = _refusal(index, target, call, exc)
            if first.outcome != "denied":
                return first
            try:  # a bucket that refuses HEAD may still list (ListBucket granted alone)
                got = s3.list_objects_v2(Bucket=target.name, MaxKeys=1)
                call = call.replace("HeadBucket", "ListObjectsV2")
            except Exception:
                return first
        return Attempt(identity=index, kind=target.kind, target=target.name, call=call,
                       outcome="allowed", request_id=request_id(got),
                       detail="the bucket answered")


def _refusal(index: int, target: Any, call: str, exc: Exception) -> Attempt:
    code = error_code(exc)
    outcome: AttemptOutcome = "denied" if code in DENIED else "error"
    return Attempt(identity=index, kind=target.kind, target=target.name, call=call,
                   outcome=outcome, code=code, request_id=request_id(exc))


def _replace(identity: Identity, **changes: Any) -> Identity:
    from dataclasses import replace

    return replace(identity, **changes)


def _same(offline: Identity, known: Identity) -> Identity:
    """A credential already asked about from another source: the same answer."""
    return _replace(offline, account=known.account, arn=known.arn, error=known.error,
                    request_id=known.request_id)

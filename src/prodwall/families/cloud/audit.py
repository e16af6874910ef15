"""The configuration proof's access to the estate, from the runner: one read-only audit
role per account (assumed from the runner's own credentials, or through a hub role),
guarded clients, bounded concurrency over accounts x regions, and retries with backoff
(botocore's standard mode: exponential backoff with jitter on throttling and transient
errors). Every call is counted; every failure is kept with its account, region and call,
so the caller can say exactly what could not be read."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prodwall.families.cloud import readonly
from prodwall.families.cloud.answers import error_code
from prodwall.inventory.aws_endpoints import aws_endpoint_problem
from prodwall.inventory.model import Aws

SESSION_NAME = "prodwall-audit"
NO_POLICY = ("NoSuchBucketPolicy",)  # S3's way of saying a bucket has no policy
# what a simulator answers where it falls short of AWS (an operation it does not implement,
# a signature of its own it fails to verify): a limit of the simulation, not AWS's answer
UNIMPLEMENTED = ("NotImplemented", "InternalFailure", "InternalError", "ResponseParserError",
                 "404", "500", "SignatureDoesNotMatch")


@dataclass(frozen=True)
class Failure:
    account: str
    region: str
    call: str  # service:Operation
    code: str
    purpose: str = ""  # the check it leaves open (findings.CONFIG_KINDS)


@dataclass
class Ledger:
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # what the simulator cannot show
    lock: threading.Lock = field(default_factory=threading.Lock)


class Auditor:
    def __init__(self, aws: Aws, base: Any | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.aws = aws
        self.boto3 = boto3
        self.config = Config(retries={"max_attempts": aws.max_attempts, "mode": "standard"},
                             connect_timeout=10, read_timeout=30,
                             max_pool_connections=max(10, aws.concurrency))
        self.base = readonly.guard_session(base or boto3.session.Session())
        self.ledger = Ledger()
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._no_way: dict[str, Exception] = {}

    def for_check(self, purpose: str) -> Auditor:
        """Failures of this thread's calls from now on leave `purpose` open."""
        self._local.purpose = purpose
        return self

    @property
    def _endpoint_check(self) -> Callable[[str], str] | None:
        """AWS itself: only its service endpoints, over https (a simulator is declared)."""
        return None if self.aws.simulated else aws_endpoint_problem

    def role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.aws.audit_role}"

    def _assume(self, session: Any, arn: str) -> Any:
        sts = readonly.client(session, "sts", self._endpoint_check,
                              endpoint_url=self.aws.endpoint_url, config=self.config,
                              region_name=self.aws.regions[0])  # fmt: skip
        got = sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME, DurationSeconds=3600)
        c = got["Credentials"]
        made = self.boto3.session.Session(aws_access_key_id=c["AccessKeyId"],
                                          aws_secret_access_key=c["SecretAccessKey"],
                                          aws_session_token=c["SessionToken"])
        return readonly.guard_session(made)

    def session(self, account: str) -> Any:
        with self._lock:
            if account not in self._sessions:
                start = self.base
                if self.aws.audit_via:
                    start = self._sessions.get("hub") or self._assume(self.base,
                                                                      self.aws.audit_via)
                    self._sessions["hub"] = start
                self._sessions[account] = self._assume(start, self.role_arn(account))
            return self._sessions[account]

    def client(self, account: str, region: str, service: str) -> Any:
        key = (account, region, service)
        session = self.session(account)
        with self._lock:  # a boto3 session is not thread-safe; its clients are
            if key not in self._clients:
                self._clients[key] = readonly.client(
                    session, service, self._endpoint_check, region_name=region,
                    endpoint_url=self.aws.endpoint_url,
                    config=self.config)
            return self._clients[key]

    def call(self, account: str, region: str, service: str, op: str, result: str,
             absent: tuple[str, ...] = (), **kwargs: Any) -> list[Any] | None:
        """Every page's `result` items, or None when the call failed (the failure is kept).
        `absent`: error codes that mean "there is none" (no bucket policy): no items."""
        name = f"{service}:{_pascal(op)}"
        try:
            if account in self._no_way:  # asked once: an assume that failed is not retried
                raise self._no_way[account]
            self.session(account)
        except readonly.RefusedCall:
            raise
        except Exception as exc:  # no way into the account: said as the assume that failed
            with self.ledger.lock:
                self._no_way.setdefault(account, exc)
                self.ledger.failures.append(Failure(
                    account, region, f"sts:AssumeRole {self.role_arn(account)}", error_code(exc),
                    getattr(self._local, "purpose", "")))
            return None
        try:
            client = self.client(account, region, service)
            if client.can_paginate(op):
                items: list[Any] = []
                for page in client.get_paginator(op).paginate(**kwargs):
                    self._count()
                    items += _items(page, result)
                return items
            self._count()
            return _items(getattr(client, op)(**kwargs), result)
        except readonly.RefusedCall:
            raise
        except Exception as exc:
            code = error_code(exc)
            if code in absent:
                return []
            if self.aws.simulated and code in UNIMPLEMENTED:
                with self.ledger.lock:
                    self.ledger.limits.append(f"{name}: the simulator cannot answer it ({code})")
                return []
            with self.ledger.lock:
                self.ledger.failures.append(
                    Failure(account, region, name, code, getattr(self._local, "purpose", "")))
            return None

    def one(self, account: str, region: str, service: str, op: str,
            absent: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """One call's whole answer (a dict; {} when `absent` says there is none), or None
        when it failed."""
        got = self.call(account, region, service, op, "", absent, **kwargs)
        if got is None:
            return None
        return got[0] if got else {}

    def _count(self) -> None:
        with self.ledger.lock:
            self.ledger.calls += 1

    def each(self, tasks: Iterable[Callable[[], None]]) -> None:
        """Run the tasks with the inventory's concurrency; a task's own error is re-raised."""
        with ThreadPoolExecutor(max_workers=self.aws.concurrency) as pool:
            for future in [pool.submit(t) for t in tasks]:
                future.result()


def _items(page: Any, result: str) -> list[Any]:
    if not result:
        return [page]
    got = page.get(result, [])
    return list(got) if isinstance(got, list) else [got]


def _pascal(op: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in op.split("_"))

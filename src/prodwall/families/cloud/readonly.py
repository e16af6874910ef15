"""The read-only guarantee: a botocore event hook that refuses, before it is signed or
sent, every API call that is not a read. Every client prodwall makes comes from a session
this module guarded, at the vantage and at the runner alike. Standard library only at
import (it travels in the agent file); botocore is imported by the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

READ_PREFIXES = ("Describe", "List", "Get", "Head", "BatchGet", "Lookup", "Search")
# not prefixed as reads, but reads all the same: who am I, and the probes' own question
ALSO_READS = frozenset(
    {"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetCallerIdentity"}
)
# prefixed as reads, but they mint credentials prodwall never needs
NOT_READS = frozenset({"GetSessionToken", "GetFederationToken"})
EVENT = "before-call"


class RefusedCall(Exception):
    """A call that is not a read: refused before anything was sent."""


def is_read(operation: str) -> bool:
    if operation in NOT_READS:
        return False
    return operation in ALSO_READS or operation.startswith(READ_PREFIXES)


def refuse_writes(model: Any = None, **_: Any) -> None:
    """botocore's before-call hook: `model` is the operation about to be sent."""
    name = str(getattr(model, "name", ""))
    service = str(getattr(getattr(model, "service_model", None), "service_name", "?"))
    if not is_read(name):
        raise RefusedCall(
            f"prodwall's read-only guard refused {service}:{name or '(unknown)'} before it was "
            "sent: prodwall makes read calls only"
        )


def guard_session(session: Any) -> Any:
    """Guard a boto3 Session: every client made from it afterwards inherits the hook."""
    session.events.register(EVENT, refuse_writes, unique_id="prodwall-read-only")
    return session


class EndpointRefused(Exception):
    """The client would send signed calls to a host that is not an AWS service endpoint."""


def client(
    session: Any,
    service: str,
    endpoint_check: Callable[[str], str] | None = None,
    **kwargs: Any,
) -> Any:
    """A guarded client (the session's hook, and the client's own in case the session's
    handlers were copied before it was guarded). `endpoint_check`: for AWS itself, says
    what is wrong with the endpoint botocore settled on (the inventory's, or one from
    $AWS_ENDPOINT_URL or a config file): nothing is signed for a host that is not AWS's."""
    made = session.client(service, **kwargs)
    made.meta.events.register(EVENT, refuse_writes, unique_id="prodwall-read-only")
    if endpoint_check is not None:
        why = endpoint_check(str(made.meta.endpoint_url))
        if why:
            raise EndpointRefused(
                f"refused to call {service} at {made.meta.endpoint_url}: it {why} (set "
                "aws.simulated: true for a simulator)"
            )
    return made

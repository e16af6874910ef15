"""One thing the configuration proof saw, before it becomes an observation: which check
it belongs to, the account it is judged under, and the evidence an auditor can follow
(account, region, resource ARN, and the API call that showed it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prodwall.verdicts import Signal

NETWORK, TRUST, STRINGS = "cloud-network", "cloud-trust", "cloud-strings"
CONFIG_KINDS = (NETWORK, TRUST, STRINGS)


@dataclass(frozen=True)
class Seen:
    kind: str  # one of CONFIG_KINDS
    account: str  # the check's group: a production account (network, trust) or not (strings)
    signal: Signal
    detail: str
    region: str = ""
    arn: str = ""
    call: str = ""
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

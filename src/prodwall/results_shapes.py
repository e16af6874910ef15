"""The shapes of the results file's open-ended parts, checked when a file is read.

`scope`, `catalogue`, `waivers` and each verdict's `evidence` are maps whose keys grow
with the families; the views read some of their keys. A results file is input someone
else wrote, so what the views read is checked here once, by field, and a file that
does not fit is refused naming the field, instead of failing somewhere in a view.
Keys no view reads are left open.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

StrList = list[str]


class _Control(TypedDict, total=False):
    title: str
    severity: str
    family: str
    column: str
    cause: Literal["path", "secret", "check"]
    references: dict[str, StrList]
    titles: dict[str, str]


class _Environment(TypedDict, total=False):
    tier: str
    networks: StrList
    dns_domains: StrList
    hosts: StrList
    aws_accounts: StrList
    kubernetes_api_servers: StrList


class _Scope(TypedDict, total=False):
    environments: dict[str, _Environment]


class _Waiver(TypedDict, total=False):
    id: str
    control: str | None
    vantage: str | None
    target: str | None
    services: StrList
    ticket: str
    approver: str
    justification: str
    expires: str
    state: str


class _Positive(TypedDict, total=False):
    passed: bool
    why_not: str
    controls: StrList


class _Capture(TypedDict, total=False):
    file: str
    sha256: str
    packets: int


class _Evidence(TypedDict, total=False):
    positive_controls: _Positive
    by_detail: dict[str, int]
    responders: dict[str, int]
    last_hops: dict[str, str]
    methods: dict[str, int] | StrList
    files: list[_Capture]
    packets: StrList
    seconds: float


class _Verdict(TypedDict, total=False):
    evidence: _Evidence


class _Open(TypedDict, total=False):
    scope: _Scope
    catalogue: dict[str, _Control]
    waivers: list[_Waiver]
    verdicts: list[_Verdict]


OPEN_PARTS: TypeAdapter[_Open] = TypeAdapter(_Open)


def check_open_parts(raw: dict[str, Any]) -> None:
    """Raise pydantic's ValidationError when a part a view reads has the wrong shape."""
    OPEN_PARTS.validate_python(raw, strict=True)

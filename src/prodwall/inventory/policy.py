"""The inventory's policy: approved flows, waivers and the positive controls."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from prodwall.inventory.fields import Name, NonEmpty, ServiceField
from prodwall.inventory.modelbase import _Model


class _Approval(_Model):
    ticket: NonEmpty
    approver: NonEmpty
    justification: NonEmpty
    expires: date
    approved: date | None = Field(default=None, description="when it was approved")

    def is_expired(self, today: date) -> bool:
        return self.expires < today


class AllowedFlow(_Approval):
    from_: Name = Field(alias="from", description="environment the flow starts in")
    to: Name = Field(description="host the flow may reach")
    services: list[ServiceField] = Field(
        min_length=1, description="services of that host the flow may use"
    )


class SecretMatch(_Model):
    """A secrets finding a waiver accepts: by fingerprint and path, never by line number
    (a line moves with every edit; the fingerprint and the file say what was accepted)."""

    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{16,64}$",
        description="the finding's fingerprint as the report shows it (16 hex digits or more)",
    )
    path: NonEmpty = Field(description="the file (or process) it was found in; a glob")
    rule: str | None = Field(default=None, description="e.g. url:postgres; any if omitted")


class Waiver(_Approval):
    id: NonEmpty
    control: str | None = Field(default=None, description="control id it covers; all if omitted")
    vantage: Name | None = Field(default=None, description="vantage it covers; all if omitted")
    target: Name | None = Field(
        default=None, description="host whose reachability is accepted (network checks)"
    )
    services: list[ServiceField] = Field(
        default_factory=list, description="services covered; every service if empty"
    )
    finding: SecretMatch | None = Field(
        default=None, description="the secrets finding accepted (secrets checks)"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Waiver:
        if (self.target is None) == (self.finding is None):
            raise ValueError(
                "a waiver names either a target host (network checks) or a finding "
                "(secrets checks: fingerprint and path), not both and not neither"
            )
        return self


class ControlTarget(_Model):
    """A non-production service whose answer proves that answers get back to the vantage."""

    from_: Name | None = Field(
        default=None, alias="from", description="environment; all if omitted"
    )
    to: Name = Field(description="a non-production host")
    service: ServiceField | Literal["icmp"]
    expect: Literal["answer", "closed"] = Field(
        default="answer",
        description="answer: it must answer; closed: it must refuse (RST or "
        "ICMP port-unreachable from the host itself)",
    )


class Policy(_Model):
    allowed_flows: list[AllowedFlow] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)
    control_targets: list[ControlTarget] = Field(
        default_factory=list,
        description="positive controls beside the allowed flows: a known-closed port, a UDP "
        "service, an ICMP echo target",
    )

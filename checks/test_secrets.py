"""Secrets: no production credential and no hard-wired connection string to production
sits on the vantage's host (files, credential stores, manifests, process environments).

What is found is attributed offline (fingerprints, AWS account ids, host names and
networks from the inventory) and never used. A source read in full with nothing of
production counts as blocked only if the canary (a made-up production credential
read back through the same pipeline at the vantage) was found."""

from __future__ import annotations

import pytest

from prodwall.session import ProdwallRun
from prodwall.verdicts import Observation


def _judge(prodwall: ProdwallRun, kind: str, source: str, request: pytest.FixtureRequest) -> None:
    seen = prodwall.observe("secrets")
    summary = [o for o in seen if o.kind == "secrets" and o.target == source]
    mine: list[Observation] = [
        o for o in seen if o.kind == kind and o.evidence.get("source") == source
    ]
    canary = all(o.evidence.get("canary_found") for o in summary) and bool(summary)
    notes = summary[0].evidence if summary else {}
    prodwall.conclude(
        request.node,
        [*mine, *summary],
        source,
        # nothing read from this vantage (not planned): not reviewed, and no control to judge
        positive_control=canary if summary else None,
        control_failure="" if canary else "the canary credential was not found at the vantage",
        notes={
            "limitation": notes.get("limitation"),
            "unattributed": notes.get("unattributed"),
            "unreadable": notes.get("unreadable"),
            "truncated": notes.get("truncated"),
        },
    )


@pytest.mark.control("SEC-CRED-01")
def test_no_production_credential_on_the_vantage(
    prodwall: ProdwallRun, secret_source: str, request: pytest.FixtureRequest
) -> None:
    _judge(prodwall, "credential", secret_source, request)


@pytest.mark.control("SEC-CONN-01")
def test_no_connection_string_to_production_on_the_vantage(
    prodwall: ProdwallRun, secret_source: str, request: pytest.FixtureRequest
) -> None:
    _judge(prodwall, "connection-string", secret_source, request)

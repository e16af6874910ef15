"""AWS: no identity, trust, network path or stored string in a non-production account
reaches a production one.

At a vantage (`prodwall run --vantage NAME`, a vantage that stands for a host of its own):
the identities found there, and live read-only denial probes with each. From the runner
(`prodwall cloud`): the configuration of every listed account, read through a read-only
audit role. Results against a simulator are labelled simulated in their evidence."""

from __future__ import annotations

import pytest

from prodwall.families.cloud.findings import NETWORK, STRINGS, TRUST
from prodwall.families.cloud.records import IDENTITY, LIVE_KINDS
from prodwall.planning import RUNNER
from prodwall.session import ProdwallRun

NO_TARGETS = "no-targets"
EVIDENCE_KEYS = ("account", "region", "arn", "call", "request_id", "identity")


def _check(prodwall: ProdwallRun, request: pytest.FixtureRequest, account: str,
           kinds: tuple[str, ...], from_runner: bool) -> None:
    if account == NO_TARGETS:
        pytest.skip("the inventory lists no AWS account on this side")
    if from_runner != (prodwall.plan.vantage_name == RUNNER):
        where = "from the runner: prodwall cloud" if from_runner else \
            "at a vantage: prodwall run --vantage NAME"
        pytest.skip(f"probed {where}")
    if not prodwall.plan.of_kind(*kinds):
        pytest.skip("not planned here: the vantage does not stand for a host of its own "
                    "(secret_scan: false), or the inventory lists nothing to try")
    seen = [o for o in prodwall.observe("cloud") if o.kind in kinds and o.target == account]
    shown = [o for o in seen if o.signal.value != "stopped" or o.evidence.get("request_id")]
    limits = sorted({x for o in seen for x in o.evidence.get("limits", ())})
    prodwall.conclude(
        request.node,
        seen,
        account,
        positive_control=None,  # every item is an answer read, never silence
        notes={
            "simulated": "results from a simulator (moto): where its semantics differ from "
            "AWS, the governing policy was read instead" if any(
                o.evidence.get("simulated") for o in seen) else "",
            "limits": limits,
            "api_evidence": [{k: o.evidence[k] for k in EVIDENCE_KEYS if o.evidence.get(k)}
                             for o in shown[:50]],
        },
    )


@pytest.mark.control("CLOUD-IDENT-01")
def test_no_identity_at_the_vantage_belongs_to_production(
    prodwall: ProdwallRun, aws_prod_account: str, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, request, aws_prod_account, (IDENTITY,), from_runner=False)


@pytest.mark.control("CLOUD-DENY-01")
def test_aws_denies_the_vantage_identities_on_production(
    prodwall: ProdwallRun, aws_prod_account: str, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, request, aws_prod_account, LIVE_KINDS, from_runner=False)


@pytest.mark.control("CLOUD-NET-01")
def test_no_network_path_joins_production_to_non_production(
    prodwall: ProdwallRun, aws_prod_account: str, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, request, aws_prod_account, (NETWORK,), from_runner=True)


@pytest.mark.control("CLOUD-TRUST-01")
def test_no_production_policy_grants_a_non_production_account(
    prodwall: ProdwallRun, aws_prod_account: str, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, request, aws_prod_account, (TRUST,), from_runner=True)


@pytest.mark.control("CLOUD-STRINGS-01")
def test_no_stored_string_points_into_production(
    prodwall: ProdwallRun, aws_nonprod_account: str, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, request, aws_nonprod_account, (STRINGS,), from_runner=True)

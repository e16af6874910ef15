"""DNS: production names, resolvers and zones are not available to the vantage."""

from __future__ import annotations

import pytest

from prodwall.positive import control_status
from prodwall.session import ProdwallRun
from prodwall.verdicts import Observation


def _mine(prodwall: ProdwallRun, kind: str, field: str, value: str) -> list[Observation]:
    return [o for o in prodwall.observe("dns") if o.kind == kind and o.evidence.get(field) == value]


@pytest.mark.control("DNS-NAME-01")
def test_production_names_do_not_resolve_to_production(
    prodwall: ProdwallRun, prod_domain: str, request: pytest.FixtureRequest
) -> None:
    mine = _mine(prodwall, "dns-name", "domain", prod_domain)
    # NXDOMAIN, REFUSED or a non-production answer is an answer: no silence to control for
    prodwall.conclude(request.node, mine, prod_domain, positive_control=None)


@pytest.mark.control("DNS-RESOLVER-01")
def test_production_resolvers_do_not_answer(
    prodwall: ProdwallRun, prod_network: str, request: pytest.FixtureRequest
) -> None:
    mine = _mine(prodwall, "dns-resolver", "network", prod_network)
    # the DNS family's own control: the DNS servers this vantage may use answered
    passed, why = control_status(prodwall.observe("dns"), "udp", kind="dns-control")
    prodwall.conclude(
        request.node, mine, prod_network, positive_control=passed, control_failure=why
    )


@pytest.mark.control("DNS-AXFR-01")
def test_zone_transfers_are_refused(
    prodwall: ProdwallRun, prod_domain: str, request: pytest.FixtureRequest
) -> None:
    mine = _mine(prodwall, "dns-axfr", "domain", prod_domain)
    # the DNS family's own control: the DNS servers this vantage may use answered
    passed, why = control_status(prodwall.observe("dns"), "udp", kind="dns-control")
    prodwall.conclude(request.node, mine, prod_domain, positive_control=passed, control_failure=why)

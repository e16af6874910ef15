"""Routes: from the vantage, the kernel has no usable route into any production network."""

from __future__ import annotations

import pytest

from prodwall.session import ProdwallRun


@pytest.mark.control("NET-ROUTE-01")
def test_no_route_to_production_network(
    prodwall: ProdwallRun, prod_network: str, request: pytest.FixtureRequest
) -> None:
    observations = [
        o for o in prodwall.observe("routes") if o.evidence.get("network") == prod_network
    ]
    # A route lookup is positive evidence either way (a route, or a kernel
    # refusal naming why there is none): it never relies on silence.
    prodwall.conclude(request.node, observations, prod_network, positive_control=None)

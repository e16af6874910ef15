"""Network: from the vantage, no TCP, UDP or ICMP probe gets an answer from production.

One test per production network (IPv4 and IPv6 are separate networks) and
protocol. Silence counts as blocked only when this run's positive controls
for that protocol passed from the same vantage.
"""

from __future__ import annotations

import pytest

from prodwall.positive import allowed_flows, control_limitations, control_status
from prodwall.session import ProdwallRun


def _conclude(
    prodwall: ProdwallRun, request: pytest.FixtureRequest, network: str, protocol: str
) -> None:
    observed = prodwall.observe("network")
    mine = [o for o in observed if o.kind == protocol and o.evidence.get("network") == network]
    passed, why = control_status(observed, protocol)
    prodwall.conclude(
        request.node,
        mine,
        network,
        positive_control=passed,
        control_failure=why,
        controls_seen=[o for o in observed if o.kind == "control" and o.protocol == protocol],
        notes={
            "limitations": control_limitations(observed, protocol),
            # an allowed flow is never a finding: it is shown as allowed, with its ticket
            "allowed_flows": allowed_flows(observed, protocol, network),
        },
    )


@pytest.mark.control("NET-TCP-01")
def test_no_tcp_port_answers(
    prodwall: ProdwallRun, prod_network: str, request: pytest.FixtureRequest
) -> None:
    _conclude(prodwall, request, prod_network, "tcp")


@pytest.mark.control("NET-UDP-01")
def test_no_udp_service_answers(
    prodwall: ProdwallRun, prod_network: str, request: pytest.FixtureRequest
) -> None:
    _conclude(prodwall, request, prod_network, "udp")


@pytest.mark.control("NET-ICMP-01")
def test_no_icmp_echo_answers(
    prodwall: ProdwallRun, prod_network: str, request: pytest.FixtureRequest
) -> None:
    _conclude(prodwall, request, prod_network, "icmp")

"""Hosts: the vantage's own host (a dev or test host) carries no implicit jump into
production: its name resolution and its ssh trust do not lead there, and no kube
context points at a production API server."""

from __future__ import annotations

import pytest

from prodwall.session import ProdwallRun
from prodwall.verdicts import Observation


def _aspect(prodwall: ProdwallRun, aspect: str) -> list[Observation]:
    return [o for o in prodwall.observe("hosts") if o.evidence.get("aspect") == aspect]


@pytest.mark.control("HOST-ETCHOSTS-01")
def test_name_resolution_leads_nowhere_in_production(
    prodwall: ProdwallRun, request: pytest.FixtureRequest
) -> None:
    mine = _aspect(prodwall, "name-resolution")
    # what the files say is positive evidence either way: no silence to control for
    prodwall.conclude(request.node, mine, "name-resolution", positive_control=None)


@pytest.mark.control("HOST-SSH-01")
def test_ssh_trust_opens_no_production_host(
    prodwall: ProdwallRun, request: pytest.FixtureRequest
) -> None:
    mine = _aspect(prodwall, "ssh")
    prodwall.conclude(request.node, mine, "ssh", positive_control=None)


@pytest.mark.control("HOST-LIVE-01")
def test_no_live_connection_tunnel_or_mount_reaches_production(
    prodwall: ProdwallRun, request: pytest.FixtureRequest
) -> None:
    mine = _aspect(prodwall, "live")
    prodwall.conclude(request.node, mine, "live", positive_control=None)


@pytest.mark.control("HOST-KUBE-01")
def test_no_kube_context_points_at_production(
    prodwall: ProdwallRun, request: pytest.FixtureRequest
) -> None:
    # the secrets family reads kubeconfig files: its findings are reused, not re-read
    seen = prodwall.observe("secrets")
    kube = [o for o in seen if o.protocol == "kubeconfig" and o.kind == "connection-string"]
    stores = [o for o in seen if o.kind == "secrets" and o.target == "stores"]
    prodwall.conclude(
        request.node,
        [*kube, *stores],
        "kube",
        positive_control=all(o.evidence.get("canary_found") for o in stores) if stores else None,
    )

"""Hosts, checked as testinfra checks through the `host` fixture. A dev or test host
carries no implicit jump into production; a production host enforces the deliberate
one. In a run from an inventory vantage the vantage is the host (testinfra's default
local `host` stands for it); with testinfra's `--hosts` (ssh://, paramiko://,
ansible://inventory) each host is checked, in parallel with pytest-xdist's -n."""

from __future__ import annotations

from typing import Any

import pytest

from prodwall.session import ProdwallRun
from prodwall.verdicts import Observation, Signal


def _check(
    prodwall: ProdwallRun,
    host: Any,
    request: pytest.FixtureRequest,
    aspect: str,
    family: str = "hosts",
    select: Any = None,
    positive_control: Any = None,
) -> None:
    view = prodwall.observe_host(family, host)
    if view.unplaced:
        seen = [Observation("host", view.vantage, Signal.FAILED, view.unplaced)]
        prodwall.conclude(request.node, seen, aspect, positive_control=None, vantage=view.vantage)
        return
    if family == "hosts" and aspect not in view.planned:
        pytest.skip(f"{aspect}: not checked on {view.vantage} ({view.environment or 'vantage'})")
    mine = (select or _by_aspect(aspect))(view.observations)
    control = positive_control(mine) if positive_control else None
    prodwall.conclude(request.node, mine, aspect, positive_control=control, vantage=view.vantage)


def _by_aspect(aspect: str) -> Any:
    return lambda seen: [o for o in seen if o.evidence.get("aspect") == aspect]


# --- dev and test hosts: no implicit jump ------------------------------------------------


@pytest.mark.control("HOST-ETCHOSTS-01")
def test_name_resolution_leads_nowhere_in_production(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    # what the files say is positive evidence either way: no silence to control for
    _check(prodwall, host, request, "name-resolution")


@pytest.mark.control("HOST-SSH-01")
def test_ssh_trust_opens_no_production_host(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "ssh")


@pytest.mark.control("HOST-LIVE-01")
def test_no_live_connection_tunnel_or_mount_reaches_production(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "live")


@pytest.mark.control("HOST-EGRESS-01")
def test_egress_filter_drops_every_flow_to_production(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    # planned where the inventory says the hosts carry one (host_policy.egress_filter);
    # routes toward production are the routes family's (NET-ROUTE-01), asked of the same host
    _check(prodwall, host, request, "egress")


@pytest.mark.control("HOST-KUBE-01")
def test_no_kube_context_points_at_production(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    # the secrets family reads kubeconfig files: its findings are reused, not re-read
    def select(seen: tuple[Observation, ...]) -> list[Observation]:
        kube = [o for o in seen if o.protocol == "kubeconfig" and o.kind == "connection-string"]
        return [*kube, *(o for o in seen if o.kind == "secrets" and o.target == "stores")]

    def canary(mine: list[Observation]) -> bool | None:
        stores = [o for o in mine if o.kind == "secrets"]
        return all(o.evidence.get("canary_found") for o in stores) if stores else None

    view = prodwall.observe_host("hosts", host)
    if not view.unplaced and "name-resolution" not in view.planned:
        pytest.skip(f"kube: not checked on {view.vantage} ({view.environment or 'vantage'})")
    _check(prodwall, host, request, "kube", "secrets", select, canary)


# --- production hosts: the deliberate jump -----------------------------------------------


@pytest.mark.control("HOST-BANNER-01")
def test_production_shows_its_prompt_and_banner(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "banner")


@pytest.mark.control("HOST-PRIV-01")
def test_developers_are_read_only_and_root_has_no_direct_login(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "privilege")


@pytest.mark.control("HOST-BREAKGLASS-01")
def test_break_glass_accounts_are_locked_or_expired(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "break-glass")


@pytest.mark.control("HOST-AUDIT-01")
def test_privileged_commands_are_audited(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "audit")


@pytest.mark.control("HOST-FIM-01")
def test_file_integrity_monitor_is_initialised(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "integrity")


@pytest.mark.control("HOST-LOGS-01")
def test_logs_hold_no_card_number_or_production_secret(
    prodwall: ProdwallRun, host: Any, request: pytest.FixtureRequest
) -> None:
    _check(prodwall, host, request, "logs")

"""Plan expansion and the scope guard; property tests that no probe leaves scope."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, run_cli
from prodwall.errors import ScopeError, VantageError
from prodwall.inventory import load_inventory
from prodwall.inventory.model import Inventory
from prodwall.plan import Plan, Probe
from prodwall.planning import build_plan
from prodwall.scope import guard

TODAY = date(2026, 11, 27)


def _inv(prod_nets: list[str], hosts: dict[str, Any] | None = None, **extra: Any) -> Inventory:
    data: dict[str, Any] = {
        "version": 1,
        "name": "t",
        "environments": {
            "prod": {"tier": "production", "networks": prod_nets, "hosts": hosts or {}},
            "dev": {"tier": "dev", "networks": ["198.18.0.0/24"]},
        },
        "vantages": {"v": {"location": "netns:dev", "environment": "dev"}},
    }
    data.update(extra)
    return Inventory.model_validate(data)


def test_example_plan_counts_and_positive_control() -> None:
    inv = load_inventory(REPO / "inventories" / "example.yaml").inventory
    plan = build_plan(inv, "dev-laptop", TODAY)
    # 8 production addresses x 65,535 TCP ports; 18 common UDP ports x 6 addresses
    assert plan.counts["tcp"] == 6 * 65535
    assert plan.counts["route"] == 2
    controls = plan.of_kind("control")
    assert [(p.target, p.protocol, str(p.ports), p.expect) for p in controls] == [
        ("203.0.113.10", "tcp", "443", "answer"),  # the allowed flow
        ("203.0.113.10", "tcp", "81", "closed"),  # the known-closed port
        ("203.0.113.10", "icmp", "None", "answer"),
        ("192.0.2.6", "udp", "53", "answer"),  # dev's own resolver, not test's
    ]
    assert plan.total == sum(p.count for p in plan.probes)


def test_allowed_flow_into_production_is_a_control_not_an_isolation_probe() -> None:
    hosts = {"mon": {"addresses": ["198.19.0.5"], "services": ["https"]}}
    flow = {
        "from": "dev",
        "to": "mon",
        "services": ["https"],
        "ticket": "C-1",
        "approver": "a",
        "justification": "j",
        "expires": "2030-01-01",
    }
    inv = _inv(["198.19.0.0/24"], hosts, policy={"allowed_flows": [flow]})
    plan = build_plan(inv, "v", TODAY)
    tcp = plan.of_kind("tcp")[0]
    assert 443 not in tcp.ports and len(tcp.ports) == 65534
    # once the flow has expired, port 443 is probed as an isolation probe again
    expired = build_plan(inv, "v", date(2030, 1, 2))
    assert 443 in expired.of_kind("tcp")[0].ports and not expired.of_kind("control")


def test_unknown_vantage_is_named() -> None:
    with pytest.raises(VantageError, match=r"vantage 'nope' is not declared.*declared vantages: v"):
        build_plan(_inv(["198.19.0.0/24"]), "nope", TODAY)


def test_public_production_range_is_refused_unless_allowed() -> None:
    hosts = {"web": {"addresses": ["1.1.1.10"]}}
    with pytest.raises(ScopeError, match=r"tcp 1\.1\.1\.10: public address space"):
        build_plan(_inv(["1.1.1.0/24"], hosts), "v", TODAY)
    plan = build_plan(_inv(["1.1.1.0/24"], hosts, scope={"allow_public": True}), "v", TODAY)
    assert plan.counts["tcp"] == 65535


def test_large_swept_range_is_refused_unless_allowed() -> None:
    probing = {"sweep_networks": True, "tcp_ports": "22"}
    with pytest.raises(ScopeError, match=r"65,536 addresses, over scope.max_network_addresses"):
        build_plan(_inv(["198.19.0.0/16"], probing=probing), "v", TODAY)
    plan = build_plan(
        _inv(["198.19.0.0/16"], probing=probing, scope={"allow_large_ranges": True}), "v", TODAY
    )
    assert plan.counts["tcp"] == 65536


def test_probe_cap_is_enforced_from_inventory_and_caller() -> None:
    hosts = {"db": {"addresses": ["198.19.0.5"]}}
    with pytest.raises(ScopeError, match="over the cap of 1,000"):
        build_plan(_inv(["198.19.0.0/24"], hosts, scope={"max_probes": 1000}), "v", TODAY)
    with pytest.raises(ScopeError, match="over the cap of 500"):
        build_plan(_inv(["198.19.0.0/24"], hosts), "v", TODAY, max_probes=500)


def test_guard_refuses_a_probe_the_planner_should_never_make() -> None:
    inv = _inv(["198.19.0.0/24"], {"db": {"addresses": ["198.19.0.5"]}})
    plan = build_plan(inv, "v", TODAY)
    rogue = Probe("tcp", "198.18.0.7", "prod", "bug")  # the vantage's own dev network
    fake_control = Probe(
        "control", "198.19.0.5", "prod", "bug", "tcp", plan.probes[1].ports, expect="answer"
    )
    with pytest.raises(ScopeError) as info:
        guard(replace(plan, probes=(*plan.probes, rogue, fake_control)), inv)
    assert info.value.refusals == (
        "tcp 198.18.0.7: outside every declared production network",
        "control 198.19.0.5: positive control is not an allowed flow of the inventory",
    )


# --- property: no generated inventory ever yields a probe outside its production scope ---

_v4_prod = st.integers(0, 255).map(lambda i: f"198.19.{i}.0/24")
_v6_prod = st.integers(0, 0xFFFF).map(lambda i: f"fd00:{i:x}::/64")


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    nets = draw(st.lists(st.one_of(_v4_prod, _v6_prod), min_size=1, max_size=4, unique=True))
    hosts: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 5))):
        net = ipaddress.ip_network(draw(st.sampled_from(nets)))
        offset = draw(st.integers(1, 250))
        services = draw(
            st.lists(
                st.sampled_from(["ssh", "dns", "https", "udp/514", "tcp/8443"]),
                max_size=3,
                unique=True,
            )
        )
        hosts[f"h{i}"] = {"addresses": [str(net.network_address + offset)], "services": services}
    shared = {
        "tier": "shared",
        "networks": ["198.18.1.0/24"],
        "hosts": {"mirror": {"addresses": ["198.18.1.10"], "services": ["https"]}},
    }
    flows = []
    if draw(st.booleans()):
        flows.append(
            {
                "from": "dev",
                "to": "mirror",
                "services": ["https"],
                "ticket": "C",
                "approver": "a",
                "justification": "j",
                "expires": "2031-01-01",
            }
        )
    if hosts and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(hosts)))
        if hosts[name]["services"]:
            flows.append(
                {
                    "from": "dev",
                    "to": name,
                    "services": hosts[name]["services"][:1],
                    "ticket": "C",
                    "approver": "a",
                    "justification": "j",
                    "expires": "2031-01-01",
                }
            )
    probing = {
        "sweep_networks": draw(st.booleans()),
        "tcp_ports": draw(st.sampled_from(["1-1024", "22,443", "1-65535"])),
    }
    scope = {"max_network_addresses": 256, "max_probes": 50_000_000}
    return Inventory.model_validate(
        {
            "version": 1,
            "name": "gen",
            "environments": {
                "prod": {"tier": "production", "networks": nets, "hosts": hosts},
                "dev": {"tier": "dev", "networks": ["198.18.0.0/24", "fd01::/64"]},
                "shared": shared,
            },
            "vantages": {"v": {"location": "netns:dev", "environment": "dev"}},
            "policy": {"allowed_flows": flows},
            "probing": probing,
            "scope": scope,
        }
    )


def _in_scope(plan: Plan, inv: Inventory) -> None:
    prod = [ipaddress.ip_network(n) for e in inv.production().values() for n in e.networks]
    flows = {
        str(a)
        for f in inv.policy.allowed_flows
        for a in (inv.host(f.to) or ("", None))[1].addresses
    }  # type: ignore[union-attr]
    for probe in plan.probes:
        if probe.sends != "packets":
            continue
        target = ipaddress.ip_network(probe.target)
        if probe.expect == "answer":
            assert probe.kind == "control" and probe.target in flows
        else:
            assert any(target.version == n.version and target.subnet_of(n) for n in prod), probe


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_no_generated_inventory_yields_a_probe_outside_production(inv: Inventory) -> None:
    try:
        plan = build_plan(inv, "v", TODAY)
    except ScopeError as exc:
        # the only refusals a valid generated inventory may get: /64 sweeps are too large
        assert all("scope.max_network_addresses" in r or "over the cap" in r for r in exc.refusals)
        assert inv.probing.sweep_networks
        return
    _in_scope(plan, inv)
    for probe in plan.probes:  # every single expanded probe stays in scope too
        if probe.sends == "packets" and probe.count < 300:
            for address, _port in probe.expand():
                assert any(
                    ipaddress.ip_address(address) in ipaddress.ip_network(n)
                    for e in inv.environments.values()
                    for n in e.networks
                )


@settings(max_examples=200, deadline=None)
@given(inventories(), st.ip_addresses())
def test_guard_refuses_any_target_outside_production(inv: Inventory, address: Any) -> None:
    try:
        plan = build_plan(inv, "v", TODAY)
    except ScopeError:
        return
    prod = [n for e in inv.production().values() for n in e.networks]
    rogue = Probe("tcp", str(address), "prod", "generated")
    inside = any(address.version == n.version and address in n for n in prod)
    if inside and not address.is_global:
        guard(replace(plan, probes=(*plan.probes, rogue)), inv)
    else:
        with pytest.raises(ScopeError):
            guard(replace(plan, probes=(*plan.probes, rogue)), inv)


def _flow(to: str) -> dict[str, Any]:
    return {
        "from": "dev",
        "to": to,
        "services": ["https"],
        "ticket": "C-9",
        "approver": "a",
        "justification": "j",
        "expires": "2030-01-01",
    }


def test_positive_controls_pass_the_same_guard_as_every_probe() -> None:
    data: dict[str, Any] = {
        "version": 1,
        "name": "t",
        "environments": {
            "prod": {"tier": "production", "networks": ["198.19.0.0/24"]},
            "dev": {"tier": "dev", "networks": ["198.18.0.0/24"]},
            "cdn": {
                "tier": "shared",
                "networks": ["1.1.1.0/24"],
                "hosts": {"mirror": {"addresses": ["1.1.1.1"], "services": ["https"]}},
            },
        },
        "vantages": {"v": {"location": "netns:dev", "environment": "dev"}},
        "policy": {"allowed_flows": [_flow("mirror")]},
    }
    with pytest.raises(ScopeError, match=r"control 1\.1\.1\.1: public address space"):
        build_plan(Inventory.model_validate(data), "v", TODAY)
    # scope.allow_public speaks for production networks in public space: never for a
    # control (a public control while production is private is a side door, #25)
    data["scope"] = {"allow_public": True}
    with pytest.raises(ScopeError, match=r"control 1\.1\.1\.1: public address space; "
                       r"scope.allow_public opens production networks only"):  # fmt: skip
        build_plan(Inventory.model_validate(data), "v", TODAY)


@pytest.mark.parametrize(
    ("net", "says"),
    [
        ("2001::/32", "carries IPv4 addresses it does not fix"),
        ("2001::/16", "contains IPv4-embedding IPv6 space"),
        ("64:ff9b:1::/96", "carries IPv4 addresses it does not fix"),
    ],
)
def test_teredo_and_nat64_local_use_are_judged_by_the_ipv4_they_carry(net: str, says: str) -> None:
    with pytest.raises(ScopeError, match=says):
        build_plan(_inv([net], {}), "v", TODAY)
    # a single Teredo address: its server (1.2.3.4, public) is what a packet reaches first
    teredo = "2001:0:102:304::1"
    with pytest.raises(ScopeError, match=r"carrying 1\.2\.3\.4.*public address space"):
        build_plan(_inv([teredo + "/128"], {"h": {"addresses": [teredo]}}), "v", TODAY)


@pytest.mark.parametrize(
    ("net", "address", "real"),
    [
        ("::ffff:8.8.8.0/120", "::ffff:8.8.8.8", "8.8.8.8/32"),
        ("64:ff9b::808:800/120", "64:ff9b::808:808", "8.8.8.8/32"),
        ("2002:808:808::/48", "2002:808:808::1", "8.8.8.8/32"),
    ],
)
def test_ipv4_written_as_ipv6_is_judged_as_the_ipv4_it_reaches(
    net: str, address: str, real: str
) -> None:
    hosts = {"h": {"addresses": [address]}}
    with pytest.raises(ScopeError, match=r"tcp 8\.8\.8\.8: public address space"):
        build_plan(_inv([net], hosts), "v", TODAY)  # normalised when loaded
    # and the guard re-checks what reaches it, in case a probe still carries the IPv6 form
    inv = _inv(["198.19.0.0/24"], {"h": {"addresses": ["198.19.0.5"]}})
    plan = build_plan(inv, "v", TODAY)
    sneaky = replace(plan.of_kind("tcp")[0], target=address)
    with pytest.raises(ScopeError, match=rf"\(that is {real}\): public address space"):
        guard(replace(plan, probes=(sneaky,)), inv)


def test_a_mapped_private_network_is_the_private_network_it_maps() -> None:
    hosts = {"h": {"addresses": ["::ffff:198.19.20.5"]}}
    inv = _inv(["::ffff:198.19.20.0/120"], hosts)
    # normalised when loaded: the probes go to what the kernel would really send to
    assert [str(n) for n in inv.environments["prod"].networks] == ["198.19.20.0/24"]
    plan = build_plan(inv, "v", TODAY)
    assert [p.target for p in plan.of_kind("tcp")] == ["198.19.20.5"]


@pytest.mark.parametrize(
    ("net", "address", "what"),
    [
        ("127.0.0.0/8", "127.0.0.5", "loopback"),
        ("169.254.0.0/16", "169.254.1.1", "link-local"),
        ("fe80::/64", "fe80::1", "link-local"),
        ("224.0.0.0/24", "224.0.0.5", "multicast"),
        ("240.0.0.0/8", "240.0.0.9", "reserved address space"),
    ],
)
def test_special_ranges_are_not_production_networks(net: str, address: str, what: str) -> None:
    hosts = {"h": {"addresses": [address]}}
    with pytest.raises(ScopeError, match=rf"{what} is not a production network"):
        build_plan(_inv([net], hosts, scope={"allow_public": True}), "v", TODAY)


@pytest.mark.parametrize("net", ["0.0.0.0/0", "::/0"])
def test_the_whole_address_space_is_refused_even_for_route_lookups(net: str) -> None:
    with pytest.raises(ScopeError, match=r"the whole address space is not a production network"):
        build_plan(_inv([net], scope={"allow_public": True}), "v", TODAY)


def test_no_inventory_lifts_the_probe_ceiling_without_the_command_line() -> None:
    hosts = {f"h{i}": {"addresses": [f"198.19.0.{i}"]} for i in range(1, 200)}
    big = _inv(["198.19.0.0/24"], hosts, scope={"max_probes": 50_000_000})  # 13M probes
    with pytest.raises(ScopeError, match=r"ceiling of 10,000,000 only --max-probes \d+ on the"):
        build_plan(big, "v", TODAY)
    plan = build_plan(big, "v", TODAY, max_probes=20_000_000)  # the operator says so
    assert plan.total > 10_000_000
    with pytest.raises(ScopeError, match=r"--max-probes 1000 on the command line set it"):
        build_plan(big, "v", TODAY, max_probes=1000)


AGREE = """\
version: 1
name: t
environments:
  production:
    tier: production
    networks: [NET]
  dev:
    tier: dev
    networks: [198.18.1.0/24]
vantages:
  here:
    location: local
    environment: dev
EXTRA"""


@pytest.mark.parametrize(
    ("net", "extra", "valid"),
    [
        ('"::/0"', "", False),
        ('"64:ff9b:1::/96"', "", False),
        ('"::10.10.0.0/120"', "", False),
        ("127.0.0.0/8", "", False),
        ("169.254.0.0/16", "", False),
        ("224.0.0.0/24", "", False),
        ("255.255.255.255/32", "", False),
        ('"2001::/32"', "", False),
        ("198.19.10.0/24", "secret_scan:\n  paths: [/nonexistent]\n  resolve_hosts: true\n",
         True),
        ("198.19.10.0/24", "", True),
    ],
)  # fmt: skip
def test_validate_refuses_exactly_what_plan_refuses(
    tmp_path: Path, net: str, extra: str, valid: bool
) -> None:
    """A PR check (`validate`) fails where the nightly run (`plan`, `run`) would (#25)."""
    inv = tmp_path / "inv.yaml"
    inv.write_text(AGREE.replace("NET", net).replace("EXTRA", extra))
    validated = run_cli("validate", str(inv))
    planned = run_cli("plan", "-i", str(inv), "--vantage", "here")
    assert (validated.returncode == 0) is valid and (planned.returncode == 0) is valid
    if not valid:
        assert f"{inv}:11: vantages.here: the scope guard would refuse the plan" in (
            validated.stderr)  # fmt: skip


def test_a_probe_to_a_named_dns_server_must_name_one_the_inventory_declares() -> None:
    """Zone transfers to the vantage's own DNS servers go only where the inventory says
    this vantage may go: anything else the guard refuses, as any probe outside scope."""
    lab = load_inventory(REPO / "inventories" / "lab.yaml").inventory
    plan = build_plan(lab, "dev", TODAY)
    ours = [p for p in plan.probes if p.allowed_by == "control-target"]
    assert {p.target for p in ours} == {"198.18.1.1", "fd00:18:1::1"}
    stray = replace(ours[0], target="198.18.2.1")  # the test environment's resolver
    with pytest.raises(ScopeError, match="not a control target of this vantage"):
        guard(replace(plan, probes=(stray,)), lab)

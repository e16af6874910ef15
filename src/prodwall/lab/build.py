"""The lab's network, built: namespaces, veth links, addresses and routes, the
leaky profile's bypass, the runner's management links, the router's nftables."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from prodwall.errors import ProdwallError
from prodwall.lab import keys
from prodwall.lab.firewall import ruleset
from prodwall.lab.topology import (
    ANSIBLE_HOSTS,
    AWS_LINK,
    BYPASS_V4,
    FLEET_ANSIBLE_HOSTS,
    FLEET_HOSTS,
    HOSTS,
    KNOWN_HOSTS,
    LAB_DIR,
    MGMT,
    MGMT_PLEN,
    MGMT_USER,
    ROUTER_NS,
    RUNNER_NS,
    SSH_CONFIG,
    ZONES,
    namespaces,
)


class LabError(ProdwallError):
    """The lab cannot be used here, or failed to come up."""


LAB_SYSCTLS = [
    "net.ipv4.icmp_ratelimit=0",
    "net.ipv6.icmp.ratelimit=0",
    "net.ipv4.icmp_msgs_per_sec=100000",
    "net.ipv4.icmp_msgs_burst=10000",
    # ICMP errors (unreachable, time exceeded) exempt from the kernel's rate limits, the
    # global one included: its token bucket is shared by every namespace, and a router
    # that catches up after being starved of CPU answers in bursts that it suppressed
    # (IcmpOutRateLimitGlobal), which turned refusals into silence and failed controls
    "net.ipv4.icmp_ratemask=0",
    "net.ipv6.icmp.ratemask=",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
]


def run_quiet(*argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise LabError(f"lab step failed: {' '.join(argv)}: {done.stderr.strip()}")


def _management_links() -> None:
    """runner <-> host over a /30 of its own: no route beyond it, in either namespace."""
    for host_name, (runner_addr, host_addr) in MGMT.items():
        zone = ZONES[HOSTS[host_name].zone]
        runner_if = f"mgmt-{zone.name}"
        run_quiet(
            "ip", "link", "add", "mgmt0", "netns", zone.ns, "type", "veth",
            "peer", "name", runner_if, "netns", RUNNER_NS,
        )  # fmt: skip
        run_quiet("ip", "-n", zone.ns, "addr", "add", f"{host_addr}/{MGMT_PLEN}", "dev", "mgmt0")
        run_quiet(
            "ip", "-n", RUNNER_NS, "addr", "add", f"{runner_addr}/{MGMT_PLEN}", "dev", runner_if
        )
        run_quiet("ip", "-n", zone.ns, "link", "set", "mgmt0", "up")
        run_quiet("ip", "-n", RUNNER_NS, "link", "set", runner_if, "up")
    KNOWN_HOSTS.write_text(
        "".join(
            f"{host_addr} {keys.public_line(keys.host_key_purpose(name))}\n"
            for name, (_, host_addr) in MGMT.items()
        )
    )
    aliases = "".join(
        f"Host {name} {host_addr}\n  HostName {host_addr}\n  User {MGMT_USER.get(name, 'root')}\n"
        for name, (_, host_addr) in MGMT.items()
    )
    SSH_CONFIG.write_text(
        aliases + "Host *\n"
        "  User root\n"
        f"  IdentityFile {LAB_DIR / 'keys' / 'client_ed25519'}\n"
        f"  UserKnownHostsFile {KNOWN_HOSTS}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 5\n"
    )
    ANSIBLE_HOSTS.write_text(_ansible_inventory(("dev-ws", "test-ci", "prod-db"), by="zone"))
    FLEET_ANSIBLE_HOSTS.write_text(_ansible_inventory(FLEET_HOSTS, by="tier"))


def _ansible_inventory(names: tuple[str, ...], by: str) -> str:
    """An Ansible inventory of lab hosts over their management links, grouped by zone
    (dev, test, prod) or by tier (the fleet's dev and test groups)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        zone = ZONES[HOSTS[name].zone]
        groups.setdefault(zone.name if by == "zone" else zone.tier, []).append(name)
    return (
        "all:\n  vars:\n"
        "    ansible_connection: ssh\n"
        "    ansible_python_interpreter: /usr/bin/python3\n"
        f"    ansible_ssh_common_args: -F {SSH_CONFIG}\n"
        "  children:\n"
        + "".join(
            f"    {group}:\n      hosts:\n"
            + "".join(
                f"        {name}:\n"
                f"          ansible_host: {MGMT[name][1]}\n"
                f"          ansible_user: {MGMT_USER.get(name, 'root')}\n"
                for name in members
            )
            for group, members in groups.items()
        )
    )


def _aws_link() -> None:
    """runner <-> the shared namespace's AWS endpoint, over a /30 of its own."""
    shared = ZONES["shared"].ns
    runner_addr, api_addr = AWS_LINK
    run_quiet("ip", "link", "add", "api0", "netns", shared, "type", "veth",
              "peer", "name", "api-shared", "netns", RUNNER_NS)
    run_quiet("ip", "-n", shared, "addr", "add", f"{api_addr}/{MGMT_PLEN}", "dev", "api0")
    run_quiet("ip", "-n", RUNNER_NS, "addr", "add", f"{runner_addr}/{MGMT_PLEN}", "dev",
              "api-shared")
    run_quiet("ip", "-n", shared, "link", "set", "api0", "up")
    run_quiet("ip", "-n", RUNNER_NS, "link", "set", "api-shared", "up")


def build_network(profile: str, progress: Callable[[str], None]) -> None:
    """Everything of the lab that is kernel state, in the order it depends on."""
    progress("namespaces and links")
    for ns in namespaces():
        run_quiet("ip", "netns", "add", ns)
        run_quiet("ip", "-n", ns, "link", "set", "lo", "up")
        run_quiet("ip", "netns", "exec", ns, "sysctl", "-q", "-w", *LAB_SYSCTLS)
    run_quiet(
        "ip",
        "netns",
        "exec",
        ROUTER_NS,
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        # a router has no TCP sockets to demultiplex early; the lookup cost ~5% of a sweep
        "net.ipv4.tcp_early_demux=0",
    )
    for zone in ZONES.values():
        run_quiet(
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            zone.ns,
            "type",
            "veth",
            "peer",
            "name",
            zone.router_if,
            "netns",
            ROUTER_NS,
        )
        run_quiet(
            "ip", "-n", ROUTER_NS, "addr", "add", f"{zone.gateway4}/24", "dev", zone.router_if
        )
        run_quiet(
            "ip",
            "-n",
            ROUTER_NS,
            "addr",
            "add",
            f"{zone.gateway6}/64",
            "dev",
            zone.router_if,
            "nodad",
        )
        for host in (h for h in HOSTS.values() if h.zone == zone.name):
            run_quiet("ip", "-n", zone.ns, "addr", "add", f"{host.v4()}/24", "dev", "eth0")
            run_quiet("ip", "-n", zone.ns, "addr", "add", f"{host.v6()}/64", "dev", "eth0", "nodad")
        for ns, dev in ((zone.ns, "eth0"), (ROUTER_NS, zone.router_if)):
            run_quiet("ip", "-n", ns, "link", "set", dev, "up")
        # No default route anywhere: only the lab's own ranges, via the router.
        run_quiet("ip", "-n", zone.ns, "route", "add", "198.18.0.0/15", "via", zone.gateway4)
        run_quiet("ip", "-n", zone.ns, "-6", "route", "add", "fd00::/8", "via", zone.gateway6)
    progress("management links runner -> dev and test hosts (ssh only)")
    _management_links()
    _aws_link()
    if profile == "leaky":
        progress("planting the bypass link test -> prod")
        test, prod = ZONES["test"], ZONES["prod"]
        a, b, plen = BYPASS_V4
        run_quiet(
            "ip",
            "link",
            "add",
            "eth1",
            "netns",
            test.ns,
            "type",
            "veth",
            "peer",
            "name",
            "eth1",
            "netns",
            prod.ns,
        )
        run_quiet("ip", "-n", test.ns, "addr", "add", f"{a}/{plen}", "dev", "eth1")
        run_quiet("ip", "-n", prod.ns, "addr", "add", f"{b}/{plen}", "dev", "eth1")
        run_quiet("ip", "-n", test.ns, "link", "set", "eth1", "up")
        run_quiet("ip", "-n", prod.ns, "link", "set", "eth1", "up")
        # only prod-web: the firewall's own holes stay observable on their own
        run_quiet("ip", "-n", test.ns, "route", "add", f"{HOSTS['prod-web'].v4()}/32", "via", b)
    progress("nftables ruleset on the router")
    run_quiet("ip", "netns", "exec", ROUTER_NS, "nft", "-f", "-", stdin=ruleset(profile))

"""`prodwall lab up|down|status`: build, inspect and remove the built-in lab.

Everything the lab makes is found again by name (namespaces `pwlab-*`,
/etc/netns/pwlab-*, the lab folder), so `down` cleans up after a crash or a
killed run as well as after a clean `up`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ProdwallError
from . import keys, leaks, services
from .firewall import ruleset
from .topology import (
    BYPASS_V4,
    HOSTS,
    KNOWN_HOSTS,
    LAB_DIR,
    MGMT,
    MGMT_PLEN,
    NETNS_ETC,
    PREFIX,
    ROUTER_NS,
    RUNNER_NS,
    SSH_CONFIG,
    VANTAGE_PYTHON,
    ZONES,
    namespaces,
)

PROFILES = ("sealed", "leaky")
STATE = LAB_DIR / "state.json"
REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nft": "nftables",
    "dnsmasq": "dnsmasq",
    "sshd": "openssh-server",
    "ss": "iproute2",
}
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
READY_TIMEOUT_S = 10.0

Progress = Callable[[str], None]


class LabError(ProdwallError):
    """The lab cannot be used here, or failed to come up."""


@dataclass(frozen=True)
class LabStatus:
    profile: str | None
    namespaces: tuple[str, ...]
    services: dict[str, bool]  # service name -> all its sockets are listening

    @property
    def up(self) -> bool:
        return bool(self.namespaces)

    @property
    def healthy(self) -> bool:
        return (
            set(self.namespaces) == set(namespaces())
            and bool(self.services)
            and all(self.services.values())
        )


def require_root() -> None:
    if not sys.platform.startswith("linux"):
        raise LabError("the lab needs Linux network namespaces; this is " + sys.platform)
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (network namespaces, nftables, sshd): run it as "
            "root, e.g. `sudo make demo` or `sudo .venv/bin/prodwall lab up`"
        )
    missing = sorted(
        {
            pkg
            for tool, pkg in REQUIRED_TOOLS.items()
            if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}")
        }
    )
    if missing:
        raise LabError(
            f"the lab needs these Debian packages: {' '.join(missing)} "
            f"(apt-get install {' '.join(missing)}; `make demo` installs them)"
        )


def _run(*argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise LabError(f"lab step failed: {' '.join(argv)}: {done.stderr.strip()}")


def lab_namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{PREFIX}-")]


def status() -> LabStatus:
    present = tuple(lab_namespaces())
    profile = None
    if STATE.exists():
        try:
            profile = json.loads(STATE.read_text()).get("profile")
        except (OSError, json.JSONDecodeError):
            profile = None
    health: dict[str, bool] = {}
    if present and profile in PROFILES:
        bound = {ns: services.listening(ns) for ns in present}
        for svc in services.plan_services(profile):
            health[svc.name] = set(svc.listens) <= bound.get(svc.ns, set())
    return LabStatus(profile, present, health)


def up(profile: str, progress: Progress = lambda _m: None) -> LabStatus:
    if profile not in PROFILES:
        raise LabError(f"unknown lab profile '{profile}': use one of {', '.join(PROFILES)}")
    require_root()
    current = status()
    if current.profile == profile and current.healthy and _recorded_build() == build_id(profile):
        progress(f"lab already up ({profile})")
        return current
    if current.up or LAB_DIR.exists():
        progress("removing the previous lab")
        down()
    started = time.monotonic()
    try:
        _build(profile, progress)
    except BaseException:
        down()  # nothing half-built stays behind
        raise
    progress(f"lab up ({profile}) in {time.monotonic() - started:.1f} s")
    return status()


def _build(profile: str, progress: Progress) -> None:
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps({"profile": profile, "building": True}))
    progress("namespaces and links")
    for ns in namespaces():
        _run("ip", "netns", "add", ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", *LAB_SYSCTLS)
    _run(
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
        _run(
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
        _run("ip", "-n", ROUTER_NS, "addr", "add", f"{zone.gateway4}/24", "dev", zone.router_if)
        _run(
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
            _run("ip", "-n", zone.ns, "addr", "add", f"{host.v4()}/24", "dev", "eth0")
            _run("ip", "-n", zone.ns, "addr", "add", f"{host.v6()}/64", "dev", "eth0", "nodad")
        for ns, dev in ((zone.ns, "eth0"), (ROUTER_NS, zone.router_if)):
            _run("ip", "-n", ns, "link", "set", dev, "up")
        # No default route anywhere: only the lab's own ranges, via the router.
        _run("ip", "-n", zone.ns, "route", "add", "198.18.0.0/15", "via", zone.gateway4)
        _run("ip", "-n", zone.ns, "-6", "route", "add", "fd00::/8", "via", zone.gateway6)
    progress("management links runner -> dev and test hosts (ssh only)")
    _management_links()
    if profile == "leaky":
        progress("planting the bypass link test -> prod")
        test, prod = ZONES["test"], ZONES["prod"]
        a, b, plen = BYPASS_V4
        _run(
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
        _run("ip", "-n", test.ns, "addr", "add", f"{a}/{plen}", "dev", "eth1")
        _run("ip", "-n", prod.ns, "addr", "add", f"{b}/{plen}", "dev", "eth1")
        _run("ip", "-n", test.ns, "link", "set", "eth1", "up")
        _run("ip", "-n", prod.ns, "link", "set", "eth1", "up")
        # only prod-web: the firewall's own holes stay observable on their own
        _run("ip", "-n", test.ns, "route", "add", f"{HOSTS['prod-web'].v4()}/32", "via", b)
    progress("nftables ruleset on the router")
    _run("ip", "netns", "exec", ROUTER_NS, "nft", "-f", "-", stdin=ruleset(profile))
    progress("host files")
    _write_files(profile)
    services.write_sshd_configs()
    progress("services: sshd, dnsmasq, listeners")
    planned = services.plan_services(profile)
    pids = {svc.name: services.start(svc) for svc in planned}
    STATE.write_text(json.dumps({"profile": profile, "pids": pids, "build": build_id(profile)}))
    _wait_ready(planned)


def _management_links() -> None:
    """runner <-> host over a /30 of its own: no route beyond it, in either namespace."""
    for host_name, (runner_addr, host_addr) in MGMT.items():
        zone = ZONES[HOSTS[host_name].zone]
        runner_if = f"mgmt-{zone.name}"
        _run(
            "ip", "link", "add", "mgmt0", "netns", zone.ns, "type", "veth",
            "peer", "name", runner_if, "netns", RUNNER_NS,
        )  # fmt: skip
        _run("ip", "-n", zone.ns, "addr", "add", f"{host_addr}/{MGMT_PLEN}", "dev", "mgmt0")
        _run("ip", "-n", RUNNER_NS, "addr", "add", f"{runner_addr}/{MGMT_PLEN}", "dev", runner_if)
        _run("ip", "-n", zone.ns, "link", "set", "mgmt0", "up")
        _run("ip", "-n", RUNNER_NS, "link", "set", runner_if, "up")
    (LAB_DIR / "bin").mkdir(parents=True, exist_ok=True)
    VANTAGE_PYTHON.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    VANTAGE_PYTHON.chmod(0o755)
    KNOWN_HOSTS.write_text(
        "".join(
            f"{host_addr} {keys.public_line(keys.host_key_purpose(name))}\n"
            for name, (_, host_addr) in MGMT.items()
        )
    )
    SSH_CONFIG.write_text(
        "Host *\n"
        "  User root\n"
        f"  IdentityFile {LAB_DIR / 'keys' / 'client_ed25519'}\n"
        f"  UserKnownHostsFile {KNOWN_HOSTS}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 5\n"
    )


def build_id(profile: str) -> str:
    """Changes whenever what `up` would build changes, so a stale lab is rebuilt."""
    parts = [
        profile,
        ruleset(profile),
        repr(sorted(HOSTS.items())),
        repr(sorted(ZONES.items())),
        repr(services.plan_services(profile)),
        repr(BYPASS_V4),
        repr(sorted(MGMT.items())),
        sys.executable,
        *(repr(sorted(leaks.host_files(h, profile).items())) for h in HOSTS),
        *(repr(sorted(leaks.etc_files(z, profile).items())) for z in ZONES),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _recorded_build() -> str | None:
    try:
        build = json.loads(STATE.read_text()).get("build")
    except (OSError, json.JSONDecodeError):
        return None
    return str(build) if build else None


def _write_files(profile: str) -> None:
    for zone in ZONES.values():
        etc = NETNS_ETC / zone.ns
        etc.mkdir(parents=True, exist_ok=True)
        for name, text in leaks.etc_files(zone.name, profile).items():
            (etc / name).write_text(text)
    for host in HOSTS:
        root = services.host_root(host)
        for sub in ("root", "srv"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        for path, text in leaks.host_files(host, profile).items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(0o600)


def _wait_ready(planned: list[services.Service]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        bound = {ns: services.listening(ns) for ns in {s.ns for s in planned}}
        missing = [s for s in planned if not set(s.listens) <= bound[s.ns]]
        if not missing:
            return
        if time.monotonic() > deadline:
            names = ", ".join(s.name for s in missing)
            raise LabError(
                f"lab services did not start within {READY_TIMEOUT_S:.0f} s: {names} "
                f"(see {LAB_DIR / 'logs'})"
            )
        time.sleep(0.1)


def down(progress: Progress = lambda _m: None) -> list[str]:
    """Remove everything the lab made; return what was removed."""
    require_root()
    removed: list[str] = []
    for ns in lab_namespaces():
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True
        ).stdout.split()
        _kill([int(p) for p in pids if p.isdigit()])
        removed += [f"process {p} in {ns}" for p in pids]
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        removed.append(f"namespace {ns}")
    if NETNS_ETC.exists():
        for etc in NETNS_ETC.glob(f"{PREFIX}-*"):
            shutil.rmtree(etc, ignore_errors=True)
            removed.append(str(etc))
        with contextlib.suppress(OSError):
            NETNS_ETC.rmdir()  # only if empty: other tools may keep their views there
    if LAB_DIR.exists():
        shutil.rmtree(LAB_DIR, ignore_errors=True)
        removed.append(str(LAB_DIR))
    left = lab_namespaces()
    if left:
        raise LabError(f"could not remove lab namespaces: {', '.join(left)}")
    progress(f"lab down: removed {len(removed)} items")
    return removed


def _kill(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                continue
        if not alive:
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(_alive(p) for p in alive):
            time.sleep(0.05)
        pids = [p for p in alive if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (our own child that exited) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False

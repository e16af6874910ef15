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
from pathlib import Path

from prodwall.lab import cloud_estate, leaks, prodhost, services
from prodwall.lab.build import LabError, build_network
from prodwall.lab.firewall import ruleset
from prodwall.lab.hostguard import guard_host_routes, unguard_host_routes
from prodwall.lab.topology import (
    BYPASS_V4,
    HOSTS,
    LAB_DIR,
    MGMT,
    NETNS_ETC,
    PREFIX,
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
# how long a service may take to come up before `lab up` gives up: a deadline, not a
# wait (readiness is polled), generous so that a loaded machine is slow, not failed
READY_TIMEOUT_S = float(os.environ.get("PRODWALL_LAB_READY_S", "120"))
KEPT_LOGS = LAB_DIR.parent / "prodwall-lab-failed"  # a failed `lab up` keeps its logs here

Progress = Callable[[str], None]


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
    except LabError as exc:
        kept = keep_logs()  # before down(): the message must point at logs that still exist
        down()  # nothing half-built stays behind
        raise LabError(str(exc).replace(str(LAB_DIR / "logs"), str(kept))) from None
    except BaseException:
        down()
        raise
    progress(f"lab up ({profile}) in {time.monotonic() - started:.1f} s")
    return status()


def _build(profile: str, progress: Progress) -> None:
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps({"profile": profile, "building": True}))
    progress("host routes: the lab's ranges unreachable from the host's own namespace")
    guard_host_routes()
    build_network(profile, progress)
    progress("host files")
    _write_files(profile)
    services.write_sshd_configs(profile)
    progress("services: sshd, dnsmasq, listeners")
    planned = services.plan_services(profile)
    pids = {svc.name: services.start(svc) for svc in planned}
    STATE.write_text(json.dumps({"profile": profile, "pids": pids, "build": build_id(profile)}))
    _wait_ready(planned)
    if profile == "sealed":
        _wait_auditd()


def _wait_auditd() -> None:
    """The sealed production host's auditd has registered with the kernel."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    said = ""
    while time.monotonic() < deadline:
        said = subprocess.run(["auditctl", "-s"], capture_output=True, text=True).stdout
        if any(
            line.split()[:1] == ["pid"] and line.split()[1] != "0" for line in said.splitlines()
        ):
            return
        time.sleep(0.1)
    raise LabError(f"auditd did not start on prod-db (see {LAB_DIR / 'logs'}): {said.strip()}")


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
        *(repr(sorted(leaks.host_files(h, profile).items())) for h in HOSTS),
        *(repr(sorted(leaks.etc_files(z, profile).items())) for z in ZONES),
        repr(sorted(prodhost.etc_files(profile).items())),
        repr(prodhost.log_files(profile)),
        repr(sorted(cloud_estate.runner_files().items())),
        repr(cloud_estate.READ_ONLY),
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
    prodhost.write(profile)
    runner_aws = LAB_DIR / "aws"  # the runner's own AWS key: the audit roles' entry
    runner_aws.mkdir(parents=True, exist_ok=True)
    for name, text in cloud_estate.runner_files().items():
        (runner_aws / name).write_text(text)
        (runner_aws / name).chmod(0o600)
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


def keep_logs() -> Path:
    """The lab's logs copied out of LAB_DIR (which down() removes): where they now are."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = KEPT_LOGS / f"prodwall-lab-failed-{stamp}-{os.getpid()}"
    source = LAB_DIR / "logs"
    if source.is_dir():
        shutil.copytree(source, kept, symlinks=True, dirs_exist_ok=True)
    else:
        kept.mkdir(parents=True, exist_ok=True)
        (kept / "NO-LOGS").write_text(f"{source} did not exist when lab up failed\n")
    return kept


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
    prodhost.remove_audit_rules()  # the lab's own rules, by their key; auditd was killed above
    removed += unguard_host_routes()
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

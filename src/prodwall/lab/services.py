"""Start the lab's real services inside their namespaces: sshd, dnsmasq, listeners."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prodwall.lab import keys, prodhost
from prodwall.lab.topology import (
    AWS_PORT,
    DOMAIN,
    HOSTS,
    LAB_DIR,
    MGMT,
    ROUTER_NS,
    ZONES,
    LabHost,
    hosts_in,
)


@dataclass(frozen=True)
class Service:
    name: str
    ns: str
    argv: tuple[str, ...]
    listens: tuple[tuple[str, str, int], ...]  # (tcp|udp, address, port) it must bind


def host_root(host: str) -> Path:
    return LAB_DIR / "hosts" / host


def host_view(host: str, argv: list[str]) -> list[str]:
    """argv run inside the host: its namespace, its /root and /srv (own mount namespace)."""
    h = HOSTS[host]
    root = host_root(host)
    script = f"mount --bind {root / 'root'} /root && mount --bind {root / 'srv'} /srv && "
    if host == prodhost.HOST:
        script += prodhost.mount_script()
    script += 'exec "$@"'
    # A PID namespace of its own (and its own /proc), as a real host has: the fleet runs
    # on every host at once, and one host's sessions (test-ci's carries a production key
    # in its environment) must not show in another host's process scan. Not prod-db: its
    # audit daemon runs beside its sshd, and its host checks must see it.
    own_pids = (
        [] if host == prodhost.HOST
        else ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    )  # --kill-child: stopping the recorded pid stops the host
    return ["ip", "netns", "exec", ZONES[h.zone].ns, *own_pids, "sh", "-c", script, "sh", *argv]


def plan_services(profile: str) -> list[Service]:
    out: list[Service] = []
    for zone in ZONES.values():
        tcp = [(h, p) for h in hosts_in(zone.name) for p in h.tcp]
        udp = [(h, p) for h in hosts_in(zone.name) for p in h.udp]
        if tcp or udp:
            argv = [sys.executable, "-m", "prodwall.lab.listener"]
            listens: list[tuple[str, str, int]] = []
            for proto, pairs in (("tcp", tcp), ("udp", udp)):
                for h, port in pairs:
                    for addr in (h.v4(), h.v6()):
                        argv += [f"--{proto}", f"{addr},{port}"]
                        listens.append((proto, addr, port))
            out.append(Service(f"listener-{zone.name}", zone.ns, tuple(argv), tuple(listens)))
    out.append(Service(
        "aws-moto", ZONES["shared"].ns,
        (sys.executable, "-m", "prodwall.lab.cloud_server", "--profile", profile,
         "--port", str(AWS_PORT)),
        (("tcp", "0.0.0.0", AWS_PORT),),  # noqa: S104 - inside the lab namespace
    ))
    if profile == "sealed":  # the production host's audit daemon, in its namespace
        argv = host_view(prodhost.HOST, prodhost.auditd_argv())[4:]
        out.append(Service("auditd-prod-db", ZONES["prod"].ns, tuple(argv), ()))
    for host in HOSTS.values():
        if host.sshd:
            out.append(_sshd(host))
        if host.dns:
            out.append(
                _dnsmasq(
                    f"dns-{host.name}",
                    ZONES[host.zone].ns,
                    [host.v4(), host.v6()],
                    _records([h for h in HOSTS.values() if h.zone == host.zone]),
                    ZONES[host.zone].domain,
                )
            )
    for zone in ZONES.values():
        if zone.name == "prod":
            continue
        visible = [h for h in HOSTS.values() if h.zone in (zone.name, "shared")]
        if profile == "leaky" and zone.name == "dev":
            visible += hosts_in("prod")  # planted: the dev view answers production names
        out.append(
            _dnsmasq(
                f"dns-view-{zone.name}",
                ROUTER_NS,
                [zone.gateway4, zone.gateway6],
                _records(visible),
                DOMAIN,
            )
        )
    return out


def _records(hosts: list[LabHost]) -> list[str]:
    return [f"--host-record={h.fqdn()},{h.v4()},{h.v6()}" for h in hosts]


def _dnsmasq(name: str, ns: str, addrs: list[str], records: list[str], local: str) -> Service:
    argv = (
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--pid-file",
        "--log-facility=-",
        "--user=root",
        f"--local=/{local}/",
        *(f"--listen-address={a}" for a in addrs),
        *records,
    )
    listens = tuple((proto, a, 53) for a in addrs for proto in ("udp", "tcp"))
    return Service(name, ns, argv, listens)


def _sshd(host: LabHost) -> Service:
    cfg = LAB_DIR / "sshd" / f"{host.name}.conf"
    argv = host_view(
        host.name,
        [
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /run && mkdir -m 755 "
            f"/run/sshd && exec /usr/sbin/sshd -D -e -f {cfg}",
        ],
    )
    listens = tuple(("tcp", a, 22) for a in (host.v4(), host.v6(), *_mgmt(host.name)))
    return Service(f"sshd-{host.name}", ZONES[host.zone].ns, tuple(argv[4:]), listens)


def _mgmt(host: str) -> tuple[str, ...]:
    """The host's address on the runner's management link, if it has one."""
    return (MGMT[host][1],) if host in MGMT else ()


def write_sshd_configs(profile: str) -> None:
    key_dir = LAB_DIR / "keys"
    client = keys.write_private(keys.CLIENT, key_dir / "client_ed25519")
    (key_dir / "authorized_keys").write_text(client.with_name(client.name + ".pub").read_text())
    for host in HOSTS.values():
        if not host.sshd:
            continue
        hk = keys.write_private(keys.host_key_purpose(host.name), key_dir / f"{host.name}_host")
        cfg = LAB_DIR / "sshd" / f"{host.name}.conf"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(
            "\n".join(
                [
                    f"ListenAddress {host.v4()}",
                    f"ListenAddress {host.v6()}",
                    *(f"ListenAddress {a}" for a in _mgmt(host.name)),
                    "Port 22",
                    f"HostKey {hk}",
                    "PidFile none",
                    "UsePAM no",
                    "StrictModes no",
                    *(
                        prodhost.sshd_lines(profile)
                        if host.name == prodhost.HOST
                        else ["PermitRootLogin prohibit-password", "PasswordAuthentication no"]
                    ),
                    "KbdInteractiveAuthentication no",
                    f"AuthorizedKeysFile {key_dir}/authorized_keys",
                    "PermitUserEnvironment yes",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )


def start(service: Service) -> int:
    log_dir = LAB_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{service.name}.log").open("ab")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", service.ns, *service.argv],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return proc.pid


def listening(ns: str) -> set[tuple[str, str, int]]:
    """(proto, address, port) of every listening socket in a namespace."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "ss", "-Hlntu"], capture_output=True, text=True, timeout=10
    ).stdout
    found = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        addr, _, port = parts[4].rpartition(":")
        addr = addr.strip("[]").split("%")[0]
        if port.isdigit():
            found.add((parts[0], addr, int(port)))
    return found


def describe(service: Service) -> str:
    return f"{service.name} in {service.ns}: {shlex.join(service.argv)[:120]}"

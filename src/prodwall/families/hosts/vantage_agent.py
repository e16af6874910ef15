"""The hosts agent: reads, at the vantage's host, /etc/hosts, resolv.conf, the ssh client
configs, known_hosts files and ssh private keys (only their public fingerprints leave).
A file that exists but cannot be read is named; a file that does not exist is simply
not there (a host without ~/.ssh/config has no Host entries)."""

from __future__ import annotations

import base64
import binascii
import glob
import hashlib
import os
import re
from typing import Any

from prodwall.families.hosts import guard, live, netstate
from prodwall.families.hosts.reader import Reader
from prodwall.families.hosts.records import (
    HostsJob,
    HostsResult,
    KeyFile,
    KnownHost,
    NameEntry,
    SshHost,
)
from prodwall.families.secrets.creds import openssh_public

SYSTEM_SSH_CONFIG = "/etc/ssh/ssh_config"
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


def run(raw_job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = collect(HostsJob.from_json(raw_job)).to_json()
    return out


def collect(job: HostsJob) -> HostsResult:
    r = Reader([], [])
    homes = [*job.home_dirs, *sorted(glob.glob("/home/*"))]
    hosts = r.text("/etc/hosts")
    resolv = r.text("/etc/resolv.conf")
    ssh_hosts: list[SshHost] = []
    known: list[KnownHost] = []
    keys: list[KeyFile] = []
    for path in [SYSTEM_SSH_CONFIG, *(os.path.join(h, ".ssh", "config") for h in homes)]:
        text = r.text(path)
        if text is not None:
            ssh_hosts += ssh_config(path, text)
    for path in [SYSTEM_KNOWN_HOSTS, *(os.path.join(h, ".ssh", "known_hosts") for h in homes)]:
        text = r.text(path)
        if text is not None:
            known += known_hosts(path, text)
    for home in homes:
        for path in sorted(glob.glob(os.path.join(home, ".ssh", "*"))):
            if path.endswith((".pub", "known_hosts", "config", "authorized_keys")):
                continue
            text = r.text(path) if os.path.isfile(path) else None
            if text and "BEGIN OPENSSH PRIVATE KEY" in text:
                body = "".join(text.split("-----")[2].split())
                fp = openssh_public("OPENSSH PRIVATE KEY", body)
                if fp:
                    keys.append(KeyFile(path=path, public_fingerprint=fp))
    resolved = _resolved(r)
    unreadable = list(r.unreadable)
    conns = live.connections(unreadable)
    mounted = live.mounts(unreadable)
    rulesets = netstate.rulesets() if job.egress else []
    production = None
    if job.production:
        production = guard.collect(job, Reader(unreadable, r.read))
    return HostsResult(
        rulesets=tuple(rulesets),
        production=production,
        connections=tuple(conns),
        mounts=tuple(mounted),
        tunnels=tuple(live.tunnels()),
        etc_hosts=tuple(etc_hosts(hosts or "")),
        resolvers=tuple(dict.fromkeys([*nameservers(resolv or ""), *resolved])),
        ssh_hosts=tuple(ssh_hosts),
        known_hosts=tuple(known),
        keys=tuple(keys),
        read=tuple(r.read),
        unreadable=tuple(unreadable),
    )


RESOLVED = ("/run/systemd/resolve/resolv.conf", "/etc/systemd/resolved.conf")


def _resolved(r: Reader) -> list[str]:
    """systemd-resolved's upstream servers: its generated resolv.conf (what it uses now)
    and DNS=/FallbackDNS= of its configuration, drop-ins included."""
    out = nameservers(r.text(RESOLVED[0]) or "")
    for path in [RESOLVED[1], *sorted(glob.glob("/etc/systemd/resolved.conf.d/*.conf"))]:
        for line in (r.text(path) or "").splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("DNS", "FallbackDNS"):
                out += [v.split("#", 1)[0].split("%", 1)[0] for v in value.split()]
    return out


def etc_hosts(text: str) -> list[NameEntry]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if len(words) >= 2:
            out.append(NameEntry(address=words[0], names=tuple(words[1:]), line=number))
    return out


def nameservers(text: str) -> list[str]:
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.strip().startswith("nameserver") and len(line.split()) > 1
    ]


def ssh_config(path: str, text: str) -> list[SshHost]:
    """Host blocks with HostName, ProxyJump, ProxyCommand and ForwardAgent (ssh_config(5):
    keywords are case-insensitive, `key value` or `key=value`)."""
    out: list[SshHost] = []
    current: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.+?)\s*$", line.split("#", 1)[0])
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2)
        if key in ("host", "match"):
            if current is not None:
                out.append(SshHost(**current))
            current = {"file": path, "line": number, "patterns": tuple(value.split())}
            continue
        if current is None:
            current = {"file": path, "line": number, "patterns": ("*",)}
        if key == "hostname":
            current["hostname"] = value
        elif key == "proxyjump":
            current["proxy_jump"] = value
        elif key == "proxycommand":
            current["proxy_command"] = value
        elif key == "forwardagent":
            current["forward_agent"] = value.lower() in ("yes", "true")
    if current is not None:
        out.append(SshHost(**current))
    return out


def known_hosts(path: str, text: str) -> list[KnownHost]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].startswith("@"):  # @cert-authority / @revoked markers
            words = words[1:]
        if len(words) < 3:
            continue
        hosts = words[0].split(",")
        out.append(
            KnownHost(
                file=path,
                line=number,
                names=tuple(h for h in hosts if not h.startswith("|1|")),
                hashed=tuple(h for h in hosts if h.startswith("|1|")),
                key_fingerprint=_key_fingerprint(words[2]),
            )
        )
    return out


def _key_fingerprint(blob: str) -> str:
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")

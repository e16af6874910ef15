"""Live state of the host: established TCP connections, network mounts and running
forwarders, read from /proc (standard library only: it travels in the agent file)."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct

from prodwall.families.hosts.records import Connection, Mount, Tunnel, Unread

# an open socket whose peer answered: established, or half-closed by the peer (CLOSE_WAIT)
OPEN_STATES = {"01": "established", "08": "close-wait"}
NETWORK_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "9p")
FORWARDERS = ("ssh", "autossh", "socat", "kubectl", "sshuttle", "ncat", "stunnel")
_HOSTLIKE = re.compile(
    r"^(?:[A-Za-z0-9_.-]+@)?"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9.-]+|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?::\d+)?$"
)


def connections(unreadable: list[Unread]) -> list[Connection]:
    out = []
    for path, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        except OSError as exc:
            unreadable.append(Unread(what=path, why=exc.strerror or type(exc).__name__))
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] not in OPEN_STATES:
                continue
            local, remote = fields[1], fields[2]
            address, port = _address(remote, v6)
            out.append(
                Connection(
                    remote=address,
                    port=port,
                    local_port=int(local.split(":")[1], 16),
                    state=OPEN_STATES[fields[3]],
                )
            )
    return out


def _address(text: str, v6: bool) -> tuple[str, int]:
    """/proc/net/tcp's hex address (little-endian 32-bit words) and port."""
    hexaddr, hexport = text.split(":")
    raw = bytes.fromhex(hexaddr)
    words = b"".join(struct.pack("<I", w) for w in struct.unpack(f">{len(raw) // 4}I", raw))
    if not v6:
        return socket.inet_ntop(socket.AF_INET, words), int(hexport, 16)
    address = ipaddress.IPv6Address(words)
    mapped = address.ipv4_mapped
    return str(mapped if mapped is not None else address), int(hexport, 16)


def mounts(unreadable: list[Unread]) -> list[Mount]:
    try:
        with open("/proc/mounts") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        unreadable.append(Unread(what="/proc/mounts", why=exc.strerror or type(exc).__name__))
        return []
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[2] in NETWORK_FS:
            source = fields[0]
            host = source.split(":", 1)[0].lstrip("/").split("/", 1)[0].split("@")[-1]
            out.append(Mount(source=host, fstype=fields[2], mountpoint=fields[1]))
    return out


def tunnels() -> list[Tunnel]:
    """Forwarders by their program name; of their command lines only host-like words
    (user@host, host:port, the host of an -L/-R spec) are kept."""
    out = []
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if not args:
            continue
        program = os.path.basename(args[0])
        forwarding = (
            program in FORWARDERS
            and (program != "ssh" or any(a.startswith(("-L", "-R", "-D", "-W")) for a in args))
            and (program != "kubectl" or "port-forward" in args)
        )
        agent = program == "ssh" and any(
            a == "-A" or (a.startswith("-") and not a.startswith("-o") and "A" in a[1:] and
                          a[1:].isalpha()) or a.lower().replace(" ", "") in
            ("forwardagent=yes", "-oforwardagent=yes")
            for a in args[1:]
        )  # fmt: skip
        if not forwarding and not agent:
            continue
        hosts: list[str] = []
        for arg in args[1:]:
            for part in re.split(r"[:,=]", arg) if ":" in arg and "@" not in arg else [arg]:
                m = _HOSTLIKE.match(part)
                if m:
                    hosts.append(m.group(1).strip("[]"))
        out.append(Tunnel(pid=pid, program=program, hosts=tuple(dict.fromkeys(hosts)),
                          agent_forwarding=agent))  # fmt: skip
    return out

"""What the hosts agent answers: facts read on the host, nothing judged. Standard
library only (it travels). Hashed known_hosts entries cross as their salt and hash:
the runner hashes production's names and addresses to compare."""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import Record


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class HostsJob(Record):
    home_dirs: tuple[str, ...] = ("/root",)  # plus /home/* found at the host


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class NameEntry(Record):
    """One line of /etc/hosts."""

    address: str
    names: tuple[str, ...]
    line: int


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SshHost(Record):
    """A `Host` block of an ssh config, with where it sends the connection."""

    file: str
    line: int
    patterns: tuple[str, ...]
    hostname: str = ""
    proxy_jump: str = ""
    proxy_command: str = ""
    forward_agent: bool = False


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class KnownHost(Record):
    file: str
    line: int
    names: tuple[str, ...] = ()  # plain entries: names and addresses, [host]:port kept
    hashed: tuple[str, ...] = ()  # "|1|salt|hash" entries, as written
    key_fingerprint: str = ""  # SHA256:... of the host key on the line


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class KeyFile(Record):
    path: str
    public_fingerprint: str  # SHA256:... of an OpenSSH private key's public half


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Connection(Record):
    """An established TCP connection of the host (/proc/net/tcp, tcp6)."""

    remote: str
    port: int
    local_port: int
    state: str = "established"  # or close-wait: the peer closed, the host still holds it


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Mount(Record):
    """A network filesystem mounted on the host (NFS, CIFS, sshfs)."""

    source: str
    fstype: str
    mountpoint: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Tunnel(Record):
    """A running forwarder (ssh -L/-R/-D, autossh, socat, kubectl port-forward) and the
    hosts its command line names; nothing else of the command line crosses."""

    pid: int
    program: str
    hosts: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Unread(Record):
    what: str
    why: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class HostsResult(Record):
    etc_hosts: tuple[NameEntry, ...] = ()
    resolvers: tuple[str, ...] = ()
    ssh_hosts: tuple[SshHost, ...] = ()
    known_hosts: tuple[KnownHost, ...] = ()
    keys: tuple[KeyFile, ...] = ()
    connections: tuple[Connection, ...] = ()
    mounts: tuple[Mount, ...] = ()
    tunnels: tuple[Tunnel, ...] = ()
    read: tuple[str, ...] = ()  # the files read
    unreadable: tuple[Unread, ...] = ()

"""What the hosts agent answers: facts read on the host, nothing judged. Standard
library only (it travels). Hashed known_hosts entries cross as their salt and hash:
the runner hashes production's names and addresses to compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prodwall.engine.protocol import Record

RulesetTool = Literal["nft", "iptables-save", "ip6tables-save"]
FimTool = Literal["aide", "ossec", "wazuh"]


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class HostsJob(Record):
    home_dirs: tuple[str, ...] = ("/root",)  # plus /home/* found at the host
    egress: bool = False  # read the live firewall ruleset (nft, iptables, ip6tables)
    production: bool = False  # read the production guardrails too
    break_glass: tuple[str, ...] = ()  # accounts whose lock state is read
    log_paths: tuple[str, ...] = ()  # globs of the logs sampled
    log_sample_bytes: int = 1 << 20  # read from the end of each log
    log_max_files: int = 64
    key: str = ""  # the run's fingerprint key, hex: log words are fingerprinted at the host


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
    agent_forwarding: bool = False  # ssh -A / ForwardAgent=yes: the agent travels along


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Unread(Record):
    what: str
    why: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Ruleset(Record):
    """The live firewall ruleset as its own tool prints it; judged by the runner."""

    tool: RulesetTool  # nft: its JSON
    text: str = ""
    error: str = ""  # why it could not be read ("": read)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class TextFile(Record):
    path: str
    text: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Account(Record):
    """A break-glass account's state: the shadow hash never leaves, only what it says."""

    name: str
    exists: bool
    locked: bool = False  # password field starts with ! or * (or is empty of a hash)
    expired: bool = False  # shadow's account expiry date is past
    shell_disabled: bool = False  # nologin / false as login shell
    authorized_keys: int = 0  # keys in ~/.ssh/authorized_keys{,2}: a key logs in past a lock
    why_unknown: str = ""  # shadow or the account's keys unreadable: its state unknown


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Fim(Record):
    """A file-integrity monitor found at the host and the state of its database."""

    tool: FimTool
    binary: str = ""
    config: str = ""
    database: str = ""
    database_bytes: int = 0
    why: str = ""  # why the database is not there or not readable


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class CardHit(Record):
    """A Luhn-valid card number in a log: its last four digits and fingerprint only."""

    path: str
    line: int
    last4: str
    brand: str
    fingerprint: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class LogSample(Record):
    path: str
    bytes: int
    words: tuple[str, ...] = ()  # 12-hex prefixes of each distinct word's fingerprint
    words_cut: bool = False  # more distinct words than are fingerprinted: the rest unread


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Group(Record):
    name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ProductionFacts(Record):
    sshd_configs: tuple[TextFile, ...] = ()  # the running sshd's config and its Includes
    sudoers: tuple[TextFile, ...] = ()  # /etc/sudoers and what it includes
    groups: tuple[Group, ...] = ()  # /etc/group, with /etc/passwd's primary members added
    accounts: tuple[Account, ...] = ()
    prompts: tuple[TextFile, ...] = ()  # lines setting PS1/PROMPT: path:line and text
    banners: tuple[TextFile, ...] = ()
    daemons: tuple[str, ...] = ()  # audit and integrity daemons running (process names)
    audit_rules: tuple[TextFile, ...] = ()
    fim: tuple[Fim, ...] = ()
    logs: tuple[LogSample, ...] = ()
    cards: tuple[CardHit, ...] = ()
    decoys: int = 0  # well-known test card numbers seen and ignored


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
    rulesets: tuple[Ruleset, ...] = ()
    production: ProductionFacts | None = None
    read: tuple[str, ...] = ()  # the files read
    unreadable: tuple[Unread, ...] = ()

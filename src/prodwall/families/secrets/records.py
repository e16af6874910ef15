"""What the secrets agent is asked and answers. Standard library only (it travels).

No record here ever holds a secret's value: a credential crosses back as its keyed
fingerprint (HMAC-SHA-256 under the run's key, computed at the vantage)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from prodwall.engine.protocol import Record

# cloud: a stored string of an AWS resource, read with this scanner by the cloud family
Source = Literal["files", "processes", "stores", "manifests", "cloud"]
Confidence = Literal["", "high", "medium", "low"]


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class EnvironmentMap(Record):
    """What identifies one environment's endpoints (from the inventory; nothing secret)."""

    name: str
    tier: Literal["production", "staging", "test", "dev", "shared"]
    domains: tuple[str, ...] = ()
    hosts: dict[str, str] = dataclasses.field(default_factory=dict)  # DNS name -> host
    networks: tuple[str, ...] = ()
    aws_accounts: tuple[str, ...] = ()
    api_servers: tuple[str, ...] = ()  # Kubernetes API server URLs
    ssh_keys: tuple[str, ...] = ()  # OpenSSH SHA256:... public-key fingerprints


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class ScanOptions(Record):
    paths: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # globs on the full path; empty: every file
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = 1 << 20
    max_files: int = 200_000
    archives: bool = False
    git_history: bool = False
    processes: bool = True
    credential_stores: bool = True
    manifests: bool = True
    resolve_hosts: bool = False


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SecretJob(Record):
    key: str  # the run's fingerprint key, hex: values are fingerprinted where they are found
    environments: tuple[EnvironmentMap, ...] = ()
    options: ScanOptions = dataclasses.field(default_factory=ScanOptions)
    canary: str = ""  # a text holding a made-up production credential (the positive control)


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Finding(Record):
    source: Source
    path: str  # the file, or "pid 812 (python3) environ"
    line: int  # 1-based; 0 where a source has no lines
    rule: str  # what recognised it: url:postgres, jdbc:sqlserver, aws-access-key, ...
    kind: str  # credential | connection-string
    target: str = ""  # host[:port], AWS account, API server, key fingerprint ("": none)
    environment: str = ""  # the environment it points at ("": unattributed)
    tier: str = ""
    attributed_by: str = ""  # fingerprint | aws-account | host-name | network | domain | ...
    confidence: Confidence = ""
    fingerprints: tuple[str, ...] = ()  # of each secret that travels with it
    detail: str = ""  # what it is, without its value


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class Unreadable(Record):
    source: str
    what: str  # a path or "pid 812 (sshd)"
    why: str


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SourceStats(Record):
    source: str
    items: int = 0  # files, processes, stores or manifests read
    bytes: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    non_production: int = 0  # recognised, pointing at a non-production environment
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class SecretResult(Record):
    findings: tuple[Finding, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    stats: tuple[SourceStats, ...] = ()
    canary_found: tuple[Finding, ...] = ()  # what the same pipeline made of the canary
    truncated: str = ""  # why the scan stopped early ("": it did not)

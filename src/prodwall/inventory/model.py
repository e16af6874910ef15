"""The inventory: typed, validated, frozen. One YAML file becomes one `Inventory`.

Field-level rules live here (formats, types, unknown keys); rules that span
several objects (overlaps, references) live in `consistency.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from prodwall.inventory.fields import (
    AccountId,
    Address,
    ApiServer,
    BucketName,
    Domain,
    Location,
    Name,
    Network,
    NonEmpty,
    ParameterArn,
    RoleArn,
    SecretArn,
    SecretFp,
    ServiceField,
    SshFp,
)
from prodwall.inventory.fields import IPAddress as IPAddress  # re-exported: the model's vocabulary
from prodwall.inventory.fields import IPNetwork as IPNetwork
from prodwall.inventory.modelbase import _Model
from prodwall.inventory.policy import (
    AllowedFlow as AllowedFlow,  # re-exported: the model's vocabulary
)
from prodwall.inventory.policy import ControlTarget as ControlTarget
from prodwall.inventory.policy import Policy as Policy
from prodwall.inventory.policy import SecretMatch as SecretMatch
from prodwall.inventory.policy import Waiver as Waiver
from prodwall.inventory.settings import Aws as Aws
from prodwall.inventory.settings import Probing as Probing
from prodwall.inventory.settings import Scope as Scope
from prodwall.inventory.settings import SecretScan as SecretScan
from prodwall.vantages.location import Location as ParsedLocation
from prodwall.vantages.location import parse as parse_location

Tier = Literal["production", "staging", "test", "dev", "shared"]
PRODUCTION: Tier = "production"


class Host(_Model):
    addresses: list[Address] = Field(min_length=1, description="IPv4/IPv6 addresses of the host")
    services: list[ServiceField] = Field(
        default_factory=list, description="tcp/PORT, udp/PORT, NAME=tcp/PORT or a known name"
    )
    names: list[Domain] = Field(
        default_factory=list, description="DNS names of the host (checked by the DNS probes)"
    )
    description: str = ""


class CloudAccounts(_Model):
    aws_accounts: list[AccountId] = Field(default_factory=list)
    role_arns: list[RoleArn] = Field(default_factory=list)
    buckets: list[BucketName] = Field(default_factory=list)
    secrets: list[SecretArn] = Field(
        default_factory=list,
        description="production: Secrets Manager secrets no non-production identity may get",
    )
    parameters: list[ParameterArn] = Field(
        default_factory=list,
        description="production: SSM parameters no non-production identity may get",
    )
    kubernetes_api_servers: list[ApiServer] = Field(default_factory=list)


class SecretFingerprint(_Model):
    name: Name
    kind: Literal[
        "password", "aws-access-key", "api-token", "connection-string", "private-key", "other"
    ] = "other"
    hmac_sha256: SecretFp = Field(description="HMAC-SHA-256 of the secret under the run's key")


class SshKeyFingerprint(_Model):
    name: Name
    kind: Literal["host", "user"]
    sha256: SshFp


class HostPolicy(_Model):
    """What the hosts family expects of this environment's hosts."""

    egress_filter: bool = Field(
        default=False,
        description="non-production: the hosts carry a firewall (nftables or iptables) that "
        "must drop every new flow to production, read from the live ruleset",
    )
    prompt_marker: str = Field(
        default="production",
        min_length=2,
        description="production: text the shell prompt and the login banner must show "
        "(case-insensitive)",
    )
    developer_groups: list[NonEmpty] = Field(
        default_factory=list,
        description="production: the developers' Unix groups (read-only on production hosts)",
    )
    sudo_readonly: list[NonEmpty] = Field(
        default_factory=list,
        description="production: commands developers may run with sudo (absolute paths, "
        "optionally with arguments; a trailing * allows any further arguments)",
    )
    break_glass: list[NonEmpty] = Field(
        default_factory=list,
        description="production: the break-glass accounts; locked or expired while no "
        "incident is open",
    )
    log_paths: list[NonEmpty] = Field(
        default_factory=lambda: [
            "/var/log/*.log",
            "/var/log/*/*.log",
            "/var/log/syslog",
            "/var/log/messages",
        ],
        description="production: globs of the logs sampled for card numbers and secrets",
    )
    log_sample_bytes: int = Field(
        default=1 << 20, ge=4096, le=64 << 20, description="read from the end of each log"
    )
    log_max_files: int = Field(default=64, ge=1, le=10_000, description="newest first")


class Environment(_Model):
    tier: Tier
    description: str = ""
    networks: list[Network] = Field(default_factory=list)
    dns_domains: list[Domain] = Field(default_factory=list)
    boundary_gateways: list[Address] = Field(
        default_factory=list,
        description="the boundary firewall(s) this environment routes through: a route towards "
        "production via one of them is handed to the firewall, any other route bypasses it",
    )
    hosts: dict[Name, Host] = Field(default_factory=dict)
    cloud: CloudAccounts = Field(default_factory=CloudAccounts)
    secrets: list[SecretFingerprint] = Field(default_factory=list)
    ssh_keys: list[SshKeyFingerprint] = Field(default_factory=list)
    host_policy: HostPolicy = Field(default_factory=HostPolicy)

    @property
    def is_production(self) -> bool:
        return self.tier == PRODUCTION


class Vantage(_Model):
    location: Location
    environment: Name
    description: str = ""
    python: str = Field(
        default="python3",
        min_length=1,
        description="the Python 3.11+ interpreter at a remote vantage (it needs numpy)",
    )
    sudo: bool = Field(default=False, description="run the agent with `sudo -n` at the vantage")
    ssh_identity_file: str | None = Field(
        default=None, description="ssh:// and paramiko:// vantages: the key"
    )
    ssh_config: str | None = Field(
        default=None, description="ssh://, paramiko:// and ansible:// vantages: an ssh_config"
    )
    secret_scan: bool = Field(
        default=True,
        description="read this vantage's host for credentials and connection strings "
        "(false where the vantage does not stand for a host of its own)",
    )
    ansible_inventory: str | None = Field(
        default=None, description="ansible:// vantages: the Ansible inventory naming the host"
    )
    ec2_instance: bool = Field(
        default=False,
        description="the vantage is an EC2 instance: its instance metadata credentials are "
        "among the identities tried (IMDSv2)",
    )
    via: str | None = Field(
        default=None,
        pattern=r"^netns:[A-Za-z0-9_.-]{1,64}$",
        description="how the vantage is reached: netns:NAME (only from inside that network "
        "namespace; run, hosts and fleet enter it as root, or refuse). For a local vantage: "
        "how `prodwall fleet` reaches its host",
    )

    @model_validator(mode="after")
    def _via_needs_a_way(self) -> Vantage:
        if self.via and self.location.startswith("netns:"):
            raise ValueError(
                f"via: a {self.location} vantage is entered directly; via is for vantages "
                "reached over a link (ssh://, paramiko://, ansible://, or a local fleet host)"
            )
        return self

    @property
    def where(self) -> ParsedLocation:
        return parse_location(self.location)


class Inventory(_Model):
    version: Literal[1]
    name: NonEmpty
    environments: dict[Name, Environment] = Field(min_length=1)
    vantages: dict[Name, Vantage] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    scope: Scope = Field(default_factory=Scope)
    probing: Probing = Field(default_factory=Probing)
    secret_scan: SecretScan = Field(default_factory=SecretScan)
    aws: Aws = Field(default_factory=Aws)

    def production(self) -> dict[str, Environment]:
        return {n: e for n, e in self.environments.items() if e.is_production}

    def production_networks(self) -> tuple[IPNetwork, ...]:
        """Every production network, in declaration order."""
        return tuple(n for e in self.production().values() for n in e.networks)

    def host(self, name: str) -> tuple[str, Host] | None:
        for env_name, env in self.environments.items():
            if name in env.hosts:
                return env_name, env.hosts[name]
        return None

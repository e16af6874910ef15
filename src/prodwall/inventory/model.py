"""The inventory: typed, validated, frozen. One YAML file becomes one `Inventory`.

Field-level rules live here (formats, types, unknown keys); rules that span
several objects (overlaps, references) live in `consistency.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from ..services import PortSet
from ..vantages.location import Location as ParsedLocation
from ..vantages.location import parse as parse_location
from .aws_endpoints import aws_endpoint_problem
from .fields import (
    AccountId,
    Address,
    ApiServer,
    BucketName,
    Domain,
    EndpointUrl,
    Location,
    Name,
    Network,
    NonEmpty,
    OrgId,
    ParameterArn,
    Ports,
    Region,
    RoleArn,
    SecretArn,
    SecretFp,
    ServiceField,
    SshFp,
)
from .fields import IPAddress as IPAddress  # re-exported: the model's vocabulary
from .fields import IPNetwork as IPNetwork

Tier = Literal["production", "staging", "test", "dev", "shared"]
PRODUCTION: Tier = "production"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


class _Approval(_Model):
    ticket: NonEmpty
    approver: NonEmpty
    justification: NonEmpty
    expires: date
    approved: date | None = Field(default=None, description="when it was approved")

    def is_expired(self, today: date) -> bool:
        return self.expires < today


class AllowedFlow(_Approval):
    from_: Name = Field(alias="from", description="environment the flow starts in")
    to: Name = Field(description="host the flow may reach")
    services: list[ServiceField] = Field(
        min_length=1, description="services of that host the flow may use"
    )


class SecretMatch(_Model):
    """A secrets finding a waiver accepts: by fingerprint and path, never by line number
    (a line moves with every edit; the fingerprint and the file say what was accepted)."""

    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{16,64}$",
        description="the finding's fingerprint as the report shows it (16 hex digits or more)",
    )
    path: NonEmpty = Field(description="the file (or process) it was found in; a glob")
    rule: str | None = Field(default=None, description="e.g. url:postgres; any if omitted")


class Waiver(_Approval):
    id: NonEmpty
    control: str | None = Field(default=None, description="control id it covers; all if omitted")
    vantage: Name | None = Field(default=None, description="vantage it covers; all if omitted")
    target: Name | None = Field(
        default=None, description="host whose reachability is accepted (network checks)"
    )
    services: list[ServiceField] = Field(
        default_factory=list, description="services covered; every service if empty"
    )
    finding: SecretMatch | None = Field(
        default=None, description="the secrets finding accepted (secrets checks)"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Waiver:
        if (self.target is None) == (self.finding is None):
            raise ValueError(
                "a waiver names either a target host (network checks) or a finding "
                "(secrets checks: fingerprint and path), not both and not neither"
            )
        return self


class ControlTarget(_Model):
    """A non-production service whose answer proves that answers get back to the vantage."""

    from_: Name | None = Field(
        default=None, alias="from", description="environment; all if omitted"
    )
    to: Name = Field(description="a non-production host")
    service: ServiceField | Literal["icmp"]
    expect: Literal["answer", "closed"] = Field(
        default="answer",
        description="answer: it must answer; closed: it must refuse (RST or "
        "ICMP port-unreachable from the host itself)",
    )


class Policy(_Model):
    allowed_flows: list[AllowedFlow] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)
    control_targets: list[ControlTarget] = Field(
        default_factory=list,
        description="positive controls beside the allowed flows: a known-closed port, a UDP "
        "service, an ICMP echo target",
    )


class Scope(_Model):
    max_network_addresses: int = Field(
        default=4096, ge=1, description="largest network that may be swept address by address"
    )
    allow_large_ranges: bool = False
    allow_public: bool = Field(
        default=False, description="allow probing production networks in public address space"
    )
    allow_documentation: bool = Field(
        default=False,
        description="allow the documentation-only ranges (192.0.2.0/24, 198.51.100.0/24, "
        "203.0.113.0/24, 2001:db8::/32, 3fff::/20): for samples and tests, never real networks",
    )
    max_probes: int = Field(default=2_000_000, ge=1, description="cap on probes in one plan")


class Probing(_Model):
    tcp_ports: Ports = Field(default_factory=lambda: PortSet.parse("1-65535"))
    udp_ports: Ports | Literal["common"] = "common"
    sweep_networks: bool = Field(
        default=False, description="probe every address of production networks, not only hosts"
    )
    icmp: bool = True
    rate: int = Field(default=20_000, ge=1, le=2_000_000, description="packets per second")
    rate_scope: Literal["per-vantage", "shared"] = Field(
        default="per-vantage",
        description="per-vantage: every vantage sends at `rate`; shared: `rate` is the budget "
        "of the boundary, divided among the vantages a fleet runs at once",
    )
    retries: int = Field(default=1, ge=0, le=5, description="retransmissions of silent probes")
    wait_seconds: float = Field(
        default=1.0, ge=0.1, le=30, description="answer window of every probe's first packet"
    )
    retry_wait_seconds: float | None = Field(
        default=None,
        ge=0.05,
        le=30,
        description="answer window of the last retransmissions; unset: four times the "
        "slowest answer measured in the run, 0.25 s at least, wait_seconds at most",
    )
    method: Literal["auto", "connect"] = Field(
        default="auto", description="auto: raw SYN when CAP_NET_RAW, else connect()"
    )


class SecretScan(_Model):
    """Where the secrets family looks on each vantage's host (it reads, never connects)."""

    paths: list[NonEmpty] = Field(
        default_factory=lambda: ["/root", "/home", "/etc", "/srv", "/opt"],
        description="directory trees to read (home directories, config, applications)",
    )
    include: list[NonEmpty] = Field(
        default_factory=list, description="globs on full paths; if set, only these files"
    )
    exclude: list[NonEmpty] = Field(
        default_factory=lambda: [
            "*/.cache/*",
            "*/node_modules/*",
            "*/__pycache__/*",
            "*/site-packages/*",
            "*/dist-packages/*",
            "*/.git/objects/*",
            "*.pyc",
            "*.so",
            "*.o",
        ],
        description="globs on full paths never read",
    )
    max_file_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20, description="per file")
    max_files: int = Field(default=200_000, ge=1, le=10_000_000, description="per run")
    archives: bool = Field(default=False, description="read inside zip, jar and tar files")
    git_history: bool = Field(
        default=False, description="read every commit of the git repositories found (git log -p)"
    )
    processes: bool = Field(
        default=True, description="every process's environment and command line"
    )
    credential_stores: bool = Field(
        default=True, description="~/.aws, ~/.pgpass, ~/.netrc, docker, kube, git credentials"
    )
    manifests: bool = Field(default=True, description="container, compose and Kubernetes files")
    resolve_hosts: bool = Field(
        default=False,
        description="resolve host names nothing else attributes, through the vantage's own "
        "resolver (DNS queries leave the vantage; off by default)",
    )


class Aws(_Model):
    """How the AWS estate is read. The accounts are the environments' `cloud.aws_accounts`."""

    regions: list[Region] = Field(
        default_factory=lambda: ["us-east-1"], min_length=1, description="regions read"
    )
    audit_role: str | None = Field(
        default=None,
        pattern=r"^[\w+=,.@-]{1,64}$",
        description="the read-only role assumed in every listed account for the configuration "
        "proof (`prodwall cloud`): arn:aws:iam::ACCOUNT:role/<audit_role>",
    )
    audit_via: RoleArn | None = Field(
        default=None,
        description="a hub role assumed first, from which each account's audit role is assumed "
        "(role chaining)",
    )
    organization_id: OrgId | None = Field(
        default=None,
        description="the AWS Organization every listed account belongs to: a policy granting "
        "this organization grants the non-production accounts too",
    )
    endpoint_url: EndpointUrl | None = Field(
        default=None,
        description="the runner's AWS endpoint, for a simulator (moto); unset: AWS itself",
    )
    simulated: bool = Field(
        default=False,
        description="the estate is a simulator (moto): every result is labelled simulated, and "
        "a cross-account success it allows is judged by the policy that governs it",
    )
    concurrency: int = Field(default=8, ge=1, le=64, description="accounts x regions at once")
    max_attempts: int = Field(
        default=5, ge=1, le=10, description="attempts per API call (throttling: backoff)"
    )
    homes: list[NonEmpty] = Field(
        default_factory=lambda: ["/root", "/home/*"],
        description="home directories (globs) whose ~/.aws files are read at the vantage",
    )

    @model_validator(mode="after")
    def _endpoint_is_aws_or_a_simulator(self) -> Aws:
        # the runner signs its calls with its own credentials (a session token included)
        # wherever endpoint_url points: outside AWS only for a declared simulator
        if self.endpoint_url and not self.simulated:
            why = aws_endpoint_problem(self.endpoint_url)
            if why:
                raise ValueError(
                    f"endpoint_url {self.endpoint_url} {why}: the runner's credentials would "
                    "be presented to it; set simulated: true for a simulator (moto), or give "
                    "an AWS service endpoint such as https://sts.eu-west-1.amazonaws.com"
                )
        return self


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

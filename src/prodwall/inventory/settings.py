"""How a run probes and reads: the scope limits, probing, the secrets scan and AWS."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from prodwall.inventory.aws_endpoints import aws_endpoint_problem
from prodwall.inventory.fields import EndpointUrl, NonEmpty, OrgId, Ports, Region, RoleArn
from prodwall.inventory.modelbase import _Model
from prodwall.services import PortSet


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

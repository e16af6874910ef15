"""The inventory: typed, validated, frozen. One YAML file becomes one `Inventory`.

Field-level rules live here (formats, types, unknown keys); rules that span
several objects (overlaps, references) live in `consistency.py`.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from ..addresses import real_address, real_network
from ..services import PortSet, Service, parse_service
from ..vantages.location import Location as ParsedLocation
from ..vantages.location import parse as parse_location

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Tier = Literal["production", "staging", "test", "dev", "shared"]
PRODUCTION: Tier = "production"


def _as_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected {what} as a string")
    return str(value)


def _network(value: Any) -> IPNetwork:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    text = _as_text(value, "a CIDR such as 198.51.100.0/24")
    if "/" not in text:
        raise ValueError(f"'{text}' is not a CIDR: add the prefix length, e.g. {text}/24")
    try:
        # what the kernel would send to: IPv4 written as IPv6 is IPv4 (addresses.py)
        return real_network(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        if "host bits set" in str(exc):
            fixed = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"'{text}' has host bits set: did you mean {fixed}?") from None
        raise ValueError(
            f"'{text}' is not a valid IPv4 or IPv6 CIDR: write ADDRESS/PREFIX, "
            "e.g. 198.51.100.0/24 or 2001:db8::/48"
        ) from None


def _address(value: Any) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = _as_text(value, "an IP address")
    try:
        return real_address(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a valid IPv4 or IPv6 address: write e.g. "
            "198.51.100.10 or 2001:db8::10"
        ) from None


def _service(value: Any) -> Service:
    if isinstance(value, Service):
        return value
    return parse_service(_as_text(value, "a service such as tcp/5432"))


def _ports(value: Any) -> PortSet:
    if isinstance(value, PortSet):
        return value
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return PortSet.parse(_as_text(value, "ports such as 1-65535 or 22,443"))


_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ARN_RE = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
_BUCKET_RE = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HMAC_RE = re.compile(r"^[0-9a-f]{64}$")
_SSH_FP_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$")
_URL_RE = re.compile(r"^https://[A-Za-z0-9.:\[\]-]+(?::\d{1,5})?(/.*)?$")


def _account(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f"account ID must be quoted: YAML read the unquoted number as {value} (it drops "
            "leading zeros, and a leading 0 even makes it octal); write the 12 digits in quotes, "
            'e.g. "011122223333"'
        )
    text = _as_text(value, "a 12-digit AWS account ID")
    if not _ACCOUNT_RE.match(text):
        raise ValueError(f"'{text}' is not an AWS account ID: write its 12 digits in quotes")
    return text


def _regex(pattern: re.Pattern[str], what: str, example: str) -> Any:
    def check(value: Any) -> str:
        text = _as_text(value, what)
        if not pattern.match(text):
            raise ValueError(f"'{text}' is not {what} (e.g. {example})")
        return text

    return check


def _secret_fp(value: Any) -> str:
    # Never echo the value: a user who pastes the secret itself here must not
    # see it again in an error message, a log or CI output.
    if not isinstance(value, str) or not _HMAC_RE.match(value):
        raise ValueError(
            "not an HMAC-SHA-256 fingerprint (the value is withheld in case it is the secret "
            "itself): write the 64 lowercase hex digits that `prodwall fingerprint` prints"
        )
    return value


def _ssh_fp(value: Any) -> str:
    if not isinstance(value, str) or not _SSH_FP_RE.match(value):
        raise ValueError(
            "not an OpenSSH SHA256 fingerprint (SHA256: followed by 43 base64 characters, "
            "as `ssh-keygen -lf KEY` prints); the value is withheld"
        )
    return value


Network = Annotated[IPNetwork, BeforeValidator(_network), PlainSerializer(str)]
Address = Annotated[IPAddress, BeforeValidator(_address), PlainSerializer(str)]
ServiceField = Annotated[
    Service,
    BeforeValidator(_service),
    PlainSerializer(str),
    WithJsonSchema(
        {"type": "string", "examples": ["tcp/5432", "udp/53", "postgres", "admin=tcp/8443"]}
    ),
]
Ports = Annotated[
    PortSet,
    BeforeValidator(_ports),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$",
            "examples": ["1-65535", "22,443,8000-8100"],
        }
    ),
]
AccountId = Annotated[str, BeforeValidator(_account)]
RoleArn = Annotated[
    str,
    BeforeValidator(_regex(_ARN_RE, "an IAM role ARN", "arn:aws:iam::111122223333:role/deploy")),
]
BucketName = Annotated[str, BeforeValidator(_regex(_BUCKET_RE, "an S3 bucket name", "prod-data"))]
Name = Annotated[
    str,
    BeforeValidator(
        _regex(_NAME_RE, "a name of lowercase letters, digits, '-', '_' or '.'", "db-primary")
    ),
]
Domain = Annotated[str, BeforeValidator(_regex(_DOMAIN_RE, "a DNS domain", "prod.example.com"))]
ApiServer = Annotated[
    str,
    BeforeValidator(
        _regex(_URL_RE, "an https:// API server URL", "https://k8s.prod.example.com:6443")
    ),
]


def _location(value: Any) -> Any:
    if isinstance(value, str):
        parse_location(value)  # the one parser; its ValueError names the accepted forms
    return value


Location = Annotated[str, BeforeValidator(_location)]
SecretFp = Annotated[str, BeforeValidator(_secret_fp)]
SshFp = Annotated[str, BeforeValidator(_ssh_fp)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is blank (only whitespace); write what it needs to say")
    return value


NonEmpty = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]


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
    ssh_identity_file: str | None = Field(default=None, description="ssh:// vantages: the key")
    ssh_config: str | None = Field(default=None, description="ssh:// vantages: an ssh_config")

    @property
    def where(self) -> ParsedLocation:
        return parse_location(self.location)

    @property
    def transport(self) -> str:
        return self.where.scheme


class _Approval(_Model):
    ticket: NonEmpty
    approver: NonEmpty
    justification: NonEmpty
    expires: date

    def is_expired(self, today: date) -> bool:
        return self.expires < today


class AllowedFlow(_Approval):
    from_: Name = Field(alias="from", description="environment the flow starts in")
    to: Name = Field(description="host the flow may reach")
    services: list[ServiceField] = Field(
        min_length=1, description="services of that host the flow may use"
    )


class Waiver(_Approval):
    id: NonEmpty
    control: str | None = Field(default=None, description="control id it covers; all if omitted")
    vantage: Name | None = Field(default=None, description="vantage it covers; all if omitted")
    target: Name = Field(description="host whose reachability is accepted")
    services: list[ServiceField] = Field(
        default_factory=list, description="services covered; every service if empty"
    )


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


class Inventory(_Model):
    version: Literal[1]
    name: NonEmpty
    environments: dict[Name, Environment] = Field(min_length=1)
    vantages: dict[Name, Vantage] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    scope: Scope = Field(default_factory=Scope)
    probing: Probing = Field(default_factory=Probing)

    def production(self) -> dict[str, Environment]:
        return {n: e for n, e in self.environments.items() if e.is_production}

    def host(self, name: str) -> tuple[str, Host] | None:
        for env_name, env in self.environments.items():
            if name in env.hosts:
                return env_name, env.hosts[name]
        return None

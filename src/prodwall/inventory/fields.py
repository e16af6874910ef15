"""The inventory's field types: each parses one kind of value (a network, a service,
an account id, a fingerprint...) and says, when it cannot, what a good one looks like."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from prodwall.addresses import real_address, real_network
from prodwall.services import PortSet, Service, parse_service
from prodwall.vantages.location import parse as parse_location

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


_SECRET_ARN_RE = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$"
)


_PARAMETER_ARN_RE = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:ssm:[a-z0-9-]+:\d{12}:parameter/[\w/.-]{1,1011}$"
)


_REGION_RE = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$")


_ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")


_ENDPOINT_RE = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+(?::\d{1,5})?/?$")


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


SecretArn = Annotated[
    str,
    BeforeValidator(
        _regex(
            _SECRET_ARN_RE,
            "a Secrets Manager secret ARN",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf",
        )
    ),
]


ParameterArn = Annotated[
    str,
    BeforeValidator(
        _regex(
            _PARAMETER_ARN_RE,
            "an SSM parameter ARN",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db/url",
        )
    ),
]


Region = Annotated[str, BeforeValidator(_regex(_REGION_RE, "an AWS region", "eu-west-1"))]


OrgId = Annotated[
    str, BeforeValidator(_regex(_ORG_RE, "an AWS Organizations id", "o-a1b2c3d4e5"))
]


EndpointUrl = Annotated[
    str,
    BeforeValidator(_regex(_ENDPOINT_RE, "an endpoint URL", "http://127.0.0.1:5000")),
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

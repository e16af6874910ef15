"""Every AWS credential a process on the vantage could use, found where the SDKs look:
the environment, each home's shared credentials and config files (and the files the
environment names), a container credentials endpoint, instance metadata where the
inventory says the vantage is an EC2 instance, and web identity tokens. Standard library
only at import (it travels); botocore's fetchers are imported when they are needed.

Nothing here calls AWS or runs a command: a profile whose credentials come from a
credential_process or an SSO login is reported as not resolved, never executed."""

from __future__ import annotations

import configparser
import glob
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from prodwall.families.cloud.records import CloudJob


def read_small(path: str) -> str:
    """A regular file of sane size, whole; ValueError saying why not. A link to /dev/zero
    or a FIFO must not hang or exhaust the agent (it runs as root on the vantage)."""
    with open(path, "rb", opener=_nonblocking) as raw:
        info = os.fstat(raw.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(f"{info.st_size} bytes, over {MAX_FILE_BYTES}")
        return raw.read(MAX_FILE_BYTES + 1).decode("utf-8", "replace")


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


@dataclass(frozen=True)
class Found:
    """One credential as found; its secret parts never leave this process."""

    source: str
    kind: str  # static | session | assumed-role | web-identity | container | instance
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    role_arn: str = ""  # assumed-role and web-identity: the role it becomes
    via: Found | None = None  # assumed-role: the credential that assumes it
    token_file: str = ""  # web-identity
    region: str = ""
    endpoint: str = ""


@dataclass
class Discovery:
    found: list[Found] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def discover(job: CloudJob, env: dict[str, str] | None = None) -> Discovery:
    env = dict(os.environ if env is None else env)
    out = Discovery()
    endpoint = env.get("AWS_ENDPOINT_URL_STS") or env.get("AWS_ENDPOINT_URL", "")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or job.region
    out.read.append("environment")
    base = _from_environment(env, region, endpoint)
    if base is not None:
        out.found.append(base)
    for files in _file_sets(job, env):
        _profiles(files, env, region, endpoint, base, out)
    _container(env, region, endpoint, out)
    if job.ec2_instance:
        out.found += _instance(env, region, endpoint, job.timeout, out)
    return out


def _from_environment(env: dict[str, str], region: str, endpoint: str) -> Found | None:
    key, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if key and secret:
        token = env.get("AWS_SESSION_TOKEN", "")
        kind = "session" if token else "static"
        return Found("environment", kind, key, secret, token, region=region, endpoint=endpoint)
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        return Found(
            "environment (web identity)",
            "web-identity",
            role_arn=env["AWS_ROLE_ARN"],
            token_file=env["AWS_WEB_IDENTITY_TOKEN_FILE"],
            region=region,
            endpoint=endpoint,
        )
    return None


def _file_sets(job: CloudJob, env: dict[str, str]) -> list[tuple[str, str]]:
    """(credentials file, config file) pairs: the environment's, then each home's."""
    sets = []
    if env.get("AWS_SHARED_CREDENTIALS_FILE") or env.get("AWS_CONFIG_FILE"):
        sets.append((env.get("AWS_SHARED_CREDENTIALS_FILE", ""), env.get("AWS_CONFIG_FILE", "")))
    for pattern in job.homes:
        for home in sorted(glob.glob(pattern)):
            sets.append((f"{home}/.aws/credentials", f"{home}/.aws/config"))
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in sets:
        key = tuple(os.path.realpath(p) if p else "" for p in pair)
        if key not in seen:
            seen.add((key[0], key[1]))
            unique.append(pair)
    return unique


MAX_FILE_BYTES = 1 << 20  # an AWS config file is a few KiB; more is not read


def _read(path: str, out: Discovery) -> configparser.RawConfigParser | None:
    if not path or not os.path.lexists(path):
        return None
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        text = read_small(path)
    except OSError as exc:
        out.unreadable.append(f"{path}: {exc.strerror}")
        return None
    except ValueError as exc:  # not a regular file, or too large: not read
        out.unreadable.append(f"{path}: {exc}")
        return None
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:  # the file is broken: its content is not quoted
        out.unreadable.append(f"{path}: not an AWS config file ({type(exc).__name__})")
        return None
    out.read.append(path)
    return parser


def _profiles(
    files: tuple[str, str],
    env: dict[str, str],
    region: str,
    endpoint: str,
    base: Found | None,
    out: Discovery,
) -> None:
    creds, config = (_read(p, out) for p in files)
    merged: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    for parser, path, is_config in ((config, files[1], True), (creds, files[0], False)):
        if parser is None:
            continue
        for section in parser.sections():
            name = section.strip()
            if is_config and name.startswith("profile "):
                name = name[len("profile "):].strip()
            merged.setdefault(name, {}).update(dict(parser.items(section)))
            if not is_config or name not in where:
                where[name] = path
    for name in sorted(merged):
        found = _profile(name, merged, where, env, region, endpoint, base, out, depth=0)
        if found is not None:
            out.found.append(found)


def _profile(
    name: str,
    merged: dict[str, dict[str, str]],
    where: dict[str, str],
    env: dict[str, str],
    region: str,
    endpoint: str,
    base: Found | None,
    out: Discovery,
    depth: int,
) -> Found | None:
    p = merged.get(name, {})
    source = f"{where.get(name, '?')} [{name}]"
    region = p.get("region", region)
    endpoint = p.get("endpoint_url", endpoint)
    if p.get("aws_access_key_id") and p.get("aws_secret_access_key"):
        token = p.get("aws_session_token", "")
        return Found(source, "session" if token else "static", p["aws_access_key_id"],
                     p["aws_secret_access_key"], token, region=region, endpoint=endpoint)
    if p.get("role_arn"):
        if p.get("web_identity_token_file"):
            return Found(source, "web-identity", role_arn=p["role_arn"],
                         token_file=p["web_identity_token_file"], region=region,
                         endpoint=endpoint)
        via: Found | None = None
        if p.get("source_profile") and depth < 4 and p["source_profile"] != name:
            via = _profile(p["source_profile"], merged, where, env, region, endpoint, base,
                           out, depth + 1)
        elif p.get("credential_source") == "Environment":
            via = base
        if via is None:
            how = p.get("source_profile") or p.get("credential_source") or "nothing"
            out.unresolved.append(f"{source}: role {p['role_arn']} from {how} (not resolvable)")
            return None
        return Found(source, "assumed-role", role_arn=p["role_arn"], via=via, region=region,
                     endpoint=endpoint)
    if p.get("credential_process"):
        out.unresolved.append(
            f"{source}: credential_process (prodwall runs no command; resolve it by hand)"
        )
    elif p.get("sso_start_url") or p.get("sso_session"):
        out.unresolved.append(f"{source}: SSO login (needs an interactive sign-in)")
    return None


def _container(env: dict[str, str], region: str, endpoint: str, out: Discovery) -> None:
    full, relative = (env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", ""),
                      env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ""))
    if not (full or relative):
        return
    source = f"container credentials endpoint {full or relative}"
    out.read.append(source)
    try:
        from botocore.utils import ContainerMetadataFetcher

        fetcher = ContainerMetadataFetcher()  # its own short timeout and retries
        headers = {}
        token = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
        if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
            token = read_small(env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).strip()
        if token:
            headers["Authorization"] = token
        got: dict[str, Any] = (
            fetcher.retrieve_full_uri(full, headers=headers) if full
            else fetcher.retrieve_uri(relative)
        )
    except Exception as exc:  # any failure: not resolved, said by type only
        out.unresolved.append(f"{source}: {type(exc).__name__}")
        return
    out.found.append(Found(source, "container", got.get("AccessKeyId", ""),
                           got.get("SecretAccessKey", ""), got.get("Token", ""),
                           region=region, endpoint=endpoint))


def _instance(env: dict[str, str], region: str, endpoint: str, timeout: float,
              out: Discovery) -> list[Found]:
    """IMDSv2, only where the inventory says this vantage is an EC2 instance."""
    where = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254/")
    source = f"instance metadata {where}"
    out.read.append(source)
    if env.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        out.unresolved.append(f"{source}: AWS_EC2_METADATA_DISABLED is set at the vantage")
        return []
    try:
        from botocore.utils import InstanceMetadataFetcher

        fetcher = InstanceMetadataFetcher(
            timeout=timeout, num_attempts=2, env={},
            config={"ec2_metadata_service_endpoint": where},
        )
        got = fetcher.retrieve_iam_role_credentials()
    except Exception as exc:
        out.unresolved.append(f"{source}: {type(exc).__name__}")
        return []
    if not got:
        out.unresolved.append(f"{source}: no instance profile credentials answered")
        return []
    return [Found(f"{source} (role {got.get('role_name', '?')})", "instance",
                  got.get("access_key", ""), got.get("secret_key", ""), got.get("token", ""),
                  region=region, endpoint=endpoint)]

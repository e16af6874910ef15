"""Which environment an endpoint points at, from the inventory alone (offline).

Hosts are normalised first (case, trailing dot, IDNA, IPv6 brackets and zone,
IPv4-mapped IPv6), then matched: an exact host name or an address inside an
environment's network is certain; a name under an environment's DNS domain is
likely. Where several environments match, production wins: a string that might
reach production is judged as if it does (fail closed)."""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

from prodwall import hostforms
from prodwall.families.secrets.records import EnvironmentMap

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Attribution:
    environment: str
    tier: str
    by: str  # host-name | network | domain | aws-account | kube-api | ssh-public-key
    confidence: str  # high | medium
    host: str = ""  # the inventory's host name, where one matched


def normalise_host(text: str) -> str:
    """A host as the matchers compare it ("" if it is not one): percent-decoded as libpq
    does, an address in its canonical form (whatever inet_aton form it was written in)."""
    host = hostforms.unquote_host(text)
    if not host or any(c in host for c in " /\\@\"'<>{}$"):
        return ""
    address = hostforms.literal(host)
    if address is not None:
        return str(address)
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return host


def as_address(text: str) -> IPAddress | None:
    """The address a host text is (an IPv4-mapped IPv6 address as its IPv4)."""
    address = hostforms.literal(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Attributor:
    """Every environment's names, domains, networks, accounts and keys, indexed."""

    def __init__(
        self,
        environments: tuple[EnvironmentMap, ...],
        resolve: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.environments = environments
        self._resolve = resolve  # the vantage's own resolver, only where the inventory asks
        self._resolved: dict[str, Attribution | None] = {}
        self._seen: dict[str, Attribution | None] = {}  # a host string's attribution, once
        self._domains = [(env, _domains(env)) for env in environments]
        self._names: dict[str, list[tuple[EnvironmentMap, str]]] = {}
        self._nets: list[tuple[IPNetwork, EnvironmentMap]] = []
        self._accounts: dict[str, list[EnvironmentMap]] = {}
        self._keys: dict[str, list[EnvironmentMap]] = {}
        self._servers: dict[str, list[EnvironmentMap]] = {}
        for env in environments:
            for name, host in env.hosts.items():
                self._names.setdefault(normalise_host(name), []).append((env, host))
            for net in env.networks:
                self._nets.append((ipaddress.ip_network(net, strict=False), env))
            for account in env.aws_accounts:
                self._accounts.setdefault(account, []).append(env)
            for key in env.ssh_keys:
                self._keys.setdefault(key, []).append(env)
            for server in env.api_servers:
                self._servers.setdefault(server.rstrip("/").lower(), []).append(env)

    def host(self, text: str) -> Attribution | None:
        if text not in self._seen:
            self._seen[text] = self._host(text)
        return self._seen[text]

    def _host(self, text: str) -> Attribution | None:
        host = normalise_host(text)
        if not host:
            return None
        found: list[Attribution] = []
        for env, name in self._names.get(host, []):
            found.append(Attribution(env.name, env.tier, "host-name", "high", name))
        address = as_address(host)
        if address is not None:  # the address and every IPv4 it carries (NAT64, 6to4, ...)
            for candidate in dict.fromkeys((address, *hostforms.addresses(host))):
                for net, env in self._nets:
                    if candidate.version == net.version and candidate in net:
                        found.append(Attribution(env.name, env.tier, "network", "high"))
        else:
            for env, domains in self._domains:
                if any(host == d or host.endswith("." + d) for d in domains):
                    found.append(Attribution(env.name, env.tier, "domain", "medium"))
        if not found and address is None and self._resolve is not None:
            return self._by_resolution(host)
        return _decide(found)

    def _by_resolution(self, host: str) -> Attribution | None:
        """A name nothing else attributes, resolved at the vantage: where its addresses
        lie (an answer is the vantage's resolver's word, hence medium confidence)."""
        if host not in self._resolved:
            assert self._resolve is not None
            found = []
            for text in self._resolve(host):
                a = self.host(text)
                if a is not None and a.by == "network":
                    found.append(Attribution(a.environment, a.tier, "resolved", "medium"))
            self._resolved[host] = _decide(found)
        return self._resolved[host]

    def aws_account(self, account: str) -> Attribution | None:
        envs = self._accounts.get(account, [])
        return _decide([Attribution(e.name, e.tier, "aws-account", "high") for e in envs])

    def ssh_key(self, fingerprint: str) -> Attribution | None:
        envs = self._keys.get(fingerprint, [])
        return _decide([Attribution(e.name, e.tier, "ssh-public-key", "high") for e in envs])

    def api_server(self, url: str) -> Attribution | None:
        envs = self._servers.get(url.rstrip("/").lower(), [])
        return _decide([Attribution(e.name, e.tier, "kube-api", "high") for e in envs])


def _domains(env: EnvironmentMap) -> tuple[str, ...]:
    return tuple(normalise_host(d) for d in env.domains if normalise_host(d))


def _decide(found: list[Attribution]) -> Attribution | None:
    """Production first (fail closed), then the most certain."""
    if not found:
        return None
    return sorted(
        found, key=lambda a: (a.tier != "production", a.confidence != "high", a.by != "host-name")
    )[0]


# --- AWS access key ids --------------------------------------------------------------

KEY_PREFIXES = ("AKIA", "ASIA")  # long-lived and temporary access keys


def aws_account_of(key_id: str) -> str | None:
    """The account an access key id belongs to, decoded offline, or None for an older
    generation key (its first bit after the prefix is 0: no account inside)."""
    if len(key_id) != 20 or not key_id.startswith(KEY_PREFIXES):
        return None
    try:
        raw = base64.b32decode(key_id[4:])
    except ValueError:
        return None
    if not raw[0] & 0x80:
        return None
    value = int.from_bytes(raw[:6], "big")
    return f"{(value & 0x7FFFFFFFFF80) >> 7:012d}"


def aws_key_id_for(account: str, tail: bytes) -> str:
    """A well-formed current-generation access key id for `account` (the lab's and the
    tests' made-up keys): the inverse of aws_account_of."""
    head = ((1 << 47) | (int(account) << 7) | (tail[0] & 0x7F)).to_bytes(6, "big")
    return "AKIA" + base64.b32encode(head + tail[1:5]).decode()


def vantage_resolver(host: str) -> list[str]:
    """Addresses of `host` from the vantage's own resolver (nothing else is asked)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})

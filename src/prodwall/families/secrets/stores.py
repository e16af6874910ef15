"""Credential stores whose format says more than key=value: ~/.pgpass, ~/.netrc,
~/.docker/config.json and kubeconfig files. Each entry becomes the endpoint and
the secrets it holds; the generic finders handle the rest (~/.aws/credentials and
config, ~/.my.cnf, git remotes and ~/.git-credentials, CI variable dumps)."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

STORE_NAMES = (
    ".pgpass", ".netrc", "_netrc", ".my.cnf", ".git-credentials", "credentials",
    ".dockercfg", "config.json", "kubeconfig", "config",
)  # fmt: skip
STORE_GLOBS = (
    "*/.aws/credentials", "*/.aws/config", "*/.pgpass", "*/.my.cnf", "*/.netrc", "*/_netrc",
    "*/.docker/config.json", "*/.dockercfg", "*/.kube/config", "*kubeconfig*", "*.kubeconfig",
    "*/.git-credentials", "*/.git/config", "*/.config/git/credentials", "*/.gitconfig",
    "*/.npmrc", "*/.pypirc", "*/.s3cfg", "*/.boto", "*/.env", "*/.env.*", "*/ci-variables*",
)  # fmt: skip
HOME_STORES = (
    ".aws/credentials", ".aws/config", ".pgpass", ".my.cnf", ".netrc", ".docker/config.json",
    ".kube/config", ".git-credentials", ".gitconfig", ".npmrc", ".pypirc", ".s3cfg",
)  # fmt: skip


def is_store(path: str) -> bool:
    return any(fnmatch.fnmatch(path, g) for g in STORE_GLOBS)


@dataclass(frozen=True)
class StoreEntry:
    rule: str  # pgpass | netrc | docker-auth | kubeconfig
    hosts: tuple[tuple[str, int], ...]
    line: int
    secrets: tuple[str, ...] = field(default=(), repr=False)
    api_server: str = ""  # kubeconfig: the cluster's server URL


def entries(path: str, text: str) -> Iterator[StoreEntry]:
    name = path.rsplit("/", 1)[-1]
    if name == ".pgpass":
        yield from _pgpass(text)
    elif name in (".netrc", "_netrc"):
        yield from _netrc(text)
    elif name in ("config.json", ".dockercfg") and "auth" in text:
        yield from _docker(text)
    elif "clusters:" in text and "server:" in text:
        yield from _kubeconfig(text)


def _pgpass(text: str) -> Iterator[StoreEntry]:
    """host:port:database:user:password, with \\: and \\\\ escapes."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.replace("\\:", ":").replace("\\\\", "\\")
                 for p in re.split(r"(?<!\\):", line, maxsplit=4)]  # fmt: skip
        if len(parts) == 5 and parts[0] not in ("*", ""):
            port = int(parts[1]) if parts[1].isdigit() else 5432
            yield StoreEntry("pgpass", ((parts[0], port),), number, (parts[4],))


def _netrc(text: str) -> Iterator[StoreEntry]:
    words = [(m.group(0), text.count("\n", 0, m.start()) + 1) for m in re.finditer(r"\S+", text)]
    i = 0
    while i < len(words):
        if words[i][0] == "machine" and i + 1 < len(words):
            host, line = words[i + 1]
            j, secret = i + 2, ""
            while j + 1 < len(words) and words[j][0] not in ("machine", "default"):
                if words[j][0] == "password":
                    secret = words[j + 1][0]
                j += 2 if words[j][0] in ("login", "password", "account", "port") else 1
            yield StoreEntry("netrc", ((host, 0),), line, (secret,) if secret else ())
            i = j
        else:
            i += 1


def _docker(text: str) -> Iterator[StoreEntry]:
    try:
        data = json.loads(text)
    except ValueError:
        return
    auths = data.get("auths", data) if isinstance(data, dict) else {}
    if not isinstance(auths, dict):
        return
    for registry, entry in auths.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
            continue
        try:
            _, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        host = re.sub(r"^https?://", "", str(registry)).split("/", 1)[0]
        name, _, port = host.partition(":")
        line = text.count("\n", 0, max(text.find(json.dumps(registry)), 0)) + 1
        yield StoreEntry("docker-auth", ((name, int(port) if port.isdigit() else 443),), line,
                         (password,) if password else ())  # fmt: skip


_ITEM = re.compile(r"^(\s*)-\s+", re.MULTILINE)


def _kubeconfig(text: str) -> Iterator[StoreEntry]:
    """Clusters, users and contexts of a kubeconfig (YAML, read line by line without a
    YAML library at the vantage): each user's credentials go with the server of every
    context that names it."""
    sections = _sections(text)
    clusters = {i.get("name", ""): i for i in sections.get("clusters", [])}
    users = {i.get("name", ""): i for i in sections.get("users", [])}
    for ctx in sections.get("contexts", []) or [{"cluster": n, "user": ""} for n in clusters]:
        cluster = clusters.get(ctx.get("cluster", ""), {})
        server = cluster.get("server", "")
        if not server:
            continue
        user = users.get(ctx.get("user", ""), {})
        secrets = tuple(user[k] for k in ("token", "client-key-data", "password") if user.get(k))
        m = re.match(r"https?://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", server)
        if m:
            port = int(m.group(2)) if m.group(2) else 443
            yield StoreEntry("kubeconfig", ((m.group(1).strip("[]"), port),),
                             int(cluster.get("line", 0)), secrets, server)  # fmt: skip


def _sections(text: str) -> dict[str, list[dict[str, str]]]:
    """top-level list -> its items' scalar values (nested keys flattened by name)."""
    out: dict[str, list[dict[str, str]]] = {}
    current: list[dict[str, str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        top = re.match(r"^([A-Za-z-]+):\s*$", line)
        if top:
            current = out.setdefault(top.group(1), [])
            continue
        if re.match(r"^[^\s-]", line):
            current = None
            continue
        if current is None:
            continue
        if _ITEM.match(line):
            current.append({"line": str(number)})
            line = _ITEM.sub(lambda m: m.group(1) + "  ", line, count=1)
        kv = re.match(r"^\s*([A-Za-z-]+):\s+(.+?)\s*$", line)
        if kv and current:
            current[-1].setdefault(kv.group(1), kv.group(2).strip("'\""))
    return out

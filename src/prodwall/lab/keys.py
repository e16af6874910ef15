"""Deterministic lab SSH keys, derived from public seeds.

inventories/lab.yaml records the production host key's fingerprint, so the
key must be the same on every machine; deriving it from a seed means no
private key is committed. These keys protect nothing: the lab has no link
off the machine.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _key(purpose: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(f"prodwall-lab:{purpose}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_line(purpose: str, comment: str = "") -> str:
    raw = (
        _key(purpose)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{raw} {comment}".strip()


def fingerprint(purpose: str) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    blob = base64.b64decode(public_line(purpose).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def write_private(purpose: str, path: Path) -> Path:
    pem = _key(purpose).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)
    path.chmod(0o600)
    path.with_name(path.name + ".pub").write_text(public_line(purpose, purpose) + "\n")
    return path


def host_key_purpose(host: str) -> str:
    return f"host:{host}"


CLIENT = "client:operator"  # the key prodwall's host checks log in with

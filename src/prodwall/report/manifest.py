"""Integrity: a manifest of every artifact's sha256, signed with Ed25519 when a key is set.

`prodwall verify DIR` recomputes every hash and names each file that changed,
vanished or appeared, and checks the signature against a public key the
verifier trusts (a key shipped inside the folder proves nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ProdwallError

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
KEY_ENV = "PRODWALL_SIGNING_KEY"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def keygen(out: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = out.with_suffix(".key")
    public = out.with_suffix(".pub")
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ProdwallError(f"cannot load signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProdwallError(f"{path} is not an Ed25519 private key (make one: prodwall keygen)")
    return key


def _public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ProdwallError(f"cannot load public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ProdwallError(f"{path} is not an Ed25519 public key")
    return key


def write_manifest(folder: Path, signing_key: Path | None = None) -> Path:
    signing_key = signing_key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    files = {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE)
    }
    doc = {
        "schema": "prodwall.manifest/1",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "signed": signing_key is not None,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if signing_key is not None:
        signature = _private(signing_key).sign(path.read_bytes())
        (folder / SIGNATURE).write_text(base64.b64encode(signature).decode() + "\n")
    else:
        (folder / SIGNATURE).unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class Verification:
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    unlisted: tuple[str, ...]
    signature: str  # "valid", "invalid", "absent", "not checked (no public key given)"

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unlisted) and self.signature in (
            "valid",
            "absent",
            "not checked (no public key given)",
        )


def verify(folder: Path, public_key: Path | None = None) -> Verification:
    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
        files: dict[str, str] = doc["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise ProdwallError(f"{path}: not a readable prodwall manifest ({exc})") from None
    changed, missing = [], []
    for name, digest in files.items():
        target = folder / name
        if not target.is_file():
            missing.append(name)
        elif sha256_file(target) != digest:
            changed.append(name)
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    unlisted = sorted(present - set(files) - {MANIFEST, SIGNATURE})
    sig_path = folder / SIGNATURE
    if not sig_path.exists():
        signature = "invalid" if doc.get("signed") else "absent"  # a removed signature
    elif public_key is None:
        signature = "not checked (no public key given)"
    else:
        try:
            _public(public_key).verify(base64.b64decode(sig_path.read_text().strip()), raw)
            signature = "valid"
        except (InvalidSignature, ValueError):
            signature = "invalid"
    return Verification(tuple(changed), tuple(missing), tuple(unlisted), signature)

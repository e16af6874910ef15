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


def signing_key_path(given: Path | None) -> Path | None:
    """The key to sign with: the option, else $PRODWALL_SIGNING_KEY, else none."""
    return given or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)


def key_fingerprint(public: Ed25519PublicKey) -> str:
    """SHA256:<base64> of the raw public key, as ssh-keygen -l shows keys."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def signer_fingerprint(signing_key: Path | None) -> str | None:
    """The fingerprint a report states for the key that will sign its manifest."""
    return key_fingerprint(_private(signing_key).public_key()) if signing_key else None


def write_manifest(folder: Path, signing_key: Path | None = None) -> Path:
    signing_key = signing_key_path(signing_key)
    private = _private(signing_key) if signing_key is not None else None
    files = {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        # a copied run's own manifest is listed too: this manifest chains it
        if p.is_file() and str(p.relative_to(folder)) not in (MANIFEST, SIGNATURE)
    }
    doc: dict[str, object] = {
        "schema": "prodwall.manifest/1",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "signed": private is not None,
    }
    if private is not None:
        doc["signing_key"] = key_fingerprint(private.public_key())
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if private is not None:
        signature = private.sign(path.read_bytes())
        (folder / SIGNATURE).write_text(base64.b64encode(signature).decode() + "\n")
    else:
        (folder / SIGNATURE).unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class Verification:
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    unlisted: tuple[str, ...]
    signature: str  # what was found, in words
    signature_ok: bool  # with a public key: only a valid signature by that key
    problems: tuple[str, ...] = ()  # the manifest itself is missing or malformed

    @property
    def ok(self) -> bool:
        return (
            not (self.changed or self.missing or self.unlisted or self.problems)
            and self.signature_ok
        )


def verify(folder: Path, public_key: Path | None = None) -> Verification:
    """Every file against the manifest, and the manifest against the trusted key.

    With a public key, anything but a valid signature by that key fails: a
    deleted manifest.sig, a manifest rewritten to say `"signed": false`, a
    signature by another key. Without one, the hashes are checked and the
    signature is reported as not checked (the folder could have been re-signed
    by anyone who rewrote it).
    """
    if not folder.is_dir():
        raise ProdwallError(f"{folder}: no such folder")
    trusted = _public(public_key) if public_key is not None else None
    path = folder / MANIFEST
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
        files = doc["files"]
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise ValueError("'files' is not a map of names to hashes")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = "absent" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc})"
        return Verification(
            (),
            (),
            tuple(sorted(present - {SIGNATURE})),
            "not checked (no manifest)",
            False,
            (f"{MANIFEST} is {reason}: nothing in this folder can be vouched for",),
        )
    escaping = {n for n in files if Path(n).is_absolute() or ".." in Path(n).parts}
    problems = [f"{MANIFEST} lists '{n}', a path outside the folder" for n in sorted(escaping)]
    changed, missing = [], []
    for name, digest in files.items():
        target = folder / name
        if name in escaping:
            continue  # never read outside the folder on a manifest's say-so
        if not target.is_file():
            missing.append(name)
        elif sha256_file(target) != digest:
            changed.append(name)
    unlisted = sorted(present - set(files) - {MANIFEST, SIGNATURE})
    signature, signature_ok = _check_signature(folder, raw, doc, trusted)
    for nested in sorted(folder.glob(f"runs/*/{MANIFEST}")):
        # each copied run against its own manifest: the chain holds end to end
        inner = verify(nested.parent)
        where = str(nested.parent.relative_to(folder))
        changed += [f"{where}/{n}" for n in inner.changed]
        missing += [f"{where}/{n}" for n in inner.missing]
        unlisted += [f"{where}/{n}" for n in inner.unlisted]
        problems += [f"{where}: {p}" for p in inner.problems]
    return Verification(
        tuple(changed), tuple(missing), tuple(unlisted), signature, signature_ok, tuple(problems)
    )


def _check_signature(
    folder: Path, raw: bytes, doc: dict[str, object], trusted: Ed25519PublicKey | None
) -> tuple[str, bool]:
    sig_path = folder / SIGNATURE
    claims = doc.get("signed")
    if not sig_path.exists():
        if trusted is not None:
            return (
                "ABSENT, but a public key was given: a signed bundle was expected "
                "(a deleted manifest.sig or a manifest rewritten unsigned)",
                False,
            )
        if claims:
            return "ABSENT although the manifest says it was signed (removed)", False
        return "absent (unsigned bundle; give --public-key to require a signature)", True
    if trusted is None:
        return (
            f"present, not checked (no public key given; signed by {doc.get('signing_key', '?')})",
            True,
        )
    try:
        trusted.verify(base64.b64decode(sig_path.read_text().strip(), validate=True), raw)
    except (InvalidSignature, ValueError):
        named = doc.get("signing_key")
        other = (
            f" (the manifest names key {named}, you trust {key_fingerprint(trusted)})"
            if named and named != key_fingerprint(trusted)
            else ""
        )
        return f"INVALID: not a signature of this manifest by the trusted key{other}", False
    if claims is not True:
        return "INVALID: the manifest does not say it is signed", False
    return f"valid, by {key_fingerprint(trusted)}", True

"""Signing keys: made safely, named for a person or role, and trusted explicitly.

A key file is PEM with a short header of `# signer-name:` / `# signer-role:` lines
(OpenSSL and cryptography skip text before the PEM block), so the identity given at
keygen travels with the key and is stated, signed, in every manifest it signs.
Trust is a set of public keys the verifier names (--trusted-keys, --public-key,
$PRODWALL_TRUSTED_KEYS) plus the public half of the key this command signs with:
a key shipped inside a bundle proves nothing by itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from prodwall.errors import ProdwallError

KEY_ENV = "PRODWALL_SIGNING_KEY"
TRUST_ENV = "PRODWALL_TRUSTED_KEYS"
_PEM_PUBLIC = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
_SAFE_TEXT = re.compile(r"^[^\x00-\x1f\x7f]{1,120}$")


@dataclass(frozen=True)
class Signer:
    fingerprint: str
    name: str = ""
    role: str = ""

    def said(self) -> str:
        who = ", ".join(x for x in (self.name, self.role) if x)
        return f"{self.fingerprint} ({who})" if who else self.fingerprint


def key_fingerprint(public: Ed25519PublicKey) -> str:
    """SHA256:<base64> of the raw public key, as ssh-keygen -l shows keys."""
    return "SHA256:" + base64.b64encode(
        hashlib.sha256(raw_public(public)).digest()
    ).decode().rstrip("=")


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_raw(b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))


def _identity(text: str) -> tuple[str, str]:
    found = dict(re.findall(r"^# signer-(name|role): (.*)$", text, re.M))
    return found.get("name", "").strip(), found.get("role", "").strip()


def keygen(out: Path, name: str = "", role: str = "") -> tuple[Path, Path]:
    """STEM.key (0600 from its first byte, never over an existing file or through a
    link) and STEM.pub; both carry the signer's name and role."""
    for label, value in (("--name", name), ("--role", role)):
        if value and not _SAFE_TEXT.match(value):
            raise ProdwallError(f"keygen {label}: give 1-120 characters, no control characters")
    key = Ed25519PrivateKey.generate()
    private, public = out.with_name(out.name + ".key"), out.with_name(out.name + ".pub")
    if out.suffix in (".key", ".pub"):
        private, public = out.with_suffix(".key"), out.with_suffix(".pub")
    header = "# prodwall signing key\n" + "".join(
        f"# signer-{k}: {v}\n" for k, v in (("name", name), ("role", role)) if v
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path in (private, public):
        if os.path.lexists(path):
            raise ProdwallError(f"{path} exists; keygen never overwrites a key (choose another -o)")
    _create(private, header.encode() + pem, 0o600)
    try:
        _create(public, header.encode() + pub, 0o644)
    except ProdwallError:
        private.unlink()
        raise
    return private, public


def _create(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise ProdwallError(f"{path}: cannot create the key file ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def load_private(path: Path) -> tuple[Ed25519PrivateKey, Signer]:
    try:
        data = path.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError) as exc:
        raise ProdwallError(f"cannot load signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProdwallError(f"{path} is not an Ed25519 private key (make one: prodwall keygen)")
    name, role = _identity(data.decode("utf-8", "replace"))
    return key, Signer(key_fingerprint(key.public_key()), name, role)


def signing_key_path(given: Path | None) -> Path | None:
    """The key to sign with: the option, else $PRODWALL_SIGNING_KEY, else none."""
    return given or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)


def signer_of(signing_key: Path | None) -> Signer | None:
    """Who will sign (loading the key first: a bad key stops a command before it works)."""
    return load_private(signing_key)[1] if signing_key else None


@dataclass(frozen=True)
class Trust:
    """The public keys a verifier trusts, by fingerprint."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keys)

    def with_keys(self, more: Iterable[Ed25519PublicKey]) -> Trust:
        return Trust({**self.keys, **{key_fingerprint(k): k for k in more}}, self.sources)


def _public_keys(path: Path) -> list[Ed25519PublicKey]:
    if path.is_dir():
        return [k for p in sorted(path.glob("*.pub")) for k in _public_keys(p)]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProdwallError(f"cannot read trusted key {path}: {exc.strerror}") from None
    blocks = _PEM_PUBLIC.findall(data)
    out = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block)
        except ValueError as exc:
            raise ProdwallError(f"{path}: not a public key ({exc})") from None
        if isinstance(key, Ed25519PublicKey):
            out.append(key)
    if not out:
        raise ProdwallError(f"{path} holds no Ed25519 public key (make one: prodwall keygen)")
    return out


def trust_from(
    paths: Iterable[Path] = (), signing_key: Path | None = None, env: bool = True
) -> Trust:
    """The trust list: the keys named, $PRODWALL_TRUSTED_KEYS, and our own signing key."""
    named = [p for p in paths if p is not None]
    if env and os.environ.get(TRUST_ENV):
        named += [Path(p) for p in os.environ[TRUST_ENV].split(os.pathsep) if p]
    keys = [k for p in named for k in _public_keys(p)]
    own = signing_key_path(signing_key)
    if own is not None:
        keys.append(load_private(own)[0].public_key())
    trust = Trust(sources=tuple(map(str, named)) + ((str(own),) if own else ()))
    return trust.with_keys(keys)

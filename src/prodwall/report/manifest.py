"""Integrity: a manifest of every artifact's sha256, signed with Ed25519 when a key is set.

The manifest names the signer (fingerprint, the raw public key, and the name and role
given at keygen) and, for every run folder copied under runs/, the key that signed it
as verified when it was merged: a trusted outer signature thereby vouches for the
inner ones (a fleet host's key is made for one run and trusted by no one else).
Checking lives in verify.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from prodwall.errors import ProdwallError
from prodwall.report import keys
from prodwall.report.bundlefs import MANIFEST, SIGNATURE, describe, sha256_regular, walk
from prodwall.report.keys import KEY_ENV, key_fingerprint, keygen, signing_key_path

SCHEMA = "prodwall.manifest/2"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def signer_fingerprint(signing_key: Path | None) -> str | None:
    """The fingerprint a report states for the key that will sign its manifest."""
    signer = keys.signer_of(signing_key)
    return signer.fingerprint if signer else None


def write_manifest(
    folder: Path,
    signing_key: Path | None = None,
    vouched: Mapping[str, str | None] | None = None,
) -> Path:
    """List every file of `folder` with its sha256 and sign the list. `vouched`: each
    copied run folder -> the key fingerprint its own manifest was verified against."""
    signing_key = signing_key_path(signing_key)
    loaded = keys.load_private(signing_key) if signing_key is not None else None
    entries = walk(folder)
    odd = [describe(e) for e in entries if e.kind not in ("file", "dir")]
    if odd:  # prodwall wrote this folder: a link or FIFO in it is someone else's
        raise ProdwallError(f"{folder}: will not sign a folder holding: {'; '.join(odd[:5])}")
    files = {}
    for e in entries:
        if e.kind == "file" and e.path not in (MANIFEST, SIGNATURE):
            digest = sha256_regular(folder, e.path)
            if digest is None:
                raise ProdwallError(f"{folder / e.path}: changed while being listed")
            files[e.path] = digest
    doc: dict[str, object] = {
        "schema": SCHEMA,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "signed": loaded is not None,
    }
    if vouched:
        doc["runs"] = {k: {"signing_key": v} for k, v in sorted(vouched.items())}
    if loaded is not None:
        private, signer = loaded
        doc["signing_key"] = signer.fingerprint
        doc["signing_public_key"] = base64.b64encode(keys.raw_public(private.public_key())).decode()
        doc["signer"] = {"name": signer.name, "role": signer.role}
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if loaded is not None:
        signature = loaded[0].sign(path.read_bytes())
        (folder / SIGNATURE).write_text(base64.b64encode(signature).decode() + "\n")
    else:
        (folder / SIGNATURE).unlink(missing_ok=True)
    return path


# checking lives in verify.py; imported last, as it reads the names above
from prodwall.report.verify import Verification, verify  # noqa: E402

__all__ = [
    "KEY_ENV",
    "MANIFEST",
    "SIGNATURE",
    "Verification",
    "key_fingerprint",
    "keygen",
    "sha256_file",
    "signer_fingerprint",
    "signing_key_path",
    "verify",
    "write_manifest",
]

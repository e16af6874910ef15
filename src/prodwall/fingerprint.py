"""Keyed fingerprints of secrets: HMAC-SHA-256 under a key only the run holds.

A plain hash of a low-entropy password can be brute-forced from a report; a
keyed one cannot without the key, yet the same secret always matches.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from prodwall.errors import ProdwallError

KEY_ENV = "PRODWALL_FINGERPRINT_KEY"
# the same key from a file: what `prodwall fleet` gives each host (an environment value
# would show in the host's process list while Ansible runs the command)
KEY_FILE_ENV = "PRODWALL_FINGERPRINT_KEY_FILE"


def key_given() -> bool:
    return bool(os.environ.get(KEY_ENV) or os.environ.get(KEY_FILE_ENV))
MIN_KEY_BYTES = 16


def load_key(key_file: str | None) -> bytes:
    key_file = key_file or (None if os.environ.get(KEY_ENV) else os.environ.get(KEY_FILE_ENV))
    if key_file:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ProdwallError(
                f"cannot read fingerprint key file {key_file}: {exc.strerror}"
            ) from None
    else:
        key = os.environ.get(KEY_ENV, "").encode()
    if len(key) < MIN_KEY_BYTES:
        raise ProdwallError(
            f"the fingerprint key must be at least {MIN_KEY_BYTES} bytes: set "
            f"{KEY_ENV} or pass --key-file (e.g. `head -c 32 /dev/urandom | "
            "base64 > prodwall.key`)"
        )
    return key


def fingerprint(secret: bytes, key: bytes) -> str:
    return hmac.new(key, secret, hashlib.sha256).hexdigest()


def matches(candidate: bytes, key: bytes, expected_hex: str) -> bool:
    return hmac.compare_digest(fingerprint(candidate, key), expected_hex)

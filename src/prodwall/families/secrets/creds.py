"""Credentials that stand on their own: AWS access keys, private keys, vendor tokens.

Each is returned with its value for fingerprinting at the vantage, never further.
A documentation example (AWS's `...EXAMPLE` keys) is not a credential."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

_AWS_ID = re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z2-7]{16})(?![A-Z0-9])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_PEM = re.compile(
    r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----"
    r"([A-Za-z0-9+/=\s:,\-]*?)-----END \1-----"
)
# each token shape with the literal prefixes (anchors) that must be in a text holding it:
# the one list every prefilter is derived from (here and in scan.py)
TOKENS = (
    ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
     re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36})\b")),
    ("github-token", ("github_pat_",), re.compile(r"\b(github_pat_[A-Za-z0-9_]{82})\b")),
    ("gitlab-token", ("glpat-",), re.compile(r"\b(glpat-[A-Za-z0-9_-]{20})\b")),
    ("slack-token", ("xox",), re.compile(r"\b(xox[abprs]-[A-Za-z0-9-]{10,72})\b")),
    ("stripe-key", ("_live_",), re.compile(r"\b((?:sk|rk)_live_[A-Za-z0-9]{24,99})\b")),
    ("google-api-key", ("AIza",), re.compile(r"\b(AIza[0-9A-Za-z_-]{35})\b")),
    ("npm-token", ("npm_",), re.compile(r"\b(npm_[A-Za-z0-9]{36})\b")),
)  # fmt: skip
TOKEN_ANCHORS = tuple(a for _, anchors, _ in TOKENS for a in anchors)
AWS_ANCHORS = ("AKIA", "ASIA")
KEY_ANCHOR = "PRIVATE KEY-----"
ANCHORS = (*AWS_ANCHORS, KEY_ANCHOR, *TOKEN_ANCHORS)  # case-sensitive: as the shapes are


@dataclass(frozen=True)
class Credential:
    rule: str  # aws-access-key | private-key | github-token | ...
    start: int
    value: str = field(repr=False)  # what is fingerprinted
    also: tuple[str, ...] = field(default=(), repr=False)  # more secrets travelling with it
    account: str = ""  # AWS: the account the key id decodes to
    key_id_generation: str = ""  # AWS: current | older (no account inside)
    public_key: str = ""  # a private key's SHA256:... public-key fingerprint, if readable


def is_documentation_example(value: str) -> bool:
    return "EXAMPLE" in value.upper()


def aws_keys(text: str) -> Iterator[Credential]:
    """Access key ids, each with the 40-character secret nearest after it (same or next
    few lines), as `~/.aws/credentials`, env dumps and code hold them."""
    from prodwall.families.secrets.attribute import (
        aws_account_of,  # standard library only, shared with attribution
    )

    for m in _AWS_ID.finditer(text):
        key_id = m.group(1)
        if is_documentation_example(key_id):
            continue
        # the secret is written after the key id, or (environment dumps) before it
        after = text[m.end() : m.end() + 400]
        before = text[max(0, m.start() - 400) : m.start()]
        secret = next(
            (s.group(1) for s in _AWS_SECRET.finditer(after) if not s.group(1).isupper()),
            next(
                (s.group(1) for s in reversed(list(_AWS_SECRET.finditer(before)))
                 if not s.group(1).isupper()),
                "",
            ),
        )  # fmt: skip
        if is_documentation_example(secret):
            secret = ""
        account = aws_account_of(key_id)
        yield Credential(
            "aws-access-key",
            m.start(),
            key_id,
            (secret,) if secret else (),
            account or "",
            "current" if account else "older",
        )


def private_keys(text: str) -> Iterator[Credential]:
    for m in _PEM.finditer(text):
        body = "".join(line for line in m.group(2).split() if ":" not in line)
        yield Credential(
            "private-key", m.start(), body, public_key=openssh_public(m.group(1), body)
        )


def openssh_public(kind: str, body: str) -> str:
    """The SHA256 fingerprint of an OpenSSH private key's public half, which the format
    keeps in clear even when the private part is encrypted ("" for other formats)."""
    if kind != "OPENSSH PRIVATE KEY":
        return ""
    try:
        raw = base64.b64decode(body)
    except (binascii.Error, ValueError):
        return ""
    magic = b"openssh-key-v1\0"
    if not raw.startswith(magic):
        return ""
    at = len(magic)
    try:
        for _ in range(3):  # cipher name, kdf name, kdf options
            (n,) = struct.unpack_from(">I", raw, at)
            at += 4 + n
        (count,) = struct.unpack_from(">I", raw, at)
        (n,) = struct.unpack_from(">I", raw, at + 4)
        blob = raw[at + 8 : at + 8 + n]
    except struct.error:
        return ""
    if count < 1 or len(blob) != n:
        return ""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def tokens(text: str) -> Iterator[Credential]:
    for rule, _anchors, pattern in TOKENS:
        for m in pattern.finditer(text):
            yield Credential(rule, m.start(), m.group(1))


def every(text: str) -> Iterator[Credential]:
    if any(a in text for a in AWS_ANCHORS):
        yield from aws_keys(text)
    if KEY_ANCHOR in text:
        yield from private_keys(text)
    if any(a in text for a in TOKEN_ANCHORS):
        yield from tokens(text)

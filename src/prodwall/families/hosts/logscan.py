"""A bounded sample of a host's recent logs, searched at the host for payment card
numbers (Luhn-checked, known brand prefixes, the usual test cards ignored) and turned
into fingerprints of its words. Nothing read leaves: a card number leaves as its last
four digits and fingerprint, a word as the first 12 hex digits of its fingerprint, which
the runner compares with the inventory's production secrets (the host never holds
those fingerprints, only the key)."""

from __future__ import annotations

import glob
import hashlib
import hmac
import os
import re
from typing import Protocol

from prodwall.families.hosts.records import CardHit, HostsJob, LogSample

WORD_PREFIX = 12
MAX_WORDS_PER_FILE = 200_000
_CANDIDATE = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_SPLIT = re.compile(r"[\s\"'`,;=()\[\]{}<>|]+")
# published test numbers (card brands' and payment processors' documentation): decoys
TEST_CARDS = frozenset(
    {
        "4111111111111111",
        "4242424242424242",
        "4012888888881881",
        "4000056655665556",
        "4222222222222",
        "4917610000000000",
        "4444333322221111",
        "5555555555554444",
        "5105105105105100",
        "5200828282828210",
        "2223003122003222",
        "5454545454545454",
        "378282246310005",
        "371449635398431",
        "378734493671000",
        "6011111111111117",
        "6011000990139424",
        "6011000400000000",
        "3530111333300000",
        "3566002020360505",
        "30569309025904",
        "38520000023237",
        "36148900647913",
        "6200000000000005",
        "4000000000000002",
        "4000000000000077",
        "4000000000009995",
    }
)


class _Reads(Protocol):
    def text(self, path: str, limit: int = ...) -> str | None: ...


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand(digits: str) -> str:
    """The card scheme its prefix and length belong to ("": none: not a card number)."""
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649) and n in (16, 19):
        return "discover"
    if 3528 <= p4 <= 3589 and n in (16, 19):
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or p2 in (36, 38)) and n == 14:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    return ""


def cards(data: bytes, path: str, key: bytes) -> tuple[list[CardHit], int]:
    """Card numbers in `data` (the hits, and how many test-card decoys were ignored)."""
    hits: list[CardHit] = []
    decoys = 0
    for m in _CANDIDATE.finditer(data):
        digits = re.sub(rb"[ -]", b"", m.group()).decode()
        if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or not luhn(digits):
            continue
        kind = brand(digits)
        if not kind:
            continue
        if digits in TEST_CARDS:
            decoys += 1
            continue
        hits.append(
            CardHit(
                path=path,
                line=data.count(b"\n", 0, m.start()) + 1,
                last4=digits[-4:],
                brand=kind,
                fingerprint=hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:16],
            )
        )
    return hits, decoys


def words(text: str, key: bytes) -> tuple[str, ...]:
    """Fingerprint prefixes of each distinct word, split on whitespace and on the usual
    delimiters both (a password may hold '=' or ':'); at most MAX_WORDS_PER_FILE."""
    return _words(text, key)[0]


def _words(text: str, key: bytes) -> tuple[tuple[str, ...], bool]:
    seen: set[str] = set()
    cut = False
    for part in (*text.split(), *_SPLIT.split(text)):
        if 6 <= len(part) <= 200 and part not in seen:
            if len(seen) >= MAX_WORDS_PER_FILE:
                cut = True
                break
            seen.add(part)
    prefixes = (hmac.new(key, w.encode(), hashlib.sha256).hexdigest()[:WORD_PREFIX] for w in seen)
    return tuple(sorted(prefixes)), cut


def sample(job: HostsJob, r: _Reads) -> tuple[list[CardHit], int, list[LogSample]]:
    key = bytes.fromhex(job.key) if job.key else os.urandom(32)
    paths = {p for pattern in job.log_paths for p in glob.glob(pattern) if os.path.isfile(p)}
    newest = sorted(paths, key=_mtime, reverse=True)[: job.log_max_files]
    hits: list[CardHit] = []
    decoys = 0
    out: list[LogSample] = []
    for path in newest:
        data = _tail(path, job.log_sample_bytes, r)
        if data is None:
            continue
        found, ignored = cards(data, path, key)
        hits += found
        decoys += ignored
        text = data.decode("utf-8", "replace")
        found_words, cut = _words(text, key)
        out.append(LogSample(path=path, bytes=len(data), words=found_words, words_cut=cut))
    return hits, decoys, out


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _tail(path: str, size: int, r: _Reads) -> bytes | None:
    """The last `size` bytes, from a line start (a number cut in half is no number)."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(max(0, end - size))
            data = f.read(size)
    except OSError:
        r.text(path, 1)  # names it among the unreadable, with the reason
        return None
    if end > size and b"\n" in data:
        data = data[data.index(b"\n") + 1 :]
    return data

"""The secrets agent: runs at the vantage (shipped in the agent file), reads, never
connects. It returns findings with fingerprints, never a value, and what the same
pipeline made of a canary: a made-up production credential written to a temporary
file and read back like every other file (the positive control: silence elsewhere
counts only if the canary was found)."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from prodwall.engine.vantage_log import say
from prodwall.families.secrets.attribute import Attributor, vantage_resolver
from prodwall.families.secrets.keyvalue import settings
from prodwall.families.secrets.records import (
    Finding,
    SecretJob,
    SecretResult,
    SourceStats,
    Unreadable,
)
from prodwall.families.secrets.scan import Scanner, Tally
from prodwall.families.secrets.sources import Text, Walk, processes
from prodwall.families.secrets.stores import entries

SOURCES = ("files", "stores", "manifests", "processes")
PROGRESS_EVERY = 5000  # files


def run(raw_job: dict[str, Any]) -> dict[str, Any]:
    job = SecretJob.from_json(raw_job)
    try:
        out: dict[str, Any] = collect(job).to_json()
    except Exception as exc:
        # named by type only: an exception's message may quote the text it choked on,
        # and that text may be a secret
        raise RuntimeError(f"the secrets agent failed ({type(exc).__name__})") from None
    return out


def collect(job: SecretJob) -> SecretResult:
    resolve = vantage_resolver if job.options.resolve_hosts else None
    scanner = Scanner(bytes.fromhex(job.key), Attributor(job.environments, resolve))
    opts = job.options
    unreadable: list[Unreadable] = []
    canary = _canary(job, scanner)
    walk = Walk(opts, unreadable)
    findings: list[Finding] = []
    stats = {s: SourceStats(source=s) for s in SOURCES}
    tallies = {s: Tally() for s in SOURCES}
    started = {s: time.monotonic() for s in SOURCES}
    for text in walk.texts():
        if (text.source == "manifests" and not opts.manifests) or (
            text.source == "stores" and not opts.credential_stores
        ):
            text = replace(text, source="files")
        findings += _guarded(partial(_scan, scanner, text, tallies[text.source]), text, unreadable)
        stats[text.source] = _count(stats[text.source], text)
        if walk.files % PROGRESS_EVERY == 0:
            say(f"secrets: {walk.files:,} files read, {len(findings)} findings so far")
    for s in ("files", "stores", "manifests"):
        stats[s] = replace(
            stats[s],
            non_production=tallies[s].non_production,
            seconds=round(time.monotonic() - started["files"], 3),
        )
    stats["files"] = replace(
        stats["files"], skipped_binary=walk.skipped_binary, skipped_large=walk.skipped_large
    )
    if opts.processes:
        started["processes"] = time.monotonic()
        for text in processes(unreadable, say):
            read = partial(scanner.text, text.text, text.path, "processes", tallies["processes"])
            findings += _guarded(read, text, unreadable)
            stats["processes"] = _count(stats["processes"], text)
        stats["processes"] = replace(
            stats["processes"],
            non_production=tallies["processes"].non_production,
            seconds=round(time.monotonic() - started["processes"], 3),
        )
    say(f"secrets: {walk.files:,} files, {len(findings)} findings, {len(unreadable)} unreadable")
    return SecretResult(
        findings=tuple(findings),
        unreadable=tuple(unreadable),
        stats=tuple(stats[s] for s in SOURCES if s != "processes" or opts.processes),
        canary_found=tuple(canary),
        truncated=walk.truncated,
    )


def _guarded(
    scan: Callable[[], list[Finding]], text: Text, unreadable: list[Unreadable]
) -> list[Finding]:
    """One text's findings; a finder failing on it is named (by type: its message may quote
    the text) and the text counted unread, never the whole run lost."""
    try:
        return scan()
    except Exception as exc:
        why = f"the scanner failed on it ({type(exc).__name__})"
        unreadable.append(Unreadable(source=text.source, what=text.path, why=why))
        return []


def _count(stats: SourceStats, text: Text) -> SourceStats:
    return replace(stats, items=stats.items + 1, bytes=stats.bytes + text.size)


def _scan(scanner: Scanner, text: Text, tally: Tally) -> list[Finding]:
    found = scanner.text(text.text, text.path, text.source, tally)
    if text.source == "stores":
        covered: list[Finding] = []
        stored = list(entries(text.path, text.text))
        for entry in stored:
            secrets = tuple(s for s in entry.secrets if s)
            covered += scanner.endpoint(
                entry.rule, entry.hosts, secrets, text.path, entry.line, "stores", tally,
                f"{entry.rule} entry" + (f" for {entry.api_server}" if entry.api_server else ""),
            )  # fmt: skip
        # an entry says more than the URL the generic finders saw in it: one finding each
        targets = {f.target for f in covered}
        consumed = {scanner.fingerprint(s) for e in stored for s in e.secrets}
        found = [
            f
            for f in found
            if (f.fingerprints or f.target not in targets)
            and not (f.rule == "password-setting" and set(f.fingerprints) <= consumed)
        ] + covered
    if text.source == "manifests" and "Secret" in text.text:
        found += _secret_data(scanner, text, tally)
    return found


def _secret_data(scanner: Scanner, text: Text, tally: Tally) -> list[Finding]:
    """A Kubernetes Secret's `data:` values, base64-decoded and read like settings."""
    out: list[Finding] = []
    for s in settings(text.text):
        if not s.block.endswith("/data"):
            continue
        try:
            value = base64.b64decode(s.value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        for f in scanner.text(f"{s.key}={value}\n", text.path, "manifests", tally):
            out.append(replace(f, line=s.line, detail=f.detail + " (Secret data, decoded)"))
    return out


def _canary(job: SecretJob, scanner: Scanner) -> list[Finding]:
    """The canary through the same reader and finders as every file."""
    if not job.canary:
        return []
    fd, path = tempfile.mkstemp(prefix="prodwall-canary-", suffix=".env")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(job.canary)
        walk = Walk(replace(job.options, paths=(path,), include=(), exclude=()), [])
        texts = list(walk._walk(path, set()))
    finally:
        os.unlink(path)
    return [f for t in texts for f in _scan(scanner, replace(t, source="files"), Tally())]

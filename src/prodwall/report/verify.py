"""`prodwall verify`: a bundle checked as an adversary's input, all the way down.

Every entry is found by lstat (a link, FIFO or device is named, never followed or
read), every file against the manifest, the manifest against its signature, the
signer against the verifier's trust list, each copied run folder the same way (its
signer trusted, or vouched for by a trusted outer signer), every capture the results
cite against its hash, and the results hash the report prints against the data.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from prodwall.errors import ProdwallError
from prodwall.report import keys
from prodwall.report.bundlefs import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    describe,
    read_regular,
    sha256_regular,
    walk,
)
from prodwall.report.citations import cited_files, inside

MANIFEST_LIMIT = 64 << 20
RESULTS_LIMIT = 512 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Verification:
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    unlisted: tuple[str, ...]
    signature: str  # what was found, in words
    signature_ok: bool  # with a trust list: only a valid signature by a trusted key
    problems: tuple[str, ...] = ()  # the manifest, a nested run, cited evidence, the report
    irregular: tuple[str, ...] = ()  # links, FIFOs, devices: named, never followed
    trusted: bool = False  # signed by a trusted key (or one a trusted signer vouched for)
    signer: str = ""  # fingerprint (name, role) as the manifest states them
    nested: tuple[str, ...] = ()  # each copied run's own signature, in words

    @property
    def ok(self) -> bool:
        """Nothing changed, vanished, appeared or points elsewhere, and no bad signature."""
        bad = self.changed or self.missing or self.unlisted or self.problems or self.irregular
        return not bad and self.signature_ok

    def faults(self) -> list[str]:
        """Everything that keeps it from being intact, in words, most telling first."""
        what = [*self.problems, *(f"changed {n}" for n in self.changed)]
        what += [f"missing {n}" for n in self.missing]
        what += [f"added {n}" for n in self.unlisted]
        what += list(self.irregular)
        if not self.signature_ok:
            what.append(f"signature {self.signature}")
        return what

    @property
    def authenticated(self) -> bool:
        """Intact and signed by a key the verifier trusts: the only state that is evidence."""
        return self.ok and self.trusted


def verify(
    folder: Path,
    trust: keys.Trust | Path | None = None,
    vouched_key: str | None = None,
    _depth: int = 0,
) -> Verification:
    """Check `folder`. `trust`: the keys the verifier trusts (a Path: one public key
    file). `vouched_key`: the fingerprint an outer, trusted manifest says signed it."""
    if isinstance(trust, Path):
        trust = keys.trust_from([trust], env=False)
    trust = trust or keys.Trust()
    if not folder.is_dir():
        raise ProdwallError(f"{folder}: no such folder")
    entries = walk(folder)
    irregular = tuple(describe(e) for e in entries if e.kind not in ("file", "dir"))
    present = {e.path for e in entries if e.kind == "file"}
    expects_signature = bool(trust) or vouched_key is not None
    try:
        raw = read_regular(folder, MANIFEST, MANIFEST_LIMIT)
        doc = json.loads(raw)
        files = doc["files"]
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise ValueError("'files' is not a map of names to hashes")
    except (BundleError, ValueError, KeyError, TypeError, RecursionError) as exc:
        absent = MANIFEST not in present and not any(e.path == MANIFEST for e in entries)
        reason = "absent" if absent else f"unreadable ({exc})"
        return Verification(
            (),
            (),
            tuple(sorted(present - {SIGNATURE})),
            "not checked (no manifest)",
            False,
            (f"{MANIFEST} is {reason}: nothing in this folder can be vouched for",),
            irregular,
        )
    escaping = {n for n in files if not inside(n)}
    problems = [f"{MANIFEST} lists '{n}', a path outside the folder" for n in sorted(escaping)]
    changed, missing = [], []
    for name, digest in sorted(files.items()):
        if name in escaping:
            continue  # never read outside the folder on a manifest's say-so
        actual = sha256_regular(folder, name)
        if actual is None:
            missing.append(name)
        elif actual != digest:
            changed.append(name)
    unlisted = sorted(present - set(files) - {MANIFEST, SIGNATURE})
    signature, signature_ok, trusted, signer = _signature(
        folder, raw, doc, trust, vouched_key, SIGNATURE in present
    )
    if not signature_ok and not expects_signature and not doc.get("signed"):
        signature_ok = True
    nested_said: list[str] = []
    runs_doc = doc.get("runs") if isinstance(doc.get("runs"), dict) else {}
    for run in run_folders(entries):
        where = f"runs/{run}"
        said = runs_doc.get(where) if isinstance(runs_doc, dict) else None
        vouch = said.get("signing_key") if isinstance(said, dict) and trusted else None
        inner = verify(folder / where, trust, vouch if isinstance(vouch, str) else None, _depth + 1)
        changed += [f"{where}/{n}" for n in inner.changed]
        missing += [f"{where}/{n}" for n in inner.missing]
        unlisted += [f"{where}/{n}" for n in inner.unlisted]
        problems += [f"{where}: {p}" for p in inner.problems]
        irregular += tuple(f"{where}/{n}" for n in inner.irregular)
        nested_said.append(f"{where}: {inner.signature}")
        if not inner.signature_ok:
            problems.append(f"{where}: signature {inner.signature}")
        elif not inner.trusted and (trusted or expects_signature):
            problems.append(f"{where}: {inner.signature}: not signed by a trusted key")
    name, doc, said = _results(folder, present)  # read once, for both checks below
    problems += said
    if doc is not None:
        problems += _cited_evidence(folder, present, entries, name, doc)
    if _depth == 0:
        problems += _report_hash(folder, present, name, doc)
    return Verification(
        tuple(changed),
        tuple(missing),
        tuple(unlisted),
        signature,
        signature_ok,
        tuple(problems),
        irregular,
        trusted,
        signer,
        tuple(nested_said),
    )


def run_folders(entries: list[Any]) -> list[str]:
    """The copied run folders of a merged bundle: runs/NAME, real folders only."""
    return [
        e.path[5:]
        for e in entries
        if e.kind == "dir" and e.path.startswith("runs/") and e.path.count("/") == 1
    ]


def _signature(
    folder: Path,
    raw: bytes,
    doc: dict[str, Any],
    trust: keys.Trust,
    vouched: str | None,
    has_sig: bool,
) -> tuple[str, bool, bool, str]:
    """(in words, signature acceptable, signer trusted, signer as stated)."""
    claims = doc.get("signed")
    named = doc.get("signing_key") if isinstance(doc.get("signing_key"), str) else None
    who: dict[str, Any] = doc["signer"] if isinstance(doc.get("signer"), dict) else {}
    signer = keys.Signer(
        named or "", str(who.get("name", ""))[:120], str(who.get("role", ""))[:120]
    )
    if not has_sig:
        if trust or vouched:
            return (
                "ABSENT, but a signed bundle was expected (a trusted key was given or a "
                "trusted signer vouched for it): a deleted manifest.sig or a manifest "
                "rewritten unsigned",
                False,
                False,
                "",
            )
        if claims:
            return "ABSENT although the manifest says it was signed (removed)", False, False, ""
        return (
            "absent (unsigned bundle; give --trusted-keys to require a signature)",
            False,
            False,
            "",
        )
    key = trust.keys.get(named or "")
    if key is None and isinstance(doc.get("signing_public_key"), str):
        try:
            key = keys.public_from_raw(doc["signing_public_key"])
        except ValueError:
            key = None
        if key is not None and keys.key_fingerprint(key) != named:
            key = None  # the stated key and the stated fingerprint disagree
    if key is None and len(trust.keys) == 1:
        key = next(iter(trust.keys.values()))
    try:
        if key is None:
            raise InvalidSignature
        sig = base64.b64decode(read_regular(folder, SIGNATURE, 1024).strip(), validate=True)
        key.verify(sig, raw)
    except (InvalidSignature, ValueError, BundleError):
        other = ""
        if named and trust and named not in trust.keys:
            other = f" (the manifest names key {named}, you trust {', '.join(trust.keys)})"
        return (
            f"INVALID: not a signature of this manifest by the trusted key{other}",
            False,
            False,
            "",
        )
    fingerprint = keys.key_fingerprint(key)
    if claims is not True:
        return "INVALID: the manifest does not say it is signed", False, False, ""
    said = keys.Signer(fingerprint, signer.name, signer.role).said()
    if fingerprint in trust.keys:
        return f"valid, by {said}", True, True, said
    if vouched is not None and fingerprint == vouched:
        return f"valid, by {said}, vouched for by the trusted outer signer", True, True, said
    if trust or vouched:
        return (
            f"INVALID: valid by {said}, a key that is not trusted (the manifest names key "
            f"{named}, you trust {', '.join(trust.keys) or 'none'})",
            False,
            False,
            said,
        )
    return (
        f"present, valid by the key it names ({said}), but not checked against a trusted "
        "key (give --trusted-keys)",
        True,
        False,
        said,
    )


def _results(folder: Path, present: set[str]) -> tuple[str, Any, list[str]]:
    """The folder's source of truth (results.json, else merged.json), parsed, and what
    is wrong with it; the document is None when there is none or it cannot be read."""
    name = "results.json" if "results.json" in present else "merged.json"
    problems = []
    if {"results.json", "merged.json"} <= present:
        problems.append("holds both results.json and merged.json: two sources of truth")
    if name not in present:
        return name, None, problems
    try:
        return name, json.loads(read_regular(folder, name, RESULTS_LIMIT)), problems
    except (BundleError, ValueError, RecursionError) as exc:
        return name, None, [*problems, f"{name} cannot be read ({exc})"]


def _cited_evidence(
    folder: Path, present: set[str], entries: list[Any], name: str, doc: Any
) -> list[str]:
    problems = []
    runs = run_folders(entries)
    for file, digest in cited_files(doc):
        places = [file, *(f"runs/{r}/{file}" for r in runs)] if file else []
        if not any(sha256_regular(folder, p) == digest for p in places if p in present):
            problems.append(
                f"{name} cites capture {file or '(a path outside the bundle)'} sha256 "
                f"{digest[:16]}..., which is not in this bundle with that hash"
            )
    return problems


def _report_hash(folder: Path, present: set[str], name: str, doc: Any) -> list[str]:
    """The results hash the report states must be the hash of the results beside it."""
    if "report.html" not in present:
        return []
    from prodwall.report.combined import from_document
    from prodwall.report.findings_section import results_hash

    if doc is None:
        return ["report.html renders results that are not in this bundle, readable"]
    try:
        page = read_regular(folder, "report.html", RESULTS_LIMIT).decode("utf-8", "replace")
        stated = re.search(r"results sha256 ([0-9a-f]{64})", page)
        actual = results_hash(from_document(doc, str(folder / name)))
    except (ProdwallError, ValueError, RecursionError) as exc:
        return [f"report.html cannot be checked against the results ({exc})"]
    if stated is None or not _HEX64.match(stated.group(1)):
        return ["report.html states no results sha256"]
    if stated.group(1) != actual:
        return [
            f"report.html states results sha256 {stated.group(1)[:16]}..., the results "
            f"beside it hash to {actual[:16]}...: the report does not render this data"
        ]
    return []

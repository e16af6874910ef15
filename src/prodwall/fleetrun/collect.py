"""Each host's fetched bundle: unpacked safely, then verified before it is believed.

A bundle counts only if it unpacks within bounds (no links, no paths outside its
folder), its manifest matches every file and is signed by this fleet run's own key
(made for this run, so an old or forged bundle cannot pass), the manifest is the one
the host's run reported on its standard output, and its results are the intended
vantage's, from the inventory sent. Anything else makes the vantage inconclusive.
Every host holds the same run key: it proves the bundle is of this run; that a host
speaks only for its own vantage is the vantage check's to prove."""

from __future__ import annotations

import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodwall.errors import ProdwallError
from prodwall.fleetrun.hostmap import FleetTarget
from prodwall.report.keys import trust_from
from prodwall.report.manifest import sha256_file, verify
from prodwall.results import Results, read_results

MAX_BUNDLE_BYTES = 4 << 30  # unpacked; a vantage's captures are megabytes
MAX_MEMBERS = 200_000
RUN_TASK = "run the suite"
CLEANUP_TASK = "remove the work folder"


@dataclass(frozen=True)
class HostResult:
    target: FleetTarget
    covered: bool
    stage: str  # where it stopped: an Ansible task, "verify", "mapping"
    error: str  # Ansible's own message, or what the verification found
    run_dir: Path | None = None
    results: Results | None = None
    signing_key: str | None = None  # the fingerprint its bundle verified against


def signer_of_public(public_key: Path) -> str | None:
    """The fingerprint of the one key a fleet run trusted for a host's bundle."""
    trust = trust_from([public_key], env=False)
    return next(iter(trust.keys), None)


def failure(target: FleetTarget, stage: str, error: str) -> HostResult:
    return HostResult(target, False, stage, error.strip() or "(no message)")


def judge_host(
    target: FleetTarget,
    events: list[dict[str, Any]],
    collect: Path,
    public_key: Path,
    inventory_sha256: str,
) -> HostResult:
    failed = [e for e in events if e.get("status") in ("failed", "unreachable")]
    # a cleanup that failed after a verified run does not unmake the run; it is said
    leftover = [e for e in failed if e.get("task") == CLEANUP_TASK]
    bad = [e for e in failed if e.get("task") != CLEANUP_TASK]
    if bad:
        first = bad[0]
        said = [str(first.get("msg") or "")]
        if first.get("stderr"):
            said.append(str(first["stderr"]).strip()[-3000:])
        if first.get("rc") not in (None, 0):
            said.append(f"(exit {first['rc']})")
        return failure(target, f"{first['status']}: {first.get('task')}", "\n".join(said))
    run = next((e for e in events if e.get("task") == RUN_TASK), None)
    if run is None:
        return failure(target, "ansible", "Ansible reported no run of the suite for this host")
    try:
        doc = json.loads(str(run.get("stdout") or ""))
        reported = str(doc["manifest_sha256"])
    except (ValueError, KeyError, TypeError):
        return failure(target, RUN_TASK, "the run printed no result document on its output")
    tar = collect / target.host / "bundle.tar"
    run_dir = collect / target.host / "run"
    try:
        _unpack(tar, run_dir)
    except (OSError, tarfile.TarError, ProdwallError) as exc:
        return failure(target, "verify", f"the fetched bundle cannot be unpacked: {exc}")
    problems = _verify(run_dir, reported, public_key, target, inventory_sha256)
    if problems:
        return failure(target, "verify", "; ".join(problems))
    note = (
        f"the work folder on the host was not removed: {leftover[0].get('msg')}"
        if leftover
        else ""
    )
    return HostResult(
        target, True, "done", note, run_dir, read_results(run_dir / "results.json"),
        signer_of_public(public_key),
    )  # fmt: skip


def _unpack(tar: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    total = 0
    with tarfile.open(tar, "r:") as archive:
        members = archive.getmembers()
        if len(members) > MAX_MEMBERS:
            raise ProdwallError(f"{len(members)} members, more than {MAX_MEMBERS}")
        for m in members:
            parts = Path(m.name).parts
            if not parts or parts[0] != "out" or ".." in parts or Path(m.name).is_absolute():
                raise ProdwallError(f"member {m.name!r} is outside the bundle's folder")
            if not (m.isfile() or m.isdir()):
                raise ProdwallError(f"member {m.name!r} is not a plain file or folder")
            total += m.size
            if total > MAX_BUNDLE_BYTES:
                raise ProdwallError(f"more than {MAX_BUNDLE_BYTES >> 30} GiB unpacked")
        for m in members:
            target = dest.joinpath(*Path(m.name).parts[1:])
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = archive.extractfile(m)
            if src is None:
                raise ProdwallError(f"member {m.name!r} has no content")
            with src, target.open("wb") as out:
                shutil.copyfileobj(src, out)


def _verify(
    run_dir: Path, reported: str, public_key: Path, target: FleetTarget, inventory_sha256: str
) -> list[str]:
    check = verify(run_dir, trust_from([public_key], env=False))
    problems = []
    if not check.ok:
        for label, names in (
            ("changed", check.changed), ("missing", check.missing), ("unlisted", check.unlisted)
        ):  # fmt: skip
            if names:
                problems.append(f"{label} since the run: {', '.join(names[:10])}")
        problems += [*check.problems, *check.irregular]
        if not check.signature_ok:
            problems.append(f"not signed by this fleet run's key ({check.signature})")
        return problems or ["the bundle does not verify"]
    if sha256_file(run_dir / "manifest.json") != reported:
        return ["the manifest fetched is not the one the run reported"]
    try:
        results = read_results(run_dir / "results.json")
    except ProdwallError as exc:
        return [f"results.json unreadable: {exc}"]
    if results.meta.vantage.name != target.vantage:
        problems.append(
            f"results are vantage {results.meta.vantage.name!r}'s, not {target.vantage!r}'s"
        )
    if results.meta.inventory_sha256 != inventory_sha256:
        problems.append("results were judged against another inventory than the one sent")
    return problems

"""Write every view of some results into one folder, then its signed manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prodwall.report import html, junit, oscal
from prodwall.report.bundlefs import BundleError, copy_tree, read_regular, refuse_irregular
from prodwall.report.combined import Combined, write_merged
from prodwall.report.keys import signer_of
from prodwall.report.manifest import sha256_file, signing_key_path, write_manifest
from prodwall.report.verify import RESULTS_LIMIT

REPORT, JUNIT, OSCAL, MERGED = (
    "report.html",
    "junit-prodwall.xml",
    "oscal-assessment-results.json",
    "merged.json",
)


def write_bundle(
    c: Combined,
    out: Path,
    history: dict[str, Any] | None = None,
    signing_key: Path | None = None,
    sources: list[Path] | None = None,
    vouch: Mapping[Path, str | None] | None = None,
) -> Path:
    """Every view of `c` in `out` (in place: callers publish `out` whole, see
    bundlefs.staged), then its manifest. `sources`: the run folders the results came
    from; each is copied under runs/ (captures and its own signed manifest with it,
    never a link or a special file), so the bundle carries its evidence and its
    manifest vouches for the key each copied run was verified against (`vouch`: source
    -> the fingerprint it verified against; absent or None: not vouched for)."""
    signing_key = signing_key_path(signing_key)
    signer = signer_of(signing_key)  # load the key first: a bad key writes nothing
    out.mkdir(parents=True, exist_ok=True)
    prefixes, vouched = _copy_sources(sources or [], out, dict(vouch or {}))
    if len(c.runs) > 1 or not (out / "results.json").exists():
        write_merged(c, out / MERGED)  # the source of truth of this folder's views
    sidecars = {
        str(p.relative_to(out)): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and (p.suffix in (".json", ".pcap") or p.name in ("junit.xml", "report.html"))
        and p.name not in ("manifest.json", OSCAL)
        and not (p.parent == out and p.name == REPORT)
    }
    (out / REPORT).write_text(
        html.render(
            c,
            history,
            artifacts=sidecars,
            signer=signer.said() if signer else "",
            prefixes=prefixes,
        ),
        encoding="utf-8",
    )
    (out / JUNIT).write_text(junit.render(c, prefixes), encoding="utf-8")
    (out / OSCAL).write_text(oscal.render(c, sidecars, prefixes), encoding="utf-8")
    write_manifest(out, signing_key, vouched)
    return out / REPORT


RUNS = "runs"


def _copy_sources(
    sources: list[Path], out: Path, keys_of: dict[Path, str | None]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Copy each source run folder under out/runs/NN-VANTAGE/ (a merged bundle's own
    run folders too); vantage -> that prefix, and each copied folder -> its signer."""
    prefixes: dict[str, str] = {}
    vouched: dict[str, str | None] = {}
    folders: list[tuple[Path, str | None]] = []
    for given in sources:
        folder = given if given.is_dir() else given.parent
        key = keys_of.get(given)
        if (folder / RUNS).is_dir() and not (folder / "results.json").is_file():
            # a verified merged bundle vouched for its runs' keys; an unverified one cannot
            folders += [(sub, _own_signer(sub) if key else None)
                        for sub in sorted((folder / RUNS).iterdir())
                        if sub.is_dir() and not sub.is_symlink()]  # fmt: skip
        else:
            folders.append((folder, key))
    for i, (folder, key) in enumerate(folders, 1):
        entries = refuse_irregular(folder)  # a link or FIFO is named, never read or copied
        try:  # bounded: a results.json the size of a disk is no run folder
            raw = json.loads(read_regular(folder, "results.json", RESULTS_LIMIT))
            vantage = raw["meta"]["vantage"]["name"]
        except (BundleError, ValueError, KeyError, TypeError, RecursionError):
            continue  # not a run folder (a merged.json, say): nothing of its own to carry
        if not isinstance(vantage, str):
            continue
        name = f"{i:02d}-{re.sub(r'[^A-Za-z0-9._-]+', '_', vantage)[:60]}"
        copy_tree(folder, out / RUNS / name, entries=entries)
        prefixes.setdefault(vantage, f"{RUNS}/{name}/")
        vouched[f"{RUNS}/{name}"] = key
    return prefixes, vouched


def _own_signer(folder: Path) -> str | None:
    """A run folder inside a verified merged bundle: the key its manifest names (the
    merged bundle's trusted signer vouched for it, and verify checked that)."""
    try:
        named = json.loads((folder / "manifest.json").read_text()).get("signing_key")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return named if isinstance(named, str) else None

"""Write every view of some results into one folder, then its signed manifest."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from . import html, junit, oscal
from .combined import Combined, write_merged
from .manifest import sha256_file, signer_fingerprint, signing_key_path, write_manifest

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
) -> Path:
    """Every view of `c` in `out`, then its manifest. `sources`: the run folders the
    results came from; each is copied whole under runs/ (its captures and its own signed
    manifest with it), so the bundle an auditor receives carries its evidence and its
    manifest chains theirs."""
    signing_key = signing_key_path(signing_key)
    signer = signer_fingerprint(signing_key)  # load the key first: a bad key writes nothing
    out.mkdir(parents=True, exist_ok=True)
    prefixes = _copy_sources(sources or [], out)
    if len(c.runs) > 1 or not (out / "results.json").exists():
        write_merged(c, out / MERGED)  # the source of truth of this folder's views
    sidecars = {
        str(p.relative_to(out)): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and (p.suffix in (".json", ".pcap") or p.name == "junit.xml")
        and p.name not in ("manifest.json", OSCAL)
    }
    (out / REPORT).write_text(
        html.render(c, history, artifacts=sidecars, signer=signer or "", prefixes=prefixes),
        encoding="utf-8",
    )
    (out / JUNIT).write_text(junit.render(c), encoding="utf-8")
    (out / OSCAL).write_text(oscal.render(c, sidecars), encoding="utf-8")
    write_manifest(out, signing_key)
    return out / REPORT


RUNS = "runs"


def _copy_sources(sources: list[Path], out: Path) -> dict[str, str]:
    """Copy each source run folder under out/runs/NN-VANTAGE/; vantage -> that prefix."""
    prefixes: dict[str, str] = {}
    folders = [p if p.is_dir() else p.parent for p in sources]
    for i, folder in enumerate(folders, 1):
        folder = folder.resolve()
        if folder == out.resolve() or out.resolve() in folder.parents:
            continue
        try:
            vantage = json.loads((folder / "results.json").read_text())["meta"]["vantage"]["name"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a run folder (a merged.json, say): nothing of its own to carry
        name = f"{i:02d}-{re.sub(r'[^A-Za-z0-9._-]+', '_', vantage)}"
        target = out / RUNS / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target, symlinks=False)
        prefixes[vantage] = f"{RUNS}/{name}/"
    return prefixes

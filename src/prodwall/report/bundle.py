"""Write every view of some results into one folder, then its signed manifest."""

from __future__ import annotations

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
    c: Combined, out: Path, history: dict[str, Any] | None = None, signing_key: Path | None = None
) -> Path:
    signing_key = signing_key_path(signing_key)
    signer = signer_fingerprint(signing_key)  # load the key first: a bad key writes nothing
    out.mkdir(parents=True, exist_ok=True)
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
        html.render(c, history, artifacts=sidecars, signer=signer or ""), encoding="utf-8"
    )
    (out / JUNIT).write_text(junit.render(c), encoding="utf-8")
    (out / OSCAL).write_text(oscal.render(c), encoding="utf-8")
    write_manifest(out, signing_key)
    return out / REPORT

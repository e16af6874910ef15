"""Where the evidence a verdict cites sits inside a bundle: one reading for the views
(HTML, OSCAL, JUnit links) and for `verify` (each cited capture must be there)."""

from __future__ import annotations

from typing import Any


def inside(name: str) -> bool:
    """A '/'-separated path that stays inside the folder it is read from."""
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def bundle_relative(file: str) -> str:
    """Where a cited capture sits inside its run folder. Older runs recorded the path as
    written at run time (absolute, or from the working directory): its evidence/ part."""
    if inside(file) and "evidence/" not in file[1:]:
        return file
    parts = file.replace("\\", "/").split("/")
    if "evidence" in parts:
        tail = parts[len(parts) - 1 - parts[::-1].index("evidence") :]
        if inside("/".join(tail)):
            return "/".join(tail)
    return file if inside(file) else ""


def cited_files(doc: Any) -> list[tuple[str, str]]:
    """(bundle-relative file, sha256) of every capture a results or merged file cites."""
    runs = doc.get("runs") if isinstance(doc, dict) and "runs" in doc else [doc]
    out = []
    for run in runs if isinstance(runs, list) else []:
        verdicts = run.get("verdicts") if isinstance(run, dict) else None
        for v in verdicts if isinstance(verdicts, list) else []:
            ev = v.get("evidence") if isinstance(v, dict) else None
            files = ev.get("files") if isinstance(ev, dict) else None
            for f in files if isinstance(files, list) else []:
                if isinstance(f, dict) and isinstance(f.get("file"), str):
                    out.append((bundle_relative(f["file"]), str(f.get("sha256", ""))))
    return list(dict.fromkeys(out))


def capture_refs(evidence: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(bundle-relative path, sha256) of each capture a verdict cites, under the prefix
    of the copied run folder it lives in; malformed entries are skipped, not trusted."""
    files = evidence.get("files") if isinstance(evidence, dict) else None
    out = []
    for f in files if isinstance(files, list) else []:
        if isinstance(f, dict) and isinstance(f.get("file"), str):
            rel = bundle_relative(f["file"])
            if rel:
                out.append((prefix + rel, str(f.get("sha256", ""))))
    return out

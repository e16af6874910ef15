"""prodwall as one file a vantage host can run without internet: a zipapp built from
the distributions installed beside this prodwall (its requirements, transitively).

Compiled extensions (numpy, pydantic-core, cryptography) cannot be imported from a zip,
so the archive unpacks itself once into a cache folder named by its own sha256 (as shiv
does) and runs from there; a host whose Python cannot load them (another minor version
or platform) is told so by the bootstrap and exits 2, which the fleet reports as that
vantage's inconclusive run, never as a pass."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import platform
import re
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodwall.errors import ProdwallError
from prodwall.report.manifest import sha256_file
from prodwall.runner import find_checks

BOOTSTRAP = '''\
"""prodwall zipapp bootstrap: unpack once (by content hash), then run the CLI."""
import json, os, shutil, stat, sys, sysconfig, tempfile, time, zipfile

def _unpack():
    here = os.path.abspath(sys.argv[0])
    with zipfile.ZipFile(here) as z:
        build = json.loads(z.read("prodwall-build.json"))
        tag = sysconfig.get_config_var("EXT_SUFFIX") or ""
        if tag != build["ext_suffix"]:
            sys.stderr.write(
                "prodwall.pyz was built for %s (extension suffix %s); this host's %s at %s "
                "has %s: run the fleet from a runner with the same Python, or install "
                "prodwall on this host\\n" % (build["python"], build["ext_suffix"],
                sys.version.split()[0], sys.executable, tag or "none"))
            sys.exit(2)
        # not under the home folder: the secrets family may read homes, and must not
        # read prodwall's own packages there
        base = os.environ.get("PRODWALL_PYZ_CACHE") or "/var/tmp/prodwall-%d" % os.geteuid()
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            sys.stderr.write(
                "prodwall.pyz: refusing the unpack folder %s: it must be a folder of this "
                "user (uid %d) that nobody else can write (another user could plant code "
                "there); remove it or set PRODWALL_PYZ_CACHE\\n" % (base, os.geteuid()))
            sys.exit(2)
        target = os.path.join(base, "pyz-" + build["sha256"][:16])
        if not os.path.isfile(os.path.join(target, ".complete")):
            work = tempfile.mkdtemp(prefix=".unpack-", dir=base)
            z.extractall(work)
            open(os.path.join(work, ".complete"), "w").close()
            try:
                os.rename(work, target)  # atomic: a concurrent run sees all or nothing
            except OSError:
                shutil.rmtree(work, ignore_errors=True)  # another run won the race
    os.utime(target)  # in use: the pruning below keys on it
    for old in os.listdir(base):  # other versions nobody ran for a week: ~140 MB each
        path = os.path.join(base, old)
        try:
            stale = os.lstat(path).st_mtime < time.time() - 7 * 86400
            if old.startswith(("pyz-", ".unpack-")) and path != target and stale:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
    return os.path.join(target, "site")

site = _unpack()
sys.path.insert(0, site)
# pytest runs in a child interpreter: it must find the same packages and plugins
os.environ["PYTHONPATH"] = os.pathsep.join(
    [site] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
from prodwall.cli import main
sys.exit(main())
'''

# Not needed at a vantage: development tools and the lab's AWS simulator.
SKIP_DISTS = {"moto", "ansible-core", "ansible", "mypy", "ruff", "hypothesis", "pip"}
SKIP_PARTS = re.compile(r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$")


@dataclass(frozen=True)
class Zipapp:
    path: Path
    sha256: str  # of the file: the fleet checks the copy on each host against it
    python: str
    distributions: tuple[str, ...]
    size: int


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str = "prodwall") -> list[md.Distribution]:
    """The installed distributions `root` needs at run time, extras not asked for left out."""
    seen: dict[str, md.Distribution] = {}
    todo = [root]
    while todo:
        name = _norm(todo.pop())
        if name in seen or name in SKIP_DISTS:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional or platform-specific requirement not installed here
        seen[name] = dist
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            if "extra ==" in marker:
                continue
            if marker.strip() and not _marker_holds(marker):
                continue
            todo.append(re.split(r"[\s\[<>=!~(]", spec.strip(), maxsplit=1)[0])
    return list(seen.values())


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker

        return bool(Marker(marker.strip()).evaluate())
    except Exception:  # an unparsable marker: include the requirement rather than miss it
        return True


def build(out: Path) -> Zipapp:
    """Write the zipapp to `out` (atomically) and describe it."""
    dists = closure()
    own = md.distribution("prodwall")
    checks = find_checks()
    tmp = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _write(out, tmp, dists, own, checks)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never a half-written archive left beside --out
        raise


def _write(out: Path, tmp: Path, dists: Any, own: Any, checks: Path) -> Zipapp:
    names: list[str] = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("__main__.py", BOOTSTRAP)
        for dist in dists:
            names.append(f"{dist.metadata['Name']}=={dist.version}")
            if dist is own or _norm(dist.metadata["Name"]) == "prodwall":
                _add_prodwall(z, dist)
                continue
            for rel in dist.files or []:
                src = Path(str(dist.locate_file(rel)))
                arc = str(rel).replace("\\", "/")
                if arc.startswith("..") or SKIP_PARTS.search(arc) or not src.is_file():
                    continue  # scripts outside site-packages, caches and test suites
                z.write(src, "site/" + arc)
        for path in sorted(checks.rglob("*")):
            if path.is_file() and not SKIP_PARTS.search(path.as_posix()):
                z.write(path, "site/prodwall/builtin_checks/" + path.relative_to(checks).as_posix())
        meta: dict[str, Any] = {
            "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
            "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
            "distributions": sorted(names),
        }
        # the archive's identity: its members, hashed; the cache folder on hosts is named by it
        digest = hashlib.sha256()
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            digest.update(f"{info.filename}\0{info.CRC}\0{info.file_size}\n".encode())
        meta["sha256"] = digest.hexdigest()
        z.writestr("prodwall-build.json", json.dumps(meta, indent=1))
    with tmp.open("r+b") as f:  # the shebang: `python3 prodwall.pyz` and `./prodwall.pyz`
        body = f.read()
        f.seek(0)
        f.write(b"#!/usr/bin/env python3\n" + body)
    tmp.chmod(0o755)
    tmp.replace(out)
    return Zipapp(out, sha256_file(out), meta["python"], tuple(sorted(names)), out.stat().st_size)


def _add_prodwall(z: zipfile.ZipFile, dist: md.Distribution) -> None:
    """prodwall itself from its package folder (an editable install has no files in
    site-packages), with a dist-info of its own so its entry points (the pytest plugin,
    the probe families) are found on the host."""
    import prodwall

    pkg = Path(prodwall.__file__).parent
    for path in sorted(pkg.rglob("*")):
        if path.is_file() and not SKIP_PARTS.search(path.as_posix()):
            z.write(path, "site/prodwall/" + path.relative_to(pkg).as_posix())
    info = f"site/prodwall-{dist.version}.dist-info/"
    z.writestr(info + "METADATA", dist.read_text("METADATA") or "")
    z.writestr(info + "entry_points.txt", dist.read_text("entry_points.txt") or "")
    z.writestr(info + "RECORD", "")


def describe(path: Path) -> Zipapp:
    """An existing zipapp (`--zipapp FILE`), checked to be one of ours."""
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("prodwall-build.json"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise ProdwallError(
            f"{path}: not a prodwall zipapp ({exc}); build one with `prodwall zipapp -o FILE`"
        ) from exc
    return Zipapp(
        path, sha256_file(path), meta["python"], tuple(meta["distributions"]), path.stat().st_size
    )

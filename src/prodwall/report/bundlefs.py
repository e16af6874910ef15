"""A bundle on disk, handled as untrusted: walked without following links, read only
through regular files reached without a link, copied within bounds, published whole.

A bundle is evidence handed from one party to another: a symlink inside it can point
at the signer's private key or at /dev/zero, a FIFO blocks a reader forever, and a
folder half-written by an interrupted command looks like a finished one. So nothing
here follows a link, every special file is named, and a bundle is written to a
private folder beside its destination and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prodwall.errors import InputError, Problem, ProdwallError

# Bounds on what one copy or one walk may take: far above any real bundle (the demo's
# merged bundle is a few MB in a few hundred files), far below a disk or an inode table.
MAX_ENTRIES = 200_000
MAX_BYTES = 8 << 30
STAGE_MARK = ".prodwall-partial-"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"


class BundleError(ProdwallError):
    """A bundle that cannot be read or written safely (exit 2: bad input)."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the bundle root, '/'-separated
    kind: str  # file, dir, symlink, fifo, socket, device
    size: int = 0
    target: str = ""  # where a symlink points (never followed)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def walk(root: Path, max_entries: int = MAX_ENTRIES) -> list[Entry]:
    """Every entry below `root`, found by lstat: links are listed, never entered."""
    out: list[Entry] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(root / rel if rel else root) as it:
                items = sorted(it, key=lambda d: d.name)
        except OSError as exc:
            raise BundleError(f"{root / rel}: cannot list ({exc.strerror})") from None
        for item in items:
            path = f"{rel}/{item.name}" if rel else item.name
            st = item.stat(follow_symlinks=False)
            kind = _kind(st.st_mode)
            target = os.readlink(item.path) if kind == "symlink" else ""
            out.append(Entry(path, kind, st.st_size if kind == "file" else 0, target))
            if len(out) > max_entries:
                raise BundleError(
                    f"{root}: more than {max_entries} entries; not a prodwall bundle "
                    "(refused rather than walked to the end)"
                )
            if kind == "dir":
                pending.append(path)
    return sorted(out, key=lambda e: e.path)


def describe(entry: Entry) -> str:
    """An entry that is neither a regular file nor a folder, in words."""
    if entry.kind == "symlink":
        return f"{entry.path} is a symbolic link (to {entry.target!r}; never followed)"
    return f"{entry.path} is a {entry.kind}, not a regular file"


def open_regular(root: Path, rel: str) -> int:
    """A read-only descriptor of root/rel, reached through no link, that is a regular
    file; OSError otherwise (ELOOP for a link on the way, EINVAL for a special file)."""
    parts = [p for p in rel.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise OSError(errno.EINVAL, f"'{rel}' is not a path inside the bundle")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(root, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        # O_NONBLOCK: opening a FIFO must not wait for a writer
        leaf = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(os.fstat(leaf).st_mode):
        os.close(leaf)
        raise OSError(errno.EINVAL, f"'{rel}' is not a regular file")
    return leaf


def sha256_regular(root: Path, rel: str) -> str | None:
    """The sha256 of root/rel, or None when it is absent, a link, or not a regular file."""
    try:
        fd = open_regular(root, rel)
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_regular(root: Path, rel: str, limit: int) -> bytes:
    """At most `limit` bytes of a regular file reached through no link (BundleError
    when it is larger, a link, special or absent)."""
    try:
        fd = open_regular(root, rel)
    except OSError as exc:
        raise BundleError(f"{root / rel}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"{root / rel}: larger than {limit} bytes; refused")
    return data


def refuse_irregular(src: Path) -> list[Entry]:
    """Every entry of a folder to be copied, or InputError naming each link or special
    file in it (a bundle carries no pointers)."""
    entries = walk(src)
    odd = [describe(e) for e in entries if e.kind not in ("file", "dir")]
    if odd:
        raise InputError(
            [
                Problem(str(src), None, "", f"refused to copy: {line}", "remove it, or re-run")
                for line in odd[:20]
            ]
        )
    return entries


def copy_tree(
    src: Path, dst: Path, max_bytes: int = MAX_BYTES, entries: list[Entry] | None = None
) -> None:
    """Copy a run folder: regular files and folders only, within bounds. Any link or
    special file refuses the whole copy (naming it): a bundle carries no pointers."""
    entries = refuse_irregular(src) if entries is None else entries
    total = sum(e.size for e in entries)
    if total > max_bytes:
        raise BundleError(f"{src}: {total} bytes, over the {max_bytes}-byte bound; refused")
    dst.mkdir(parents=True)
    copied = 0
    for entry in entries:
        target = dst / entry.path
        if entry.kind == "dir":
            target.mkdir()
            continue
        try:
            fd = open_regular(src, entry.path)
        except OSError as exc:  # it changed since the walk: a link or FIFO swapped in
            raise BundleError(f"{src / entry.path}: cannot copy ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as f, target.open("xb") as g:
            while chunk := f.read(1 << 20):
                copied += len(chunk)
                if copied > max_bytes:  # it grew since the walk
                    raise BundleError(f"{src}: grew past the {max_bytes}-byte bound; refused")
                g.write(chunk)


def _is_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except NotADirectoryError:
        return False


def check_out(out: Path, force: bool) -> None:
    """Refuse an --out that is a file, or a folder with something in it (without --force)."""
    if out.is_symlink():
        raise BundleError(f"--out {out} is a symbolic link; give a real folder path")
    if out.exists() and not out.is_dir():
        raise BundleError(f"--out {out} is a file, not a folder; give a folder path")
    if out.exists() and not force and not _is_empty_dir(out):
        raise BundleError(
            f"--out {out} is not empty; give a new folder, or --force to replace it whole"
        )


@contextlib.contextmanager
def staged(out: Path, force: bool = False) -> Iterator[Path]:
    """A private folder beside `out` to write a bundle into; renamed onto `out` when the
    block ends normally, removed otherwise (an interrupt or an error leaves nothing that
    looks like a bundle). A concurrent writer that published first wins: without
    --force, this one is refused instead of mixing the two."""
    check_out(out, force)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGE_MARK}", dir=parent))
    except OSError as exc:
        raise BundleError(f"--out {out}: cannot write there ({exc.strerror})") from None
    try:
        yield stage
        stage.chmod(0o755)  # mkdtemp's 0700 suits the writing, not the reading
        _publish(stage, out, force)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _publish(stage: Path, out: Path, force: bool) -> None:
    try:
        os.rename(stage, out)  # atomic; fails on a non-empty folder (another writer)
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR) or not force:
            raise BundleError(
                f"--out {out}: another bundle appeared there while this one was written "
                f"({exc.strerror}); nothing was replaced"
            ) from None
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=stage.parent))
    os.rename(out, old / "bundle")
    os.rename(stage, out)
    shutil.rmtree(old, ignore_errors=True)

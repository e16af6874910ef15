"""Where the secrets agent looks: directory trees (files, credential stores and
manifests sorted by path and content), and every process's environment and
command line. Bounded: a per-file size cap, a file count cap, binaries skipped,
symlinks not followed, one filesystem's worth of /proc at most."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
import stat
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prodwall.families.secrets.records import ScanOptions, Unreadable
from prodwall.families.secrets.stores import HOME_STORES, is_store

MANIFEST_MARKS = ("apiVersion:", "kind:", "services:", "\nENV ", '"apiVersion"')
MANIFEST_NAMES = ("docker-compose", "compose.y", "Dockerfile", "Containerfile", "values.y")
ARCHIVES = (".zip", ".jar", ".war", ".tar", ".tar.gz", ".tgz")
ARCHIVE_MEMBERS = 2000  # at most, per archive


@dataclass(frozen=True)
class Text:
    source: str  # files | stores | manifests | processes
    path: str
    text: str
    size: int


@dataclass
class Walk:
    options: ScanOptions
    unreadable: list[Unreadable]
    files: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    truncated: str = ""

    def texts(self) -> Iterator[Text]:
        seen: set[tuple[int, int]] = set()  # (device, inode): bind mounts seen once
        roots = list(self.options.paths)
        if self.options.credential_stores:
            roots += [p for p in _home_stores() if not any(_under(p, r) for r in roots)]
        for root in roots:
            yield from self._walk(root, seen)

    def _walk(self, root: str, seen: set[tuple[int, int]]) -> Iterator[Text]:
        try:
            top = os.lstat(root)
        except OSError:
            return  # a default root this host does not have: nothing to read there
        if stat.S_ISREG(top.st_mode):
            yield from self._file(root, top, seen)
            return
        for folder, dirs, names in os.walk(root, onerror=self._refused):
            if self.options.git_history and ".git" in dirs:
                yield from self._history(os.path.join(folder, ".git"))
            dirs[:] = sorted(d for d in dirs if not self._excluded(os.path.join(folder, d) + "/"))
            for name in sorted(names):
                path = os.path.join(folder, name)
                if self._excluded(path):
                    continue
                try:
                    st = os.lstat(path)
                except OSError as exc:
                    self._refused(exc)
                    continue
                if stat.S_ISREG(st.st_mode):
                    yield from self._file(path, st, seen)
                if self.truncated:
                    return

    def _file(self, path: str, st: os.stat_result, seen: set[tuple[int, int]]) -> Iterator[Text]:
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        if self.files >= self.options.max_files:
            self.truncated = f"stopped after {self.files:,} files (max_files)"
            return
        self.files += 1
        if st.st_size > self.options.max_file_bytes:
            self.skipped_large += 1
            return
        try:
            with open(path, "rb") as f:
                data = f.read(self.options.max_file_bytes + 1)
        except OSError as exc:
            self.unreadable.append(Unreadable(source="files", what=path, why=_why(exc)))
            return
        if self.options.archives and path.lower().endswith(ARCHIVES):
            yield from self._archive(path, data)
            return
        if b"\0" in data[:8192]:
            self.skipped_binary += 1
            return
        text = data.decode("utf-8", "replace")
        yield Text(_source_of(path, text), path, text, len(data))

    def _archive(self, path: str, data: bytes) -> Iterator[Text]:
        """Members of a zip or tar, each under the same caps, named path!member."""
        try:
            members = list(_members(data, self.options.max_file_bytes))
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            self.unreadable.append(Unreadable(source="files", what=path, why=_why(exc)))
            return
        for name, body in members:
            if b"\0" in body[:8192]:
                self.skipped_binary += 1
                continue
            text = body.decode("utf-8", "replace")
            yield Text(_source_of(name, text), f"{path}!{name}", text, len(body))

    def _history(self, git_dir: str) -> Iterator[Text]:
        """Every commit's changes of a repository (`git log -p --all`), capped: a secret
        removed in a later commit is still in the history anyone with a clone has."""
        cap = self.options.max_file_bytes * 64
        try:
            done = subprocess.run(
                ["git", f"--git-dir={git_dir}", "log", "-p", "--all", "--no-color",
                 "--no-ext-diff", "--format=commit %H"],
                capture_output=True, timeout=300, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.unreadable.append(Unreadable(source="files", what=git_dir, why=_why(exc)))
            return
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip()[:200] or "git failed"
            self.unreadable.append(Unreadable(source="files", what=git_dir, why=why))
            return
        text = done.stdout[:cap].decode("utf-8", "replace")
        added = "\n".join(
            line[1:] if line.startswith("+") else line
            for line in text.splitlines()
            if (line.startswith("+") and not line.startswith("+++")) or line.startswith("commit ")
        )
        yield Text("files", f"{git_dir} (history)", added, len(done.stdout[:cap]))

    def _excluded(self, path: str) -> bool:
        o = self.options
        if any(fnmatch.fnmatch(path, g) for g in o.exclude):
            return True
        return (
            bool(o.include)
            and not path.endswith("/")
            and not any(fnmatch.fnmatch(path, g) for g in o.include)
        )

    def _refused(self, exc: OSError) -> None:
        self.unreadable.append(Unreadable(source="files", what=str(exc.filename), why=_why(exc)))


def _members(data: bytes, cap: int) -> Iterator[tuple[str, bytes]]:
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist()[:ARCHIVE_MEMBERS]:
                if not info.is_dir() and info.file_size <= cap:
                    yield info.filename, z.read(info)
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for n, member in enumerate(t):
            if n >= ARCHIVE_MEMBERS:
                return
            if member.isfile() and member.size <= cap:
                f = t.extractfile(member)
                if f is not None:
                    yield member.name, f.read()


def _source_of(path: str, text: str) -> str:
    if is_store(path):
        return "stores"
    name = path.rsplit("/", 1)[-1]
    if name.startswith(MANIFEST_NAMES) or (
        name.endswith((".yaml", ".yml", ".json")) and any(m in text[:4096] for m in MANIFEST_MARKS)
    ):
        return "manifests"
    return "files"


def _home_stores() -> list[str]:
    homes = ["/root"]
    with contextlib.suppress(OSError):
        homes += sorted(os.path.join("/home", d) for d in os.listdir("/home"))
    return [os.path.join(h, s) for h in homes for s in HOME_STORES]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


# --- processes -----------------------------------------------------------------------


def processes(unreadable: list[Unreadable], say: Callable[[str], None]) -> Iterator[Text]:
    """Every process's environment and command line, and the agent's own environment.
    A process whose environment may not be read is named, never skipped in silence."""
    started = time.monotonic()
    own = "\n".join(f"{k}={v}" for k, v in os.environ.items())
    yield Text("processes", f"pid {os.getpid()} (the agent) environ", own, len(own))
    try:
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    except OSError as exc:
        unreadable.append(Unreadable(source="processes", what="/proc", why=_why(exc)))
        return
    for pid in pids:
        if pid == os.getpid():
            continue
        name = _read(f"/proc/{pid}/comm").strip() or "?"
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    raw = f.read(1 << 20)
            except (FileNotFoundError, ProcessLookupError):
                break  # it exited meanwhile, or is a kernel thread (no environment)
            except OSError as exc:
                unreadable.append(
                    Unreadable(source="processes", what=f"pid {pid} ({name}) {what}", why=_why(exc))
                )
                continue
            sep = "\n" if what == "environ" else " "
            text = raw.replace(b"\0", sep.encode()).decode("utf-8", "replace")
            yield Text("processes", f"pid {pid} ({name}) {what}", text, len(raw))
    say(f"secrets: {len(pids)} processes read in {time.monotonic() - started:.1f} s")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(256)
    except OSError:
        return ""

"""Reading an input file's bytes, bounded: regular files and pipes only (a device,
a socket or a named pipe nobody writes to is refused, not waited on), a size cap,
and UTF-8 only, with byte offsets for what is not."""

from __future__ import annotations

import codecs
import errno
import os
import stat
import sys
from pathlib import Path

from prodwall.errors import Problem


class YamlLoadError(Exception):
    def __init__(self, problems: list[Problem], syntax: bool = False) -> None:
        self.problems = problems
        self.syntax = syntax  # the YAML itself is malformed (not a value prodwall refuses)
        super().__init__("\n".join(str(p) for p in problems))


MAX_BYTES = 4 * 1024 * 1024  # the largest fleet inventory seen is well under 1 MiB


STDIN = "-"


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def refuse(name: str, message: str, fix: str, line: int | None = None) -> YamlLoadError:
    return YamlLoadError([Problem(name, line, "", message, fix)])


def read_source(path: str | Path) -> tuple[str, bytes]:
    """The file's bytes, read once and bounded; `-` is standard input.

    Only regular files and pipes are read (`-i <(sops -d inv.yaml)` is a pipe);
    a device such as /dev/zero, a directory or a socket is refused, and a named
    pipe nobody writes to is reported instead of waited on.
    """
    name = str(path)
    if name == STDIN:
        return "<stdin>", _read_capped(sys.stdin.buffer.fileno(), "<stdin>")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise refuse(name, "file not found", "check the path") from None
    except IsADirectoryError:
        raise refuse(name, "is a directory", "give the inventory file inside it") from None
    except OSError as exc:
        raise refuse(
            name, f"cannot open ({exc.strerror})", "check the path and its permissions"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise refuse(name, "is a directory", "give the inventory file inside it")
        if stat.S_ISFIFO(mode):
            return name, _read_pipe(fd, name)
        if not stat.S_ISREG(mode):
            raise refuse(
                name,
                "is not a regular file (a device or socket)",
                "give a YAML file, or `-` to read standard input",
            )
        os.set_blocking(fd, True)
        return name, _read_capped(fd, name)
    finally:
        os.close(fd)


def _read_pipe(fd: int, name: str) -> bytes:
    """A pipe: empty when nobody holds its write end, else read to the end (bounded)."""
    try:
        first = os.read(fd, 65536)
    except BlockingIOError:
        first = None  # a writer is there and has not written yet
    except OSError as exc:
        if exc.errno != errno.EAGAIN:
            raise refuse(name, f"cannot read ({exc.strerror})", "check the file") from None
        first = None
    if first == b"":
        raise refuse(
            name,
            "is a named pipe with nothing writing to it",
            "give the inventory file, or start the writer first",
        )
    os.set_blocking(fd, True)
    return _read_capped(fd, name, first or b"")


def _read_capped(fd: int, name: str, start: bytes = b"") -> bytes:
    chunks = [start]
    size = len(start)
    while size <= MAX_BYTES:
        try:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
        except OSError as exc:
            raise refuse(name, f"cannot read ({exc.strerror})", "check the file") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_BYTES:
        raise refuse(
            name,
            f"is larger than the {MAX_BYTES // (1024 * 1024)} MiB an inventory may be",
            "split it, or remove what prodwall does not need",
        )
    return b"".join(chunks)


def _line_at(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def decode(raw: bytes, name: str) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            raise refuse(
                name,
                f"is {encoding} encoded (byte order mark at byte offset 0)",
                "save it as UTF-8",
                1,
            )
    nul = raw.find(b"\0")
    if nul >= 0:
        looks_utf16 = nul <= 1 or raw[1::2].count(0) > len(raw) // 4
        raise refuse(
            name,
            f"contains a NUL byte at byte offset {nul}"
            + (" (it looks UTF-16 encoded)" if looks_utf16 else ""),
            "save it as UTF-8 text" if looks_utf16 else "remove the NUL byte; YAML is text",
            _line_at(raw, nul),
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(
            name,
            f"is not UTF-8: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} "
            "cannot be decoded",
            "save it as UTF-8",
            _line_at(raw, exc.start),
        ) from None

"""Reading a host's files for the hosts agent: what was read is listed, what exists
but could not be read is named with why, what does not exist is simply not there."""

from __future__ import annotations

from prodwall.families.hosts.records import Unread


class Reader:
    def __init__(self, unreadable: list[Unread], read: list[str]) -> None:
        self.unreadable = unreadable
        self.read = read

    def text(self, path: str, limit: int = 4 << 20) -> str | None:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                data = f.read(limit)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            self.unreadable.append(Unread(what=path, why=exc.strerror or type(exc).__name__))
            return None
        self.read.append(path)
        return data

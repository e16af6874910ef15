"""YAML flow style as config files write it on one line: `{db: {host: h, password: p}}`,
`database: {host: h, port: 5432}`, `hosts: [a, b]`, JSON's own form included.

This runs on the vantage with a bare Python (no PyYAML), so it is a small parser of its
own, bounded in depth and length; anything it does not understand is None, and the line
is then read as plain text by the other finders."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
MAX_CHARS = 4096
_STOP = {",", "]", "}"}


class _NotFlow(Exception):
    pass


def parse(text: str) -> dict[str, Any] | list[Any] | None:
    """The mapping or sequence that `text` is, in YAML flow style; None otherwise."""
    body = text.strip()
    if len(body) > MAX_CHARS or body[:1] not in ("{", "["):
        return None
    reader = _Reader(body)
    try:
        value = reader.value(0)
        reader.space()
        if reader.at < len(body):
            return None  # more after the closing bracket: not one flow node
    except (_NotFlow, IndexError):
        return None
    return value if isinstance(value, dict | list) else None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def space(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t":
            self.at += 1

    def peek(self) -> str:
        self.space()
        return self.text[self.at] if self.at < len(self.text) else ""

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _NotFlow
        first = self.peek()
        if first == "{":
            return self._mapping(depth)
        if first == "[":
            return self._sequence(depth)
        return self._scalar(key=False)

    def _mapping(self, depth: int) -> dict[str, Any]:
        self.at += 1
        out: dict[str, Any] = {}
        while self.peek() != "}":
            key = self._scalar(key=True)
            if self.peek() == ":":
                self.at += 1
                value = "" if self.peek() in _STOP else self.value(depth + 1)
            else:
                value = ""  # `{a, b}`: keys with no value
            out[str(key)] = value
            if self.peek() == ",":
                self.at += 1
            elif self.peek() != "}":
                raise _NotFlow
        self.at += 1
        return out

    def _sequence(self, depth: int) -> list[Any]:
        self.at += 1
        out: list[Any] = []
        while self.peek() != "]":
            out.append(self.value(depth + 1))
            if self.peek() == ",":
                self.at += 1
            elif self.peek() != "]":
                raise _NotFlow
        self.at += 1
        return out

    def _scalar(self, key: bool) -> str:
        first = self.peek()
        if first == '"':
            return self._double()
        if first == "'":
            return self._single()
        if first in _STOP or first in ("", "{", "["):
            raise _NotFlow
        start = self.at
        while self.at < len(self.text):
            char = self.text[self.at]
            if char in _STOP or char in "{[":
                break
            # `key: value`; a colon inside a plain scalar (a URL's `://`, `host:5432`)
            # is part of it unless a space or the end of the node follows
            if (
                key
                and char == ":"
                and self.text[self.at + 1 : self.at + 2] in ("", " ", ",", "]", "}")
            ):
                break
            if char == "#" and self.at > start and self.text[self.at - 1] == " ":
                raise _NotFlow  # a comment inside: not a one-line node
            self.at += 1
        return self.text[start : self.at].strip()

    def _double(self) -> str:
        end = self.at + 1
        while end < len(self.text) and self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise _NotFlow
        raw = self.text[self.at : end + 1]
        self.at = end + 1
        try:
            return str(json.loads(raw))
        except ValueError:
            return raw[1:-1]  # a YAML escape JSON lacks (\x41): the characters as written

    def _single(self) -> str:
        out, end = [], self.at + 1
        while True:
            close = self.text.find("'", end)
            if close < 0:
                raise _NotFlow
            out.append(self.text[end:close])
            if self.text[close + 1 : close + 2] == "'":  # '' is one quote
                out.append("'")
                end = close + 2
                continue
            self.at = close + 1
            return "".join(out)

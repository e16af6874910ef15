"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, for browser tests.

Enough to open a page with scripts on or off, time its load, read its DOM and
take a screenshot, without a driver download (Debian's chromium only).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
    "--window-size=1280,1400",
]


class Browser:
    def __init__(self, chromium: str, profile: Path) -> None:
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()
        # chromium reads commands on fd 3 and writes replies on fd 4
        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: (os.dup2(to_child_r, 3), os.dup2(from_child_w, 4)),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._id = 0
        self._buf = b""
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def _send(self, method: str, session: str | None, **params: Any) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(
        self, method: str, timeout: float = 60, page: bool = False, **params: Any
    ) -> dict[str, Any]:
        wanted = self._send(method, self.session if page else None, **params)
        while True:
            msg = self._read(timeout)
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            msg = self._read(timeout)
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def open(self, url: str, scripts: bool) -> float:
        """Navigate; return seconds until DOMContentLoaded."""
        self.call("Page.enable", page=True)
        self.call("Emulation.setScriptExecutionDisabled", value=not scripts, page=True)
        started = time.monotonic()
        self.call("Page.navigate", url=url, page=True)
        self.wait_event("Page.domContentEventFired")
        return time.monotonic() - started

    def outer_html(self) -> str:
        root = self.call("DOM.getDocument", depth=-1, page=True)["root"]["nodeId"]
        return str(self.call("DOM.getOuterHTML", nodeId=root, page=True)["outerHTML"])

    def evaluate(self, expression: str) -> Any:
        # awaitPromise: an expression that is a Promise gives what it resolves to
        return self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
            page=True,
        )["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", page=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self._send("Browser.close", None)
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        finally:
            os.close(self._w)
            os.close(self._r)

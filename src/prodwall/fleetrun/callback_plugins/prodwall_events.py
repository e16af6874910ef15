"""Ansible stdout callback for `prodwall fleet`: one JSON line per task result (to the
file in $PRODWALL_FLEET_EVENTS) and one short progress line per result on stdout.

Only the fields prodwall reads are kept (host, task, status, msg, rc, stdout, stderr):
module arguments and environments never leave Ansible."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: prodwall_events
    type: stdout
    short_description: per-host task results for prodwall fleet, as JSON lines
    description: writes each task result to $PRODWALL_FLEET_EVENTS
"""

KEEP_TEXT = 20_000  # characters of stdout/stderr kept per result


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "prodwall_events"

    def __init__(self) -> None:
        super().__init__()
        path = os.environ.get("PRODWALL_FLEET_EVENTS")
        self._out = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def _event(self, result: Any, status: str) -> None:
        res = dict(result._result)
        item = res.get("item")
        event = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "status": status,
            "msg": str(res.get("msg", ""))[:KEEP_TEXT],
            "rc": res.get("rc"),
            "stdout": str(res.get("stdout", ""))[:KEEP_TEXT] if status != "ok" or item is None
            else "",
            "stderr": str(res.get("stderr", ""))[-KEEP_TEXT:],
        }
        if res.get("module_stderr"):
            event["stderr"] = str(res["module_stderr"])[-KEEP_TEXT:]
        if res.get("module_stdout") and not event["stdout"]:
            event["stdout"] = str(res["module_stdout"])[-KEEP_TEXT:]
        if self._out is not None:
            self._out.write(json.dumps(event) + "\n")
            self._out.flush()
        first = (event["msg"] or event["stderr"] or "").strip().splitlines()[:1]
        tail = f": {first[0][:160]}" if status != "ok" and first else ""
        self._display.display(f"  {event['host']}: {status} {event['task']}{tail}")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._event(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._event(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._event(result, "unreachable")

    def v2_runner_on_skipped(self, result: Any) -> None:
        pass

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

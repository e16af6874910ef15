"""Run a family's vantage-side code at a vantage and read back its result.

The agent file and the job travel on stdin in one stream: a bootstrap
(`python -c`, standard library only) reads the file's length and bytes, runs
it, and the agent reads the job that follows. So one connection does it all,
with nothing left behind at the vantage but a temporary file it removes.
Progress (stderr) is streamed to ours as it comes; the backend's own error
text (ssh's, docker's, a missing interpreter's) is what an inconclusive
verdict then names.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import time
from typing import IO, Any

from prodwall.errors import ProdwallError
from prodwall.inventory.model import Vantage
from prodwall.vantages.agentfile import agent_file
from prodwall.vantages.backends import BackendUnavailable, Launch, launch
from prodwall.vantages.entry import PROTOCOL
from prodwall.vantages.paramiko_pipe import CONNECT_FAILED

BOOTSTRAP = (
    "import os,runpy,sys,tempfile\n"
    "r=sys.stdin.buffer;n=int(r.readline());d=r.read(n)\n"
    "f=tempfile.NamedTemporaryFile(prefix='prodwall-agent-',suffix='.pyz',delete=False)\n"
    "f.write(d);f.close();sys.path.insert(0,f.name)\n"
    "try:\n"
    " from prodwall.vantages.entry import main;rc=main()\n"
    "finally:\n"
    " os.unlink(f.name)\n"
    "sys.exit(rc)\n"
)


class AgentError(ProdwallError):
    exit_code = 3


class _NoConnection(AgentError):
    """The transport never reached the vantage (ssh's 255, the paramiko pipe's own code):
    nothing ran there, so trying again sends nothing twice."""


# A remote vantage gets this many attempts, this many seconds apart, before its checks
# become inconclusive; each retry is said in the run's notices (a flaky link is evidence
# about the vantage, not about production).
ATTEMPTS = 3
BACKOFF_S = (1.0, 3.0)
NO_CONNECTION = {255, CONNECT_FAILED}
connection_notes: list[str] = []  # read (and emptied) into the results' notices


def take_connection_notes() -> list[str]:
    """The retries said so far in this process, once."""
    taken = list(connection_notes)
    connection_notes.clear()
    return taken


def run_agent(vantage: Vantage, module: str, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The result of `module.run(job)` at the vantage, or AgentError saying why not."""
    try:
        how = launch(vantage, ["{python}", "-c", BOOTSTRAP])
    except BackendUnavailable as exc:
        raise AgentError(str(exc)) from None
    payload = agent_file((module,))
    envelope = json.dumps({"protocol": PROTOCOL, "module": module, "job": job}).encode()
    stdin = f"{len(payload)}\n".encode() + payload + envelope
    attempts = ATTEMPTS if vantage.where.is_remote else 1
    for attempt in range(1, attempts + 1):
        try:
            return _once(vantage, how, stdin, timeout)
        except _NoConnection as exc:
            if attempt == attempts:
                raise AgentError(
                    f"{exc} (after {attempts} attempts, {', '.join(f'{d:g} s' for d in BACKOFF_S)}"
                    " apart)" if attempts > 1 else str(exc)
                ) from None
            wait = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
            note = (f"vantage {vantage.location}: attempt {attempt} of {attempts} did not reach "
                    f"it ({str(exc)[-300:]}); tried again after {wait:g} s")  # fmt: skip
            connection_notes.append(note)
            print(f"prodwall: {note}", file=sys.stderr)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _once(vantage: Vantage, how: Launch, stdin: bytes, timeout: float) -> dict[str, Any]:
    try:
        proc = subprocess.Popen(
            how.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **how.env} if how.env else None,
        )
    except OSError as exc:
        raise AgentError(
            f"cannot start {how.argv[0]} for {vantage.location}: {exc.strerror}"
        ) from None
    tail: collections.deque[str] = collections.deque(maxlen=8)
    threads = [
        threading.Thread(target=_relay, args=(proc.stderr, tail), daemon=True),
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True),
    ]
    for thread in threads:
        thread.start()
    timer = threading.Timer(timeout, proc.kill)  # one reader per pipe: no communicate()
    timer.start()
    try:
        out = proc.stdout.read() if proc.stdout is not None else b""
        proc.wait()
    finally:
        timer.cancel()
    for thread in threads:
        thread.join(timeout=5)
    if proc.returncode == -9 and not out:
        raise AgentError(f"the probe agent at {vantage.location} ran past {timeout:.0f} s")
    try:
        reply = json.loads(out)
    except ValueError:
        reply = None
    if isinstance(reply, dict) and "result" in reply and proc.returncode == 0:
        result: dict[str, Any] = reply["result"]
        return result
    said = reply.get("error") if isinstance(reply, dict) else None
    why = said or " / ".join(tail) or "no output"
    failed = _NoConnection if not out and proc.returncode in NO_CONNECTION else AgentError
    raise failed(f"the probe agent at {vantage.location} failed (exit {proc.returncode}): {why}")


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    if pipe is None:
        return
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):  # the agent or the backend stopped early: it says why
        pass


def _relay(stream: IO[bytes] | None, tail: collections.deque[str]) -> None:
    """Copy the agent's progress to our stderr as it comes, keeping the last lines."""
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        sys.stderr.write(line)
        sys.stderr.flush()
        if line.strip():
            tail.append(line.strip())

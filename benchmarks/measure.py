"""Wall time and peak memory of a process tree, the same measure for every tool.

Memory is PSS (proportional set size, from /proc/PID/smaps_rollup) summed over the
process and all its descendants, sampled every 50 ms: shared pages (prodwall's
per-probe arrays are shared by its sender and receiver processes) count once in
total, not once per process as RSS would.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path


def tree_pss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += int(
                next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:"))
            )
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def timed(
    argv: list[str], timeout: float, stdin: str | None = None
) -> tuple[float, float, str, int]:
    """Wall seconds, peak PSS (MB) of the whole process tree, stdout, exit code."""
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    chunks: list[str] = []
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    if stdin:
        proc.stdin.write(stdin)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    done.set()
    sampler.join()
    reader.join()
    return time.monotonic() - started, peak[0] / 1024, "".join(chunks), proc.returncode

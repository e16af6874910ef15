"""Drive the shipped playbook with ansible-playbook, reading each host's task results
from the prodwall_events callback (JSON lines), and printing its progress lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodwall.fleetrun.hostmap import ansible_tool

HERE = Path(__file__).parent
PLAYBOOK = HERE / "playbook.yml"
CALLBACKS = HERE / "callback_plugins"


@dataclass(frozen=True)
class PlayRun:
    returncode: int  # ansible-playbook's own: 0, 2 (a host failed), 4 (unreachable), ...
    events: tuple[dict[str, Any], ...]
    output_tail: str  # its last lines, for when it failed before any host ran


def forks(given: int | None) -> int:
    """Ansible's forks as Ansible will use them: --forks, else ANSIBLE_FORKS or
    ansible.cfg (asked of ansible-config, so its precedence is Ansible's own)."""
    if given:
        return given
    try:
        done = subprocess.run(
            [ansible_tool("ansible-config"), "dump"], capture_output=True, text=True, timeout=60
        )
        found = re.search(r"^DEFAULT_FORKS\([^)]*\)\s*=\s*(\d+)", done.stdout, re.M)
        if found:
            return int(found.group(1))
    except (OSError, subprocess.SubprocessError):
        pass
    return 5  # Ansible's documented default


def run_playbook(
    hosts_file: str,
    limit_file: Path,
    extra_vars: Path,
    events_path: Path,
    fork_count: int | None,
    progress: Callable[[str], None],
    inside: tuple[str, ...] = (),
) -> PlayRun:
    argv = [
        *inside,  # e.g. `ip netns exec NS`: where the hosts are reachable from
        ansible_tool("ansible-playbook"), "-i", hosts_file, "--limit", f"@{limit_file}",
        "-e", f"@{extra_vars}", str(PLAYBOOK),
    ]  # fmt: skip
    if fork_count:
        argv += ["--forks", str(fork_count)]
    plugins = os.pathsep.join(
        p for p in (str(CALLBACKS), os.environ.get("ANSIBLE_CALLBACK_PLUGINS", "")) if p
    )
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "prodwall_events",
        "ANSIBLE_CALLBACK_PLUGINS": plugins,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PRODWALL_FLEET_EVENTS": str(events_path),
    }
    tail: list[str] = []
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line.startswith("  ") and ": " in line:
                progress(line.strip())
            elif line.strip():
                tail = [*tail[-40:], line]
        code = proc.wait()
    events: list[dict[str, Any]] = []
    if events_path.exists():
        for raw in events_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(raw))
            except ValueError:
                continue
    return PlayRun(code, tuple(events), "\n".join(tail))

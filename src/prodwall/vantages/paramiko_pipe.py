"""`paramiko://` vantages: one command run over paramiko with stdin, stdout and stderr
streamed, as a local process (`python -m prodwall.vantages.paramiko_pipe`), so the
agent runner treats it like any other backend's argv.

The host spec and the ssh_config are read by testinfra's paramiko backend. Its own
client accepts any host key with a warning; a probe agent reached that way could be
anyone's, and its "blocked" a forgery. So the client here checks the host key
against the known_hosts files the ssh_config names (else ~/.ssh/known_hosts) and
refuses an unknown or changed key, unless the ssh_config itself says
`StrictHostKeyChecking no`.

The spec travels in the environment (PRODWALL_PARAMIKO, JSON), not in argv: a
password in a host spec must not show in `ps`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

ENV = "PRODWALL_PARAMIKO"
CONNECT_FAILED = 255  # what OpenSSH's client exits with when it cannot connect


def spec_env(hostspec: str, command: str, vantage_options: dict[str, Any]) -> dict[str, str]:
    """The environment entry that tells the pipe where to go and what to run."""
    return {ENV: json.dumps({"host": hostspec, "command": command, **vantage_options})}


def _client(spec: dict[str, Any]) -> Any:
    import paramiko
    from testinfra.backend.paramiko import ParamikoBackend

    backend = ParamikoBackend(
        spec["host"],
        ssh_config=spec.get("ssh_config"),
        ssh_identity_file=spec.get("ssh_identity_file"),
    )
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    cfg: dict[str, Any] = {
        "hostname": backend.host.name,
        "port": int(backend.host.port) if backend.host.port else 22,
        "username": backend.host.user,
        "timeout": backend.timeout,
        "password": backend.host.password,
    }
    config = paramiko.SSHConfig()
    path = spec.get("ssh_config") or os.path.expanduser("~/.ssh/config")
    if os.path.exists(path):
        with open(path) as f:
            config.parse(f)
    # testinfra's reading of the config: host name, user, port, identity, proxy command
    backend._load_ssh_config(client, cfg, config, os.path.dirname(path))
    looked = config.lookup(backend.host.name)
    known = looked.get("userknownhostsfile", "~/.ssh/known_hosts").split()
    for name in known:
        full = os.path.expanduser(name)
        if os.path.exists(full):
            client.load_host_keys(full)
    if spec.get("ssh_identity_file"):
        cfg["key_filename"] = spec["ssh_identity_file"]
    cfg["allow_agent"] = False
    cfg["look_for_keys"] = not cfg.get("key_filename") and not cfg.get("password")
    client.connect(**cfg)
    return client


def _pump_in(chan: Any) -> None:
    """Our stdin to the remote command's, then end of file."""
    try:
        for block in iter(lambda: os.read(0, 65536), b""):
            chan.sendall(block)
    finally:
        chan.shutdown_write()


def _pump_err(chan: Any) -> None:
    for block in iter(lambda: chan.recv_stderr(65536), b""):
        sys.stderr.buffer.write(block)
        sys.stderr.buffer.flush()


def main() -> int:
    raw = os.environ.pop(ENV, "")
    if not raw:
        print(f"paramiko pipe: {ENV} is not set", file=sys.stderr)
        return 2
    spec = json.loads(raw)
    try:
        client = _client(spec)
    except Exception as exc:  # the backend's own words make the vantage inconclusive
        print(f"paramiko: {spec['host']}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return CONNECT_FAILED
    try:
        chan = client.get_transport().open_session()
        chan.exec_command(spec["command"])
        pumps = [
            threading.Thread(target=_pump_in, args=(chan,), daemon=True),
            threading.Thread(target=_pump_err, args=(chan,), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for block in iter(lambda: chan.recv(65536), b""):
            sys.stdout.buffer.write(block)
        sys.stdout.buffer.flush()
        status = int(chan.recv_exit_status())
        pumps[1].join(timeout=5)
        return status
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())

"""The hosts family, dev and test side: its readers, and its judgement both ways (a hashed
known_hosts entry of a production name is found; a dev entry is not production's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

from prodwall.families.hosts.observe import observe
from prodwall.families.hosts.records import HostsResult, KeyFile, Unread
from prodwall.families.hosts.vantage_agent import etc_hosts, known_hosts, nameservers, ssh_config
from prodwall.inventory import load_inventory
from prodwall.lab import keys
from prodwall.plan import Probe
from prodwall.verdicts import Signal

REPO = Path(__file__).resolve().parents[1]
INV = load_inventory(REPO / "inventories" / "lab.yaml").inventory
PROBES = (Probe("host", "name-resolution", "dev", "w"), Probe("host", "ssh", "dev", "w"))


def _hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_readers() -> None:
    (h,) = ssh_config(
        "/root/.ssh/config",
        "# c\nHost db jump\n  HostName=db.prod.pwlab.test\n  ProxyJump ops@bastion:2222\n"
        "  ForwardAgent yes\n",
    )
    assert h.patterns == ("db", "jump") and h.hostname == "db.prod.pwlab.test"
    assert h.proxy_jump == "ops@bastion:2222" and h.forward_agent and h.line == 2
    line = keys.public_line(keys.host_key_purpose("prod-db"))
    (k1, k2) = known_hosts("/k", f"# x\n{_hashed('a')} {line}\n@cert-authority *.x {line}\n")
    assert k1.hashed and not k1.names and k1.key_fingerprint.startswith("SHA256:")
    assert k2.names == ("*.x",)
    assert [e.names for e in etc_hosts("127.0.0.1 localhost # me\n\n10x\n")] == [("localhost",)]
    assert nameservers("search x\nnameserver 198.18.1.1\nnameserver\n") == ["198.18.1.1"]


def _signals(result: HostsResult) -> dict[str, list[tuple[Signal, str]]]:
    out: dict[str, list[tuple[Signal, str]]] = {}
    for o in observe(result, PROBES, INV):
        out.setdefault(o.evidence["aspect"], []).append((o.signal, o.detail))
    return out


def test_production_is_found_by_name_address_hash_and_key() -> None:
    prod_key = keys.fingerprint(keys.host_key_purpose("prod-db"))
    line = keys.public_line(keys.host_key_purpose("prod-db"))
    result = HostsResult(
        etc_hosts=tuple(etc_hosts("198.18.1.10 ws.dev.pwlab.test\n198.19.10.20 web\n")),
        resolvers=("198.19.10.53",),
        known_hosts=(
            *known_hosts("/root/.ssh/known_hosts", f"{_hashed('db.prod.pwlab.test')} {line}\n"),
            *known_hosts("/etc/ssh/ssh_known_hosts", f"unknown.example {line}\n"),
        ),
        keys=(KeyFile(path="/root/.ssh/id_prod", public_fingerprint=prod_key),),
    )
    seen = _signals(result)
    names = [d for s, d in seen["name-resolution"] if s is Signal.CROSSED]
    assert len(names) == 2 and "web to 198.19.10.20" in names[0] and "198.19.10.53" in names[1]
    ssh = [d for s, d in seen["ssh"] if s is Signal.CROSSED]
    assert any("hashed entry of db.prod.pwlab.test" in d for d in ssh)
    assert any("its key is production's prod-db-host-ed25519" in d for d in ssh)
    assert any("private key" in d for d in ssh)


def test_non_production_is_positive_evidence_and_unreadable_is_inconclusive() -> None:
    clean = HostsResult(
        etc_hosts=tuple(etc_hosts("198.18.1.10 ws.dev.pwlab.test\n")),
        resolvers=("198.18.1.1",),
        known_hosts=tuple(known_hosts("/k", f"{_hashed('ws.dev.pwlab.test')} AAAA x\n")),
        read=("/etc/hosts", "/etc/resolv.conf", "/root/.ssh/known_hosts"),
    )
    assert {k: [s for s, _ in v] for k, v in _signals(clean).items()} == {
        "name-resolution": [Signal.STOPPED],
        "ssh": [Signal.STOPPED],
    }
    locked = HostsResult(unreadable=(Unread(what="/etc/hosts", why="Permission denied"),))
    assert _signals(locked)["name-resolution"] == [
        (Signal.FAILED, "/etc/hosts could not be read: Permission denied")
    ]


def test_live_state_both_ways() -> None:
    from prodwall.families.hosts.records import Connection, Mount, Tunnel

    probes = (Probe("host", "live", "dev", "w"),)
    bad = HostsResult(
        connections=(
            Connection(remote="198.19.10.10", port=5432, local_port=40000),
            Connection(remote="198.18.3.10", port=80, local_port=40001),
        ),
        mounts=(Mount(source="db.prod.pwlab.test", fstype="nfs4", mountpoint="/mnt/x"),),
        tunnels=(Tunnel(pid=7, program="autossh", hosts=("web.prod.pwlab.test",)),),
    )
    crossed = [o.detail for o in observe(bad, probes, INV) if o.signal is Signal.CROSSED]
    assert len(crossed) == 3 and "198.19.10.10:5432" in crossed[0]
    assert "nfs4 mount" in crossed[1] and "autossh forwarder (pid 7)" in crossed[2]
    good = HostsResult(connections=(Connection(remote="198.18.3.10", port=80, local_port=1),))
    (only,) = observe(good, probes, INV)
    assert only.signal is Signal.STOPPED and "1 open connections" in only.detail


def test_forwarders_are_found_by_program_and_only_their_hosts_kept() -> None:
    import subprocess
    import sys

    # a process whose command line reads like socat's: nothing is sent anywhere
    proc = subprocess.Popen(
        ["socat", "-c", "import time; time.sleep(30)", "TCP:db.prod.pwlab.test:5432", "pw=x1"],
        executable=sys.executable,
    )
    try:
        (tunnel,) = _tunnels_of(proc.pid)
        assert tunnel.program == "socat" and tunnel.hosts == ("db.prod.pwlab.test",)
    finally:
        proc.kill()
        proc.wait()


def test_an_ssh_session_forwarding_its_agent_to_production_is_found() -> None:
    import subprocess
    import sys

    # reads like `ssh -A root@db.prod...` (no -L/-R/-D: not a forwarder); nothing is sent
    proc = subprocess.Popen(
        ["ssh", "-c", "import time; time.sleep(30)", "-A", "root@db.prod.pwlab.test"],
        executable=sys.executable,
    )
    try:
        (session,) = _tunnels_of(proc.pid)
        assert session.agent_forwarding and session.hosts == ("db.prod.pwlab.test",)
        seen = list(observe(HostsResult(tunnels=(session,)), (Probe("host", "live", "dev", "w"),),
                            INV))  # fmt: skip
        assert [o.signal for o in seen] == [Signal.CROSSED]
        assert "session forwarding the ssh agent" in seen[0].detail
    finally:
        proc.kill()
        proc.wait()


def test_systemd_resolved_servers_are_read_too(tmp_path: Path) -> None:
    from prodwall.families.hosts import vantage_agent as agent

    files = {
        agent.RESOLVED[0]: "nameserver 198.19.10.53\n",
        agent.RESOLVED[1]: "[Resolve]\nDNS=198.18.1.1 fd00:19:10::53%eth0#ns1.prod.pwlab.test\n"
        "FallbackDNS=198.18.99.9\n",
    }

    class _R:
        def text(self, path: str) -> str | None:
            return files.get(path)

    servers = agent._resolved(_R())  # type: ignore[arg-type]
    assert servers == ["198.19.10.53", "198.18.1.1", "fd00:19:10::53", "198.18.99.9"]
    crossed = [
        o.detail
        for o in observe(HostsResult(resolvers=tuple(servers)), PROBES[:1], INV)
        if o.signal is Signal.CROSSED
    ]
    assert len(crossed) == 2 and all("production" in c for c in crossed)


def _tunnels_of(pid: int) -> list[Any]:
    """What live.tunnels() says of one process, once its command line is readable."""
    from prodwall.families.hosts import live

    found: list[Any] = []
    for _ in range(50):
        found = [t for t in live.tunnels() if t.pid == pid]
        if found:
            break
        time.sleep(0.05)
    return found

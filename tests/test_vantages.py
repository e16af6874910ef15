"""Vantage locations and how each backend reaches one (the argv it runs locally)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from prodwall.inventory.model import Vantage
from prodwall.vantages.agent import AgentError, run_agent
from prodwall.vantages.backends import BackendUnavailable, launch
from prodwall.vantages.location import parse
from prodwall.vantages.paramiko_pipe import ENV


@pytest.mark.parametrize(
    ("text", "scheme", "target"),
    [
        ("local", "local", ""),
        ("netns:pwlab-dev", "netns", "pwlab-dev"),
        ("ssh://root@198.18.200.2", "ssh", "root@198.18.200.2"),
        ("ssh://ci@[fd00:18:1::10]:2222", "ssh", "ci@[fd00:18:1::10]:2222"),
        ("docker://probe-box", "docker", "probe-box"),
        ("kubectl://probe?namespace=qa&container=c", "kubectl", "probe?namespace=qa&container=c"),
        ("ansible://test_hosts", "ansible", "test_hosts"),
    ],
)
def test_one_parser_for_every_location(text: str, scheme: str, target: str) -> None:
    where = parse(text)
    assert (where.scheme, where.target, where.raw) == (scheme, target, text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ssh://host:70000", "is not a TCP port"),
        ("telnet://host", "is not a vantage location"),
        ("netns:", "is not a vantage location"),
        ("ssh://host; rm -rf /", "is not a vantage location"),
    ],
)
def test_bad_locations_are_refused_with_the_forms(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text)


def _v(location: str, **kw: object) -> Vantage:
    return Vantage.model_validate({"location": location, "environment": "dev", **kw})


def test_ssh_goes_through_testinfras_command_builder() -> None:
    how = launch(
        _v(
            "ssh://root@198.18.200.2:2222",
            ssh_config="/etc/pw/ssh_config",
            ssh_identity_file="/etc/pw/key",
            python="/usr/bin/python3",
            sudo=True,
        ),
        ["{python}", "-c", "print('x y')"],
    )
    assert how.argv[:2] == ["sh", "-c"]
    words = shlex.split(how.argv[2])
    assert words[0] == "ssh" and "-F" in words and "/etc/pw/ssh_config" in words
    assert "/etc/pw/key" in words and "User=root" in words and "Port=2222" in words
    assert not any("ControlMaster" in w for w in words)  # nothing left running afterwards
    remote = shlex.split(words[-1])
    assert remote == ["sudo", "-n", "/usr/bin/python3", "-c", "print('x y')"]


def test_docker_and_kubectl_stream_stdin_to_their_targets() -> None:
    docker = launch(_v("docker://probe-box"), ["{python}", "-c", "pass"]).argv
    assert docker == ["docker", "exec", "-i", "probe-box", "python3", "-c", "pass"]
    kube = launch(_v("kubectl://probe?namespace=qa&container=c"), ["{python}", "-V"]).argv
    assert kube[:3] == ["kubectl", "exec", "-i"] and kube[-3:] == ["--", "python3", "-V"]
    assert "--namespace" in kube and "qa" in kube and "-c" in kube


def test_local_and_netns_use_our_interpreter_and_the_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODWALL_AGENT_WRAPPER", "setpriv --bounding-set=-net_raw --")
    argv = launch(_v("netns:pwlab-dev"), ["{python}", "-V"]).argv
    assert argv == [
        "ip", "netns", "exec", "pwlab-dev",
        "setpriv", "--bounding-set=-net_raw", "--", sys.executable, "-V",
    ]  # fmt: skip


def test_paramiko_runs_our_pipe_with_the_spec_out_of_argv() -> None:
    how = launch(
        _v(
            "paramiko://root@198.18.200.2:2222",
            ssh_config="/etc/pw/ssh_config",
            python="/usr/bin/python3",
        ),
        ["{python}", "-c", "print('x y')"],
    )
    assert how.argv == [sys.executable, "-m", "prodwall.vantages.paramiko_pipe"]
    spec = json.loads(how.env[ENV])
    assert spec["host"] == "root@198.18.200.2:2222"
    assert spec["ssh_config"] == "/etc/pw/ssh_config"
    assert shlex.split(spec["command"]) == ["/usr/bin/python3", "-c", "print('x y')"]


ANSIBLE_INVENTORY = (
    "[ci]\n"
    "test-ci ansible_host=198.18.200.6 ansible_user=root ansible_become=true\n"
    "dev-ws ansible_host=198.18.200.2 ansible_user=admin ansible_ssh_pass=s3cret "
    "ansible_connection=paramiko_ssh\n"
    "[odd]\n"
    "win ansible_host=198.18.200.9 ansible_connection=winrm\n"
)


@pytest.fixture
def ansible_inventory(tmp_path: Path) -> str:
    if (
        shutil.which("ansible-inventory") is None
        and not (Path(sys.executable).parent / "ansible-inventory").exists()
    ):
        pytest.skip("ansible-core is not installed")
    path = tmp_path / "hosts.ini"
    path.write_text(ANSIBLE_INVENTORY)
    return str(path)


def test_ansible_reaches_the_host_through_the_backend_its_inventory_names(
    ansible_inventory: str,
) -> None:
    ssh = launch(
        _v("ansible://test-ci", ansible_inventory=ansible_inventory, python="/usr/bin/python3"),
        ["{python}", "-V"],
    )
    words = shlex.split(ssh.argv[2])
    assert words[0] == "ssh" and "User=root" in words and "198.18.200.6" in words
    assert shlex.split(words[-1]) == ["sudo", "-n", "/usr/bin/python3", "-V"]  # become
    para = launch(_v("ansible://dev-ws", ansible_inventory=ansible_inventory), ["{python}", "-V"])
    assert para.argv[-1] == "prodwall.vantages.paramiko_pipe"
    # Ansible's password reaches paramiko in the child's environment, never in argv (`ps`)
    assert json.loads(para.env[ENV])["host"] == "admin:s3cret@198.18.200.2"
    assert not any("s3cret" in a for a in para.argv)


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("ansible://ci", "gives 2 hosts for 'ci'"),
        ("ansible://win", "connection 'winrm' has no testinfra backend"),
        ("ansible://nowhere", "gives 0 hosts"),
    ],
)
def test_an_ansible_host_prodwall_cannot_reach_is_inconclusive_by_name(
    ansible_inventory: str, location: str, says: str
) -> None:
    vantage = _v(location, ansible_inventory=ansible_inventory)
    with pytest.raises(BackendUnavailable, match=says):
        launch(vantage, ["{python}", "-V"])
    with pytest.raises(AgentError, match=says):
        run_agent(vantage, "prodwall.families.routes.vantage_agent", {}, 10)


def test_the_agent_runs_locally_from_its_shipped_file() -> None:
    module = "prodwall.families.routes.vantage_agent"
    result = run_agent(_v("local"), module, {"lookups": ["127.0.0.1"]}, 60)
    assert (
        result["lookups"][0]["returncode"] == 0 and '"dev":"lo"' in result["lookups"][0]["stdout"]
    )


def test_every_location_scheme_has_one_transport_and_back() -> None:
    """One registry: the schemes the location parser accepts are exactly the transports
    there are, each in a module of its own, used by launching and by fleet placement."""
    from typing import get_args

    from prodwall.vantages import backends
    from prodwall.vantages.location import Scheme

    assert set(backends.REGISTRY) == set(get_args(Scheme))
    modules = {type(t).__module__ for t in backends.REGISTRY.values()}
    assert len(modules) == len(backends.REGISTRY)
    with pytest.raises(backends.BackendUnavailable, match="without a stdin stream"):
        backends.transport("winrm")

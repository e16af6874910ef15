"""The CLI: --help everywhere, documented exit codes, plan sends nothing."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from prodwall.cli import main

EXAMPLE = str(REPO / "inventories" / "example.yaml")


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin)


@pytest.mark.parametrize("command", ["validate", "plan", "schema", "run", "fingerprint"])
def test_every_command_has_help(command: str) -> None:
    done = _cli(command, "--help")
    assert done.returncode == 0
    assert "usage: prodwall" in done.stdout


def test_top_level_help_documents_exit_codes() -> None:
    done = _cli("--help")
    assert done.returncode == 0
    assert "exit codes: 0 all blocked, 1 something reachable, 2 bad input" in done.stdout


def test_validate_example_ok_and_bad_file_exit_2(write_yaml: Callable[[str], Path]) -> None:
    assert main(["validate", EXAMPLE]) == 0
    bad = write_yaml("version: 1\nname: x\nenvironments: {}\n")
    done = _cli("validate", str(bad))
    assert done.returncode == 2
    assert f"{bad}:3: environments: Dictionary should have at least 1 item" in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_error_exits_2() -> None:
    assert _cli("plan", "--inventory", EXAMPLE).returncode == 2  # no --vantage
    done = _cli("plan", "--inventory", EXAMPLE, "--vantage", "ghost")
    assert done.returncode == 2
    assert "vantage 'ghost' is not declared" in done.stderr


def test_plan_text_and_json_agree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == sum(p["count"] for p in data["probes"])
    assert data["counts"]["tcp"] == 6 * 65535
    assert main(["plan", "-i", EXAMPLE, "--vantage", "dev-laptop"]) == 0
    text = capsys.readouterr().out
    assert "Nothing is sent by `plan`" in text
    assert re.search(rf"^total +{data['total']:,}$", text, re.MULTILINE)


def test_plan_expand_lists_every_single_probe(
    write_yaml: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inv = write_yaml("""
        version: 1
        name: small
        environments:
          prod:
            tier: production
            networks: [198.19.0.0/30]
            hosts: {db: {addresses: [198.19.0.1], services: [postgres]}}
          dev: {tier: dev, networks: [198.18.0.0/24]}
        vantages: {v: {location: local, environment: dev}}
        probing: {tcp_ports: "5432,6432", udp_ports: "53", icmp: false}
        """)
    assert main(["plan", "-i", str(inv), "--vantage", "v", "--expand"]) == 0
    lines = [ln.split("\t")[:3] for ln in capsys.readouterr().out.splitlines() if "\t" in ln]
    assert lines == [
        ["route", "198.19.0.0/30", "-"],
        ["tcp", "198.19.0.1", "tcp/5432"],
        ["tcp", "198.19.0.1", "tcp/6432"],
        ["udp", "198.19.0.1", "udp/53"],
        *(["secrets", source, "-"] for source in ("files", "stores", "manifests", "processes")),
        ["host", "name-resolution", "-"],
        ["host", "ssh", "-"],
        ["host", "live", "-"],
    ]


def test_scope_refusal_exits_2(write_yaml: Callable[[str], Path]) -> None:
    inv = write_yaml("""
        version: 1
        name: public
        environments:
          prod: {tier: production, networks: [1.1.1.0/24], hosts: {w: {addresses: [1.1.1.1]}}}
          dev: {tier: dev, networks: [198.18.0.0/24]}
        vantages: {v: {location: local, environment: dev}}
        """)
    done = _cli("plan", "-i", str(inv), "--vantage", "v")
    assert done.returncode == 2
    assert "scope guard refused the plan, nothing was sent" in done.stderr


def test_schema_is_json_schema_with_inventory_fields() -> None:
    done = _cli("schema")
    schema = json.loads(done.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"environments", "vantages", "policy", "scope"} <= set(schema["properties"])
    assert schema["$defs"]["AllowedFlow"]["required"] == [
        "ticket",
        "approver",
        "justification",
        "expires",
        "from",
        "to",
        "services",
    ]


def test_fingerprint_reads_stdin_and_never_prints_the_secret(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("0123456789abcdef0123456789abcdef")
    done = _cli("fingerprint", "--key-file", str(key), stdin="s3cret-prod-pw\n")
    assert done.returncode == 0
    import hashlib
    import hmac

    assert (
        done.stdout.strip()
        == hmac.new(key.read_bytes().strip(), b"s3cret-prod-pw", hashlib.sha256).hexdigest()
    )
    assert "s3cret" not in done.stdout + done.stderr
    short = _cli("fingerprint", stdin="x")
    assert short.returncode == 2 and "at least 16 bytes" in short.stderr


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_a_probe_cap_that_is_not_a_positive_count_is_a_usage_error(value: str) -> None:
    done = run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "--max-probes", value)
    assert done.returncode == 2
    assert "--max-probes" in done.stderr and "Traceback" not in done.stderr


def test_plan_estimates_the_sweep_time_and_names_public_space_first(tmp_path: Path) -> None:
    done = run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop")
    assert done.returncode == 0
    assert "estimated network sweep time: about" in done.stdout
    assert not done.stdout.startswith("PUBLIC")
    public = tmp_path / "public.yaml"
    text = Path(EXAMPLE).read_text().replace("198.51.100.", "1.1.1.")
    public.write_text(text.replace("allow_public: false", "allow_public: true"))
    done = run_cli("plan", "-i", str(public), "--vantage", "dev-laptop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PUBLIC address space will be probed"), done.stdout[:200]
    assert "1.1.1.0/24" in done.stdout.splitlines()[0]


def test_the_probe_ceiling_is_lifted_only_on_the_command_line(tmp_path: Path) -> None:
    hosts = "\n".join(f"      h{i}: {{addresses: [198.19.0.{i}]}}" for i in range(1, 200))
    inv = tmp_path / "big.yaml"
    inv.write_text(
        "version: 1\nname: big\nenvironments:\n  prod:\n    tier: production\n"
        "    networks: [198.19.0.0/24]\n    hosts:\n"
        f"{hosts}\n"
        "  dev: {tier: dev, networks: [198.18.0.0/24]}\n"
        "vantages: {v: {location: 'netns:dev', environment: dev}}\n"
        "scope: {max_probes: 50000000}\n"
    )
    refused = run_cli("plan", "-i", str(inv), "--vantage", "v")
    assert refused.returncode == 2
    assert "ceiling of 10,000,000 only --max-probes" in refused.stderr
    allowed = run_cli("plan", "-i", str(inv), "--vantage", "v", "--max-probes", "20000000")
    assert allowed.returncode == 0, allowed.stderr


# --- conventions: -v is verbose, --vantage; --format json everywhere; per-command exit codes --


def test_the_old_dash_v_vantage_still_works_with_a_note() -> None:
    old = run_cli("plan", "-i", EXAMPLE, "-v", "dev-laptop", "-q")
    new = run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "-q")
    assert old.returncode == new.returncode == 0
    assert old.stdout == new.stdout
    assert "`-v NAME` for the vantage is deprecated; write `--vantage dev-laptop`" in old.stderr
    assert "deprecated" not in new.stderr
    verbose = run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "-v", "-q")
    assert verbose.returncode == 0 and "deprecated" not in verbose.stderr


@pytest.mark.parametrize(
    ("command", "own", "foreign"),
    [
        ("validate", "0 every inventory is valid", "1 something reachable"),
        ("plan", "0 the plan was printed", "1 something reachable"),
        ("lab", "3 status: the lab is up but degraded", "1 something reachable"),
        ("report", "1 something reachable", "intact"),
        ("merge", "1 something reachable", "intact"),
        ("history", "the last night decides", "intact"),
        ("diff", "1 something became reachable (a new check", "all blocked"),
        ("verify", "0 intact", "reachable"),
        ("run", "3 inconclusive, nothing reviewed, or partial", "intact"),
        ("hosts", "3 inconclusive, nothing reviewed, or partial", "intact"),
    ],
)
def test_each_help_gives_its_own_exit_codes(command: str, own: str, foreign: str) -> None:
    done = _cli(command, "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and own in text and foreign not in text.split("exit codes:")[1]


def test_validate_quiet_json_and_dash_i(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-q", EXAMPLE]) == 0
    assert capsys.readouterr().out == ""
    assert main(["validate", "-i", EXAMPLE, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"][0]["name"] == "Example Payments Ltd" and doc["valid"][0]["notices"] == []


def test_errors_are_json_under_format_json(write_yaml: Callable[[str], Path]) -> None:
    bad = write_yaml("version: 1\nname: x\nenvironments: {}\n")
    done = _cli("validate", str(bad), "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 2 == doc["error"]["exit_code"]
    problem = doc["error"]["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == (str(bad), 3, "environments")
    ghost = _cli("plan", "-i", EXAMPLE, "--vantage", "ghost", "--format", "json")
    assert ghost.returncode == 2 and "ghost" in json.loads(ghost.stdout)["error"]["message"]
    usage = _cli("plan", "-i", EXAMPLE, "--format=json")  # no --vantage: argparse's error
    assert usage.returncode == 2 and "--vantage" in json.loads(usage.stdout)["error"]["message"]
    assert usage.stderr == ""


def test_plan_warns_of_missing_controls_and_boundary_gateways(tmp_path: Path) -> None:
    inv = tmp_path / "bare.yaml"
    inv.write_text(
        "version: 1\nname: bare\nenvironments:\n  prod:\n    tier: production\n"
        "    networks: [198.19.0.0/24]\n    hosts: {db: {addresses: [198.19.0.5]}}\n"
        "  dev: {tier: dev, networks: [198.18.0.0/24]}\n"
        "vantages: {v: {location: 'netns:dev', environment: dev}}\n"
    )
    done = run_cli("plan", "-i", str(inv), "--vantage", "v", "-q")
    assert done.returncode == 0
    for protocol in ("tcp", "udp", "icmp"):
        assert f"vantage v has no positive control for {protocol}" in done.stderr
    assert "'dev' (vantage v) declares no boundary_gateways" in done.stderr
    assert (
        "warning: vantage v has no positive control for tcp" in run_cli("validate", str(inv)).stdout
    )
    # the example inventory has what it needs: no warnings
    assert "warning" not in run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop").stderr


def test_plan_says_which_addresses_get_no_port_probe() -> None:
    done = run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "--format", "json")
    lines = json.loads(done.stdout)["addresses_without_port_probes"]
    assert lines[0].startswith("production network 198.51.100.0/24: 252 addresses get no port")


def test_documentation_ranges_need_an_opt_in(tmp_path: Path) -> None:
    text = Path(EXAMPLE).read_text()
    inv = tmp_path / "copied.yaml"
    inv.write_text(text.replace("  allow_documentation: true", ""))
    done = run_cli("plan", "-i", str(inv), "--vantage", "dev-laptop")
    assert done.returncode == 2
    assert "overlaps 198.51.100.0/24, a documentation-only range" in done.stderr
    assert "scope.allow_documentation: true" in done.stderr
    assert run_cli("plan", "-i", EXAMPLE, "--vantage", "dev-laptop", "-q").returncode == 0


def test_inventory_from_stdin_for_plan() -> None:
    done = run_cli(
        "plan", "-i", "-", "--vantage", "dev-laptop", "-q", stdin=Path(EXAMPLE).read_text()
    )
    assert done.returncode == 0 and "Plan for 'Example Payments Ltd'" in done.stdout

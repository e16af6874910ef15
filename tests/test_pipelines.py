"""The example nightly pipelines (docs/pipelines/): valid against GitHub's and GitLab's own
schemas (check-jsonschema's vendored copies, no network), clean under yamllint, and every
prodwall command in them one that this prodwall's parser accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO
from prodwall.cli.parser import _parser

PIPELINES = REPO / "docs" / "pipelines"
SCHEMAS = {
    "github-nightly.yml": "vendor.github-workflows",
    "gitlab-nightly.yml": "vendor.gitlab-ci",
}
YAMLLINT = (
    "{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false}, "
    "document-start: disable}}"
)


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name(name)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_pipeline_matches_its_ci_systems_schema(name: str, tmp_path: Path) -> None:
    path = PIPELINES / name
    done = _tool("check-jsonschema", "--builtin-schema", SCHEMAS[name], str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    # the check can fail: a misspelt key is caught
    broken = tmp_path / name
    text = path.read_text()
    broken.write_text(text.replace("runs-on:", "run-on:") if "github" in name
                      else text.replace("  script:\n", "  scripts:\n", 1))  # fmt: skip
    assert _tool("check-jsonschema", "--builtin-schema", SCHEMAS[name], str(broken)).returncode


def test_pipelines_pass_yamllint() -> None:
    done = _tool("yamllint", "-s", "-d", YAMLLINT, str(PIPELINES))
    assert done.returncode == 0, done.stdout + done.stderr


def _shell_lines(doc: Any) -> list[str]:
    """Every shell line of a workflow (steps' run:) or a GitLab job (script lists)."""
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                out.append(value)
            elif key in ("script", "before_script") and isinstance(value, list):
                out += [str(v) for v in value]
            else:
                out += _shell_lines(value)
    elif isinstance(doc, list):
        for item in doc:
            out += _shell_lines(item)
    return out


def _prodwall_commands(name: str) -> list[list[str]]:
    doc = yaml.safe_load((PIPELINES / name).read_text())
    text = "\n".join(_shell_lines(doc)).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        found = re.search(r'(?:"\$PRODWALL"|\.venv/bin/prodwall)\s+(.*)', line)
        if not found:
            continue
        rest = re.split(r"\s(?:\|\||&&|;)\s|\s\|\|\s?", found.group(1))[0]
        rest = re.sub(r'"\$\{?(\w+)\}?"', r"\1", rest).replace("$", "")
        commands.append(shlex.split(rest))
    return commands


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_prodwall_command_in_a_pipeline_parses(name: str) -> None:
    commands = _prodwall_commands(name)
    assert {c[0] for c in commands} == {"fleet", "ci"}
    for argv in commands:
        args = _parser().parse_args(argv)
        assert args.command == argv[0]
    ci = next(c for c in commands if c[0] == "ci")
    assert "--previous" in ci  # judged against the previous night

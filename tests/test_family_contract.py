"""The family contract is the only door (#26): the core names no family, every family's
vantage code runs on a bare Python, and a third-party family imports prodwall's public
API only."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src" / "prodwall"
THIRD_PARTY = REPO / "tests" / "fixtures" / "thirdparty"
# the core: everything but the families' own code (their plan halves and their engines),
# the CLI (its commands `hosts` and `cloud` are named so) and the inventory schema (its
# fields `hosts`, `dns_domains`...)
FAMILY_CODE = ("families/dns", "families/network", "families/routes", "families/secrets",
               "families/hosts", "families/cloud", "lab", "demo.py", "fleetrun",
               "cli", "inventory")  # fmt: skip


def _families() -> list[str]:
    from prodwall.families.registry import registry

    return sorted(registry())


def _core_modules() -> list[Path]:
    return [p for p in SRC.rglob("*.py")
            if not str(p.relative_to(SRC)).startswith(FAMILY_CODE)]  # fmt: skip


def _decisions(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """Where a family's name decides something: compared with, listed in a collection, or
    given a module-level name (a field or key merely spelled the same is not a decision)."""
    found = []
    for node in ast.walk(tree):
        parts: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
        elif isinstance(node, ast.Set | ast.Tuple | ast.List):
            parts = list(node.elts)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            parts = [node.value]
        found += [(p.lineno, p.value) for p in parts
                  if isinstance(p, ast.Constant) and p.value in names]  # fmt: skip
    return found


def test_no_core_module_names_a_family() -> None:
    """A family's name deciding something in the core means the core decides per family:
    that belongs in the family's contract instead."""
    names = set(_families())
    found = [f"{path.relative_to(SRC)}:{line}: {value!r}" for path in _core_modules()
             for line, value in _decisions(ast.parse(path.read_bytes()), names)]  # fmt: skip
    assert not found, "the core names families:\n" + "\n".join(found)


def test_the_checker_would_see_a_family_named_in_the_core() -> None:
    """The test above can fail: the same scan over code that names families does."""
    bad = ast.parse('PATHS = {"network", "dns"}\nif family == "secrets": pass\nFLEET = "hosts"\n'
                    'row = {"hosts": 3}\n')  # fmt: skip
    hits = {value for _, value in _decisions(bad, set(_families()))}
    assert hits == {"network", "dns", "secrets", "hosts"}


def test_every_contract_fact_is_declared_without_getattr() -> None:
    from prodwall.families.base import CONTRACT
    from prodwall.families.registry import registry

    for family in registry().values():
        assert all(hasattr(family, a) for a in CONTRACT), family.name
    for path in _core_modules():
        text = path.read_text()
        for fact in ("runner_plan", "order", "vantage_modules", "limits"):
            assert f'getattr(family, "{fact}"' not in text, path


def _bare_python() -> str:
    """The system's Python, run with -I -S: no site-packages, no PYTHONPATH, no user
    site: what a vantage that only has Python has."""
    found = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    return found


@pytest.fixture(scope="module")
def third_party_on_path() -> object:
    sys.path.insert(0, str(THIRD_PARTY))
    from prodwall.families.registry import registry

    registry.cache_clear()
    yield
    sys.path.remove(str(THIRD_PARTY))
    registry.cache_clear()


def test_every_familys_agent_file_runs_on_a_bare_python(
    tmp_path: Path, third_party_on_path: object
) -> None:
    """Each agent file, run by `python3 -I -S` with a job it must refuse: its modules
    import (the refusal comes from its own code), or it names the one package the family
    declared the vantage must have. A ModuleNotFoundError of anything else fails."""
    from prodwall.families.registry import registry
    from prodwall.vantages.agentfile import agent_file

    modules = [(f.name, m, f.vantage_needs) for f in registry().values()
               for m in f.vantage_modules]  # fmt: skip
    assert "banner" in {name for name, _, _ in modules}  # the third party is among them
    assert {"routes", "network", "dns", "secrets", "hosts", "cloud"} <= {n for n, _, _ in modules}
    python = _bare_python()
    for family, module, needs in modules:
        path = tmp_path / f"{family}.pyz"
        path.write_bytes(agent_file((module,)))
        envelope = json.dumps({"protocol": 1, "module": module, "job": {"not": "a job"}})
        done = subprocess.run([python, "-I", "-S", str(path)], input=envelope,
                              capture_output=True, text=True, timeout=120,
                              env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
                              cwd=tmp_path)  # fmt: skip
        reply = json.loads(done.stdout)
        error = str(reply.get("error", ""))
        missing = [line for line in done.stderr.splitlines() if "No module named" in line]
        if missing:
            assert any(f"'{need}'" in missing[-1] for need in needs), (family, missing)
        else:
            assert "ModuleNotFoundError" not in error and "ImportError" not in error, (
                family, error, done.stderr[-2000:])  # fmt: skip
            assert error or "result" in reply, (family, reply)  # its own code answered


def test_an_undeclared_import_is_refused_when_the_file_is_built(tmp_path: Path) -> None:
    """A vantage module whose package __init__ pulls in pydantic (the mistake the banner
    fixture once made) is refused at build time, naming the import."""
    pkg = tmp_path / "pw_heavy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from prodwall.families.base import RunContext\n")
    (pkg / "vantage.py").write_text("def run(job):\n    return {}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        from prodwall.vantages.agentfile import AgentFileError, agent_file

        with pytest.raises(AgentFileError, match="imports pydantic"):
            agent_file(("pw_heavy.vantage",))
    finally:
        sys.path.remove(str(tmp_path))


def test_the_third_party_family_imports_the_public_api_only() -> None:
    for path in (THIRD_PARTY / "pw_banner_family").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prodwall"):
                assert node.module == "prodwall", f"{path.name}: from {node.module} import"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("prodwall.") for a in node.names), path.name
    import prodwall

    assert set(prodwall.__all__) == {*prodwall._PUBLIC, "__version__"}
    for name in prodwall.__all__:
        assert getattr(prodwall, name) is not None

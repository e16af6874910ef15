"""The vantage-side code as one self-contained file: a zipapp built from the
import closure of the modules a family runs at the vantage.

Only prodwall modules the agent really imports go in, plus pure-Python
packages it must have (dnspython); compiled ones (numpy) must be installed at
the vantage, and the agent says so if they are not.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

ENTRY = "prodwall.vantages.entry"


class AgentFileError(ImportError):
    """A vantage module imports what a bare vantage Python lacks and nobody declared."""
_MAIN = b"import sys\nfrom prodwall.vantages.entry import main\nsys.exit(main())\n"


@functools.cache
def agent_file(modules: tuple[str, ...]) -> bytes:
    """The zipapp bytes for these vantage-side modules (cached per process). What they
    import beyond the standard library must be declared by their family (`bundled`:
    shipped inside; `vantage_needs`: installed there), or the build is refused here,
    naming the import, instead of failing at the vantage."""
    from prodwall.families.registry import registry

    owners = [f for f in registry().values() if set(modules) & set(f.vantage_modules)]
    bundled = {p for f in owners for p in f.bundled}
    needs = {p for f in owners for p in f.vantage_needs}
    files: dict[str, Path] = {}
    packages = {"prodwall", *(m.split(".")[0] for m in modules)}
    closure = _closure((ENTRY, *modules), packages)
    _check_imports(closure, packages | bundled | needs, modules)
    for name in closure:
        path = _source(name)
        files[
            name.replace(".", "/") + ("/__init__.py" if path.name == "__init__.py" else ".py")
        ] = path
    for package in sorted(bundled):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*.py")):
            files[f"{package}/{path.relative_to(root).as_posix()}"] = path
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(_info("__main__.py"), _MAIN)
        for arcname, path in sorted(files.items()):
            z.writestr(_info(arcname), path.read_bytes())
    return out.getvalue()


def _check_imports(closure: list[str], allowed: set[str], modules: tuple[str, ...]) -> None:
    for name in closure:
        for node in _import_nodes(_source(name)):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top in allowed or top == "__future__":
                    continue
                raise AgentFileError(
                    f"the vantage code of {', '.join(modules)} imports {top} (in {name}, line "
                    f"{node.lineno}), which a bare Python at the vantage lacks: import only the "
                    "standard library there (keep the family object, and anything importing "
                    "prodwall's runner side, out of the vantage module's package __init__), "
                    "or declare it in the family's bundled or vantage_needs"
                )


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


@functools.cache
def _import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of a module, but those under `if TYPE_CHECKING:` (they
    never run). Parsed once: the closure and the import check both read them."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [ast.parse(path.read_bytes(), str(path))]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo += node.orelse
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        todo += ast.iter_child_nodes(node)
    return found


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"vantage-side module {module} is not importable here")
    return Path(spec.origin)


def _closure(roots: Iterable[str], packages: set[str]) -> list[str]:
    """Modules of `packages` (prodwall, a family's own) reachable by imports from `roots`."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in packages:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        path = _source(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _import_nodes(path):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(package, node.module, node.level)
                todo.append(base)
                todo += [
                    f"{base}.{a.name}"
                    for a in node.names
                    if base.split(".")[0] in packages and _is_module(f"{base}.{a.name}")
                ]
    return sorted(seen)


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False

"""Run checks/ under pytest for one vantage and read back its results JSON."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from .errors import ProdwallError
from .probes.network import EVIDENCE_DIR_ENV
from .results import Results, read_results


def find_checks(given: Path | None = None) -> Path:
    if given is not None:
        return given
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        if (folder / "checks" / "controls.yaml").is_file():
            return folder / "checks"
    raise ProdwallError("cannot find the checks/ folder; pass --checks DIR")


class ChecksDidNotComplete(ProdwallError):
    exit_code = 3


def run_checks(
    inventory: Path,
    vantage: str,
    out: Path,
    checks: Path | None = None,
    pytest_args: list[str] | None = None,
    max_probes: int | None = None,
    quiet: bool = False,
) -> Results:
    """Run the suite; raise ChecksDidNotComplete when pytest itself broke down."""
    checks = find_checks(checks)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.unlink(missing_ok=True)  # never read a previous run's verdicts
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(checks),
        "-p",
        "no:cacheprovider",
        f"--rootdir={checks}",
        "--inventory",
        str(inventory),
        "--vantage",
        vantage,
        "--results-json",
        str(results_path),
        "--junitxml",
        str(out / "junit.xml"),
        "-o",
        "junit_family=xunit2",
        *(pytest_args or []),
    ]
    if max_probes:
        cmd += ["--max-probes", str(max_probes)]
    if importlib.util.find_spec("pytest_html") is not None:
        cmd += [f"--html={out / 'pytest-report.html'}", "--self-contained-html"]
    if not quiet:
        cmd.append("--capture=sys")  # the probe agent's progress reaches the terminal live
    env = {**os.environ, EVIDENCE_DIR_ENV: str(out / "evidence")}
    done = subprocess.run(cmd, capture_output=quiet, text=True, env=env)
    if done.returncode in (2, 3, 4) or not results_path.exists():
        detail = (done.stdout or "")[-2000:] if quiet else ""
        err = ChecksDidNotComplete(
            f"the checks did not complete (pytest exit "
            f"{done.returncode}); no verdict was written\n{detail}"
        )
        if done.returncode == 4:
            err.exit_code = 2
        raise err
    return read_results(results_path)

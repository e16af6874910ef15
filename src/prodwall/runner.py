"""Run checks/ under pytest for one vantage and read back its results JSON."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from prodwall.controls import family_check_folders
from prodwall.errors import ProdwallError
from prodwall.inventory.loader import LoadedInventory
from prodwall.results import Results, read_results

BUILTIN_CHECKS = "prodwall.builtin_checks"


def find_checks(given: Path | None = None) -> Path:
    """--checks when given, else the checks this installation ships (the package
    prodwall.builtin_checks: the repository's checks/ in a source tree, inside the wheel
    when installed). Never a checks/ folder that happens to be in the working directory:
    what a run judges by is what was installed, not what lies around."""
    if given is not None:
        return given
    spec = importlib.util.find_spec(BUILTIN_CHECKS)
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent
        if (folder / "controls.yaml").is_file():
            return folder
    raise ProdwallError(
        f"this installation of prodwall has no built-in checks ({BUILTIN_CHECKS} is missing "
        "or has no controls.yaml): reinstall it, or pass --checks DIR"
    )


class ChecksDidNotComplete(ProdwallError):
    exit_code = 3


HOST_CHECKS = "test_hosts.py"


@dataclass(frozen=True)
class HostsRun:
    """testinfra's host selection for a run of the host checks across hosts."""

    hosts: str  # testinfra's --hosts: ssh://a,ssh://b or ansible://group
    ansible_inventory: str | None = None
    ssh_config: str | None = None
    ssh_identity_file: str | None = None
    sudo: bool = False
    workers: int = 1  # pytest-xdist's -n

    check_file = HOST_CHECKS

    def pytest_args(self) -> list[str]:
        out = ["--hosts", self.hosts]
        for flag, value in (
            ("--ansible-inventory", self.ansible_inventory),
            ("--ssh-config", self.ssh_config),
            ("--ssh-identity-file", self.ssh_identity_file),
        ):
            if value:
                out += [flag, value]
        if self.sudo:
            out.append("--sudo")
        if self.workers > 1:
            out += ["-n", str(self.workers)]
        return out


CLOUD_CHECKS = "test_cloud.py"


@dataclass(frozen=True)
class RunnerRun:
    """The proofs read from the runner itself: the cloud configuration, via audit roles."""

    check_file = CLOUD_CHECKS

    def pytest_args(self) -> list[str]:
        return ["--from-runner"]


def run_checks(
    inventory: LoadedInventory,
    vantage: str,
    out: Path,
    checks: Path | None = None,
    pytest_args: list[str] | None = None,
    max_probes: int | None = None,
    quiet: bool = False,
    inside: tuple[str, ...] = (),
    hosts: HostsRun | RunnerRun | None = None,
) -> Results:
    """Run the suite; raise ChecksDidNotComplete when pytest itself broke down.

    The inventory goes to pytest through a pipe, as the bytes already parsed:
    read once, so `-i <(sops -d inv.yaml)` and stdin work and the recorded
    sha256 is that of what was checked; nothing decrypted touches the disk.
    """
    checks = find_checks(checks)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.unlink(missing_ok=True)  # never read a previous run's verdicts
    where = [str(checks), *(str(folder) for folder in family_check_folders())]
    who = ["--vantage", vantage]
    if hosts is not None:  # host checks across testinfra's hosts, or the runner's own proofs
        where = [str(checks / hosts.check_file)]
        who = hosts.pytest_args()
    cmd = [
        *inside,  # e.g. `ip netns exec NS`: run where the vantage is reachable from
        sys.executable,
        "-m",
        "pytest",
        *where,
        "-p",
        "no:cacheprovider",
        f"--rootdir={checks}",
        "--inventory",
        "/dev/fd/{fd}",
        "--inventory-label",
        str(inventory.path),
        *who,
        "--results-json",
        str(results_path),
        "--evidence-dir",
        str(out / "evidence"),
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
    read_end, write_end = os.pipe()
    cmd = [arg.replace("{fd}", str(read_end)) if arg.startswith("/dev/fd/") else arg for arg in cmd]
    feeder = threading.Thread(target=_feed, args=(write_end, inventory.raw), daemon=True)
    feeder.start()  # a pipe holds 64 KiB; an inventory may be larger
    try:
        done = subprocess.run(cmd, capture_output=quiet, text=True, pass_fds=(read_end,))
    finally:
        os.close(read_end)
        feeder.join(timeout=5)
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


def _feed(fd: int, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    except BrokenPipeError:  # pytest stopped before reading it: its exit code says why
        pass

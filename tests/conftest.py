"""Shared fixtures for prodwall's own tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# a third-party family's package: its checks run under `prodwall run`, not as our tests
collect_ignore = ["fixtures"]


def lab_available() -> str | None:
    """Why lab tests cannot run here, or None if they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("lab") is None:
        return
    why = lab_available()
    if why is None:
        return
    if os.environ.get("PRODWALL_REQUIRE_LAB") == "1":
        pytest.fail(f"lab test cannot run ({why}) but PRODWALL_REQUIRE_LAB=1", pytrace=False)
    pytest.skip(why)


def run_cli(
    *args: str, stdin: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`prodwall ARGS...` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "prodwall.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_checks(
    inv: Path, vantage: str, out: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`prodwall run` of the repository's checks from one vantage, quietly."""
    return run_cli(
        "run",
        "-i",
        str(inv),
        "--vantage",
        vantage,
        "--out",
        str(out),
        "--checks",
        str(REPO / "checks"),
        "--",
        "-q",
        timeout=timeout,
        env=env,
    )


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "inventory.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


class Netns:
    """Network namespaces a test creates and always removes, by their own names."""

    def __init__(self) -> None:
        self.prefix = f"pwt{uuid.uuid4().hex[:6]}"
        self.names: list[str] = []

    def add(self, suffix: str) -> str:
        name = f"{self.prefix}-{suffix}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.names.append(name)
        self.ip(name, "link", "set", "lo", "up")
        return name

    def ip(self, ns: str, *args: str) -> None:
        subprocess.run(["ip", "-n", ns, *args], check=True)

    def link(self, a: str, a_if: str, a_cidr: str, b: str, b_if: str, b_cidr: str) -> None:
        """A veth pair between two of our namespaces, addressed and up on both ends."""
        subprocess.run(
            ["ip", "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if,
             "netns", b],
            check=True,
        )  # fmt: skip
        for ns, dev, cidr in ((a, a_if, a_cidr), (b, b_if, b_cidr)):
            self.ip(ns, "addr", "add", cidr, "dev", dev)
            self.ip(ns, "link", "set", dev, "up")

    def cleanup(self) -> None:
        for name in reversed(self.names):
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@pytest.fixture
def netns() -> Iterator[Netns]:
    spaces = Netns()
    try:
        yield spaces
    finally:
        spaces.cleanup()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert spaces.prefix not in left, f"namespaces left behind: {left}"


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite signs as a configured CI does: $PRODWALL_SIGNING_KEY is set, so every
    bundle a test writes is signed and every command trusts it (the public half of the
    configured key). Tests of unsigned or untrusted bundles unset it themselves."""
    from prodwall.report.keys import keygen

    private, _public = keygen(tmp_path_factory.mktemp("signer") / "suite", "prodwall tests", "CI")
    before = os.environ.get("PRODWALL_SIGNING_KEY")
    os.environ["PRODWALL_SIGNING_KEY"] = str(private)
    yield private
    if before is None:
        os.environ.pop("PRODWALL_SIGNING_KEY", None)
    else:
        os.environ["PRODWALL_SIGNING_KEY"] = before

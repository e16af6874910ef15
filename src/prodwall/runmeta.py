"""Who ran what, where and when: the attestation part of the results file."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from prodwall import __version__
from prodwall.inventory.model import Vantage
from prodwall.results import VantageInfo

# CI variables worth attesting, by system. Values are ids and names, never tokens.
_CI_VARS = {
    "github": [
        "GITHUB_ACTIONS",
        "GITHUB_REPOSITORY",
        "GITHUB_WORKFLOW",
        "GITHUB_JOB",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_ACTOR",
        "GITHUB_SERVER_URL",
    ],
    "gitlab": [
        "GITLAB_CI",
        "CI_PROJECT_PATH",
        "CI_PIPELINE_ID",
        "CI_JOB_ID",
        "CI_JOB_NAME",
        "CI_COMMIT_SHA",
        "CI_COMMIT_REF_NAME",
        "GITLAB_USER_LOGIN",
        "CI_SERVER_URL",
    ],
    "generic": ["CI", "BUILD_ID", "BUILD_URL", "JOB_NAME"],
}


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_by() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    info = {"user": user, "host": socket.gethostname()}
    if os.environ.get("PRODWALL_OPERATOR"):  # the person who ran it, as they name themselves
        info["operator"] = os.environ["PRODWALL_OPERATOR"]
    for system, names in _CI_VARS.items():
        for name in names:
            if os.environ.get(name):
                info[name] = os.environ[name]
        if system != "generic" and os.environ.get(names[0]):
            info["ci_system"] = system
    return info


def git_revision(where: Path) -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{rev}{'+dirty' if dirty else ''}"


def vantage_info(name: str, vantage: Vantage) -> VantageInfo:
    """The vantage's own addresses, read where it lives, so the report says where probes left."""
    from prodwall.families.routes.records import RouteJob, RouteResult
    from prodwall.vantages.agent import AgentError, run_agent

    try:
        job = RouteJob(addresses=True).to_json()
        raw = run_agent(vantage, "prodwall.families.routes.vantage_agent", job, 60)
        shown = RouteResult.from_json(raw).addresses
        if shown is None or shown.returncode != 0:
            raise ValueError(shown.error or shown.stderr if shown else "no answer")
        links = json.loads(shown.stdout)
    except (AgentError, ValueError, KeyError) as exc:
        return VantageInfo(
            name,
            vantage.location,
            vantage.environment,
            (),
            f"could not read addresses: {exc}",
        )
    addrs = tuple(
        f"{a['local']}/{a['prefixlen']} ({link['ifname']})"
        for link in links
        for a in link.get("addr_info", [])
        if a.get("scope") == "global"
    )
    return VantageInfo(name, vantage.location, vantage.environment, addrs)


__all__ = ["__version__", "git_revision", "run_by", "utc_now", "vantage_info"]

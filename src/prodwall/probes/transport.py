"""How to run the probe agent at a vantage: here, or inside a network namespace.

PRODWALL_AGENT_WRAPPER (a command prefix, e.g. `setpriv --bounding-set=-net_raw --`)
lets tests run the agent with fewer privileges, exactly as a restricted
vantage would.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Any

from ..errors import ProdwallError
from ..inventory.model import Vantage


class AgentError(ProdwallError):
    exit_code = 3


def agent_command(vantage: Vantage, module: str = "prodwall.probes.agent") -> list[str]:
    wrapper = shlex.split(os.environ.get("PRODWALL_AGENT_WRAPPER", ""))
    base = [*wrapper, sys.executable, "-m", module]
    transport, _, rest = vantage.location.partition(":")
    if transport == "local":
        return base
    if transport == "netns":
        return ["ip", "netns", "exec", rest, *base]
    raise AgentError(
        f"probing from {transport} vantages is not supported yet "
        f"({vantage.location}); use local or netns:NAME"
    )


def run_agent(
    vantage: Vantage, job: dict[str, Any], timeout: float, module: str = "prodwall.probes.agent"
) -> dict[str, Any]:
    """Run one job at the vantage; progress goes straight to our stderr."""
    cmd = agent_command(vantage, module)
    try:
        done = subprocess.run(
            cmd, input=json.dumps(job), stdout=subprocess.PIPE, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise AgentError(
            f"the probe agent at {vantage.location} ran past {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise AgentError(f"cannot start the probe agent: {exc.strerror}") from None
    if done.returncode != 0:
        raise AgentError(
            f"the probe agent at {vantage.location} failed (exit "
            f"{done.returncode}); see its messages above"
        )
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AgentError("the probe agent wrote no readable result") from None
    return result

"""The host's live firewall ruleset, read at the host (standard library only: it
travels in the agent file); judged by the runner, which knows what production is.
(Routes are the routes family's: it asks the same host's kernel.)

The ruleset is the one the kernel holds now, as `nft -j list ruleset` prints it, or
`iptables-save` and `ip6tables-save` where nft is missing; both need CAP_NET_ADMIN,
and a refusal is kept as the reason, never as an empty ruleset."""

from __future__ import annotations

import shutil
import subprocess

from prodwall.engine.protocol import one_of
from prodwall.families.hosts.records import Ruleset, RulesetTool


def rulesets() -> list[Ruleset]:
    """Every ruleset the kernel may hold: nftables (iptables-nft's rules are in it), and
    the legacy xtables tables beside it, which nft does not show."""
    out = [_ruleset("nft", ["nft", "-j", "list", "ruleset"])] if shutil.which("nft") else []
    legacy = ("iptables-legacy-save", "ip6tables-legacy-save")
    if not out:
        legacy = ("iptables-save", "ip6tables-save")  # one of them, whichever backend
    out += [_ruleset(t, [t]) for t in legacy if shutil.which(t)]
    if not out:
        return [Ruleset(tool="nft", error="neither nft nor iptables-save is installed")]
    return out


def _ruleset(tool: str, argv: list[str]) -> Ruleset:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Ruleset(
            tool=one_of(RulesetTool, tool), error=f"{tool} did not run: {type(exc).__name__}"
        )
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return Ruleset(
            tool=one_of(RulesetTool, tool), error=f"{tool} failed (exit {done.returncode}): {said}"
        )
    return Ruleset(tool=one_of(RulesetTool, tool), text=done.stdout)

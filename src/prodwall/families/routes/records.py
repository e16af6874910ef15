"""What the route agent is asked and answers (vantage_agent.py)."""

from __future__ import annotations

from dataclasses import dataclass

from prodwall.engine.protocol import Record


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class IpOutput(Record):
    """One `ip -j ...` run at the vantage."""

    command: str
    returncode: int | None = None  # None: it could not be run at all (see error)
    stdout: str = ""
    stderr: str = ""
    error: str = ""


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class RouteJob(Record):
    lookups: tuple[str, ...] = ()
    addresses: bool = False


@dataclass(frozen=True, kw_only=True)  # keyword construction only
class RouteResult(Record):
    lookups: tuple[IpOutput, ...] = ()
    addresses: IpOutput | None = None

"""prodwall: prove that test and development environments cannot reach production.

The public API, what a probe family of another package imports (and nothing else):

    from prodwall import (AgentError, FamilyDefaults, Inventory, Observation, PortSet,
                          Probe, ProdwallRun, RunContext, Signal, Vantage, run_agent)

(`ProdwallRun` is the `prodwall` fixture its checks are given.)

Loaded on first use: this package's `__init__` travels in every agent file, and a
vantage with a bare Python must not import the runner side (pydantic) to run."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module it lives in (a string, so the agent file's import scan skips it)
_PUBLIC = {
    "AgentError": "prodwall.vantages.agent",
    "FamilyDefaults": "prodwall.families.base",
    "Inventory": "prodwall.inventory.model",
    "Observation": "prodwall.verdicts",
    "PortSet": "prodwall.services",
    "Probe": "prodwall.plan",
    "ProdwallRun": "prodwall.session",
    "RunContext": "prodwall.families.base",
    "Signal": "prodwall.verdicts",
    "Vantage": "prodwall.inventory.model",
    "run_agent": "prodwall.vantages.agent",
}
__all__ = [
    "AgentError",
    "FamilyDefaults",
    "Inventory",
    "Observation",
    "PortSet",
    "Probe",
    "ProdwallRun",
    "RunContext",
    "Signal",
    "Vantage",
    "__version__",
    "run_agent",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from prodwall.families.base import FamilyDefaults, RunContext
    from prodwall.inventory.model import Inventory, Vantage
    from prodwall.plan import Probe
    from prodwall.services import PortSet
    from prodwall.session import ProdwallRun
    from prodwall.vantages.agent import AgentError, run_agent
    from prodwall.verdicts import Observation, Signal


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'prodwall' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)

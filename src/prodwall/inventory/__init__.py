"""Inventory: what production is, where probes run from, and the policy."""

from .loader import LoadedInventory, load_inventory
from .model import AllowedFlow, Environment, Host, Inventory, Vantage, Waiver

__all__ = [
    "AllowedFlow",
    "Environment",
    "Host",
    "Inventory",
    "LoadedInventory",
    "Vantage",
    "Waiver",
    "load_inventory",
]

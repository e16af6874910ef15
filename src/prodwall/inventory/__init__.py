"""Inventory: what production is, where probes run from, and the policy."""

from prodwall.inventory.loader import LoadedInventory, load_inventory
from prodwall.inventory.model import AllowedFlow, Environment, Host, Inventory, Vantage, Waiver

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

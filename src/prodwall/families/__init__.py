"""The probe families: each one package (family.py its contract, observe.py its runner
side, vantage_agent.py what runs at the vantage), found through the registry
(registry.py) under the `prodwall.families` entry point group.

Kept empty on purpose: every vantage module imports this package, and a vantage with a
bare Python must not import the runner side (pydantic) to run."""

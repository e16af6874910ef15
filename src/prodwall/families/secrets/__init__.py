"""The secrets family's vantage-side code and records: it finds credentials and
hard-wired connection strings on the vantage's host, attributes them to an
environment from the inventory's description of each (offline: no lookup unless
the inventory asks, no login ever), and returns fingerprints, never values.

family.py is its contract; observe.py is the runner side; vantage_agent.py runs at the
vantage. Kept free of imports: the vantage imports this package."""

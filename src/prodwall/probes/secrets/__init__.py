"""The secrets family's vantage-side code and records: it finds credentials and
hard-wired connection strings on the vantage's host, attributes them to an
environment from the inventory's description of each (offline: no lookup unless
the inventory asks, no login ever), and returns fingerprints, never values."""

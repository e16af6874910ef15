"""The network family: routes aside, what answers a vantage from production, over TCP,
UDP and ICMP. family.py is its contract; observe.py judges what the vantage sent back
(sweep_obs.py reads the sweeps); records.py is the wire; vantage_agent.py runs at the
vantage on the engines (prodwall.engine). Kept empty: the vantage imports this package."""

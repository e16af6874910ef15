"""The routes family: does any route from the vantage into production bypass the
boundary? family.py is its contract; observe.py judges; records.py is the wire;
vantage_agent.py runs at the vantage. Kept empty: the vantage imports this package."""

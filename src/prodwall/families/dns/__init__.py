"""The DNS family: production names, resolvers and zones, seen from the vantage.
family.py is its contract; observe.py judges; records.py is the wire; vantage_agent.py
and vantage_capture.py run at the vantage. Kept empty: the vantage imports this package."""

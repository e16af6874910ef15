"""The cloud family's probes: AWS identities at the vantage, live denial with them, and the
configuration proof read from the runner with audit roles. Every AWS call goes through the
read-only guard (readonly.py). family.py is its contract;
observe.py is the runner side; vantage_agent.py runs at the vantage. Kept free of
imports: the vantage imports this package."""

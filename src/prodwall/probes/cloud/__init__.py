"""The cloud family's probes: AWS identities at the vantage, live denial with them, and the
configuration proof read from the runner with audit roles. Every AWS call goes through the
read-only guard (readonly.py)."""

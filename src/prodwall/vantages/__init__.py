"""Where probes run from: a vantage location, the backend that reaches it, and the
single file of vantage-side code shipped there (the agent)."""

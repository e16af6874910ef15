"""The hosts family's vantage-side code and records: what a dev or test host itself says
about reaching production (name resolution, ssh trust), read there and judged here.

family.py is its contract; observe.py is the runner side; vantage_agent.py runs at the
vantage. Kept free of imports: the vantage imports this package."""

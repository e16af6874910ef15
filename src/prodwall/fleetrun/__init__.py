"""`prodwall fleet`: the suite run on many vantage hosts at once through Ansible, each
run's bundle fetched, verified and merged into one report."""

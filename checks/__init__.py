"""prodwall's built-in checks: pytest modules judged by prodwall's verdict code, and the
control catalogue they give evidence for. Installed as `prodwall.builtin_checks`."""

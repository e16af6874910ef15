"""prodwall: prove that test and development environments cannot reach production."""

__version__ = "0.1.0"

"""`formcheck compare A B`: two sets side by side (the command lives in cli/history.py)."""

from formcheck.cli.history import compare_app as app

__all__ = ["app"]

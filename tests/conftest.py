"""Test configuration: hypothesis draws the same examples on every run (a deterministic CI)."""

from hypothesis import settings

settings.register_profile("physml", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("physml")

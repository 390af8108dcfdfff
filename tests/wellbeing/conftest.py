"""Wellbeing tests use the shared `town` (tests/support/fixtures.py)."""

"""Integrity tests (issue 13) use the shared fixtures (tests/support/fixtures.py: `town`,
`db`) and helpers (tests/support/people.py)."""

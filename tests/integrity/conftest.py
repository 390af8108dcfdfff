"""Integrity tests reuse the members' `town` (areas, communities, a member of each role)."""

from tests.members.conftest import admin_client, town

__all__ = ["admin_client", "town"]

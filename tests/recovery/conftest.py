"""Recovery tests use the mail tests' SMTP server and the members' town."""

from __future__ import annotations

from tests.mail.conftest import admin_client, settings, smtp_peer, town

__all__ = ["admin_client", "settings", "smtp_peer", "town"]

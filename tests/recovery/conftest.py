"""Recovery tests use the mail tests' SMTP server, the members' town and the browser fixtures."""

from __future__ import annotations

from tests.browser.conftest import browser, live_server, page
from tests.mail.conftest import admin_client, settings, smtp_peer, town

__all__ = ["admin_client", "browser", "live_server", "page", "settings", "smtp_peer", "town"]

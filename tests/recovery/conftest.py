"""Recovery tests use the mail tests' SMTP server, the members' town and the browser fixtures."""

from __future__ import annotations

from tests.mail.conftest import settings

__all__ = ["settings"]

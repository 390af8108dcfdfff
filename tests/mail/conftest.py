"""Fixtures for mail tests: settings with the mail worker off (the real SMTP server on
loopback, `smtp_peer`, is shared from tests/support/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import MailSettings, Settings
from tests.conftest import TEST_SECRET_KEY, TestDatabase


@pytest.fixture
def settings(db: TestDatabase, tmp_path: Path) -> Settings:
    """The usual test settings, with the background worker off: tests drive its passes."""
    return Settings(
        database_url=db.url,
        secret_key=TEST_SECRET_KEY,
        data_dir=str(tmp_path / "data"),
        log_level="WARNING",
        password_time_cost=1,
        password_memory_kib=1024,
        mail=MailSettings(worker_enabled=False),
    )

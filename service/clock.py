"""The one clock the service reads: aware UTC, so every stored instant compares."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)

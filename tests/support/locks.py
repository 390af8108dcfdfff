"""Waiting, in a test, until other sessions of a PostgreSQL database wait on a lock."""

from __future__ import annotations

import time

import asyncpg

# How long a race may take to line up; far more than it needs.
LOCK_WAIT_DEADLINE_SECONDS = 30.0


async def until_waiting_on_locks(observer: asyncpg.Connection, count: int) -> None:
    """Return once `count` other sessions of this database wait on a lock."""
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        waiting = await observer.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
    raise AssertionError(f"{count} sessions never waited on a lock")

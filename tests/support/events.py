"""Events in tests that drive a `timebank serve` subprocess, whose clock cannot be moved:
"the meeting has happened" is said by moving the meeting itself into the past."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from piccolo.querystring import QueryString

from service import database


async def meeting_held_yesterday(database_url: str, occurrence_id: uuid.UUID) -> None:
    """Move one meeting to yesterday afternoon, as if the days before it had passed."""
    engine = database.engine_from_url(database_url)  # no pool: usable from any loop
    starts_at = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    moved = await engine.run_querystring(
        QueryString(
            "UPDATE event_occurrence SET starts_at = {}, ends_at = {} WHERE id = {} RETURNING id",
            starts_at,
            starts_at + timedelta(hours=2),
            occurrence_id,
        ),
        in_pool=False,
    )
    assert len(moved) == 1

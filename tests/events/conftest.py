"""Events tests use the shared `town`; the events feature's clock is moved with
`events_clock_at` (every events module reads `clock.utc_now()`), never by sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from service.events import pages, register, rsvp, selectors, services
from tests.support.clocks import clock_reading
from tests.support.people import Person, Town

EVENT_CLOCK_READERS = (services, rsvp, register, selectors, pages)


def events_clock_at(monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    frozen = clock_reading(lambda: instant)
    for module in EVENT_CLOCK_READERS:
        if hasattr(module, "clock"):
            monkeypatch.setattr(module, "clock", frozen)


def soon(days: float = 2, hour: int = 14) -> datetime:
    """A start some days ahead, on the hour (UTC)."""
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def event_body(town: Town, host: Person, **change: Any) -> dict[str, Any]:
    starts = soon()
    body: dict[str, Any] = {
        "community": "riverside",
        "title": "Tuesday tea club",
        "description": "Tea, cake and a chat.",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "place": "Riverside hall",
        "capacity": 2,
        "host_ids": [str(host.id)],
        "host_minutes": 90,
        "repeat": "weekly",
        "occurrences": 4,
        "step_free": True,
    }
    body.update(change)
    return body


async def create_event(town: Town, who: Person, **change: Any) -> dict[str, Any]:
    response = await town.client.post(
        "/api/v1/events", headers=who.headers, json=event_body(town, town.alice, **change)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def go(town: Town, who: Person, event_id: str, **body: Any) -> httpx.Response:
    return await town.client.post(f"/api/v1/events/{event_id}/rsvp", headers=who.headers, json=body)


async def fund_pool(town: Town, who: Person, minutes: int) -> None:
    given = await town.client.post(
        "/api/v1/transfers", headers=who.headers, json={"to": "pool", "minutes": minutes}
    )
    assert given.status_code == 201, given.text

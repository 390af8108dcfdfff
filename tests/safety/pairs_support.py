"""Helpers of the friendship pair tests: a suggested pair, introduced, with regular visits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from service import clock
from service.members.tables import Community
from tests.support.listings import create
from tests.support.people import Person, Town

PAIRS = "/api/v1/coordinator/pairs"
LAST_VISIT_DAYS_AGO = 3  # the plan's weekday is three days ago: today is never a visit day
VISIT_MINUTES = 60


def today() -> date:
    return clock.local_today()


def last_visit_day() -> date:
    return today() - timedelta(days=LAST_VISIT_DAYS_AGO)


async def profile(town: Town, who: Person, **fields: Any) -> None:
    response = await town.client.patch("/api/v1/me", headers=who.headers, json=fields)
    assert response.status_code == 200, response.text


async def suggested(town: Town) -> None:
    """Alice (older) asked for company and Bob (younger) offered it, in Riverside."""
    await profile(town, town.alice, birth_year=1948, ward="Weir", skills="gardening")
    await profile(town, town.bob, birth_year=2001, ward="Weir", skills="gardening")
    await create(town, town.alice, kind="request", category="companionship", title="Tea")
    await create(town, town.bob, kind="offer", category="companionship", title="Visits")


async def introduce(town: Town, by: Person | None = None) -> httpx.Response:
    return await town.client.post(
        PAIRS,
        headers=(by or town.coordinator).headers,
        json={"older_id": str(town.alice.id), "younger_id": str(town.bob.id)},
    )


async def arrange(town: Town, pair_id: str, **fields: Any) -> httpx.Response:
    body = {
        "minutes": VISIT_MINUTES,
        "cadence": "weekly",
        "weekday": last_visit_day().weekday(),
        "starts_on": (today() - timedelta(days=60)).isoformat(),
        "in_home": False,
        **fields,
    }
    return await town.client.put(
        f"{PAIRS}/{pair_id}/arrangement", headers=town.coordinator.headers, json=body
    )


async def arranged_pair(town: Town, **fields: Any) -> str:
    await suggested(town)
    introduced = await introduce(town)
    assert introduced.status_code == 201, introduced.text
    pair_id: str = introduced.json()["id"]
    arranged = await arrange(town, pair_id, **fields)
    assert arranged.status_code == 200, arranged.text
    return pair_id


async def visit(
    town: Town, pair_id: str, visit_on: date, by: Person | None = None
) -> httpx.Response:
    return await town.client.post(
        f"{PAIRS}/{pair_id}/visits",
        headers=(by or town.coordinator).headers,
        json={"visit_on": visit_on.isoformat()},
    )


async def require_home_checks(slug: str = "riverside") -> None:
    await Community.update({Community.home_check_required: True}).where(Community.slug == slug)


async def record_check(town: Town, who: Person, *, checked_on: date) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/coordinator/members/{who.id}/checks",
        headers=town.coordinator.headers,
        json={"kind": "dbs", "checked_on": checked_on.isoformat()},
    )

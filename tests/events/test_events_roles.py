"""Who may call each events route, on both engines: anonymous, a pending member, a member
of riverside, riverside's coordinator, a coordinator of hillside acting on riverside's
event, a council viewer (a member of riverside too) and an admin (of another community:
they see every event but go only to their own). A refusal is a problem with the matching code,
and a refused write changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from service.events.tables import EventHostPermit, EventOccurrence, EventSeries
from tests.events.conftest import create_event, event_body, events_clock_at, fund_pool, soon
from tests.support.people import Person, Town, grant, sign_in

ROLES = ("anonymous", "pending", "member", "coordinator", "coordinator_other", "council", "admin")
CODE_BY_STATUS = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}

# fmt: off
EXPECTED: dict[str, tuple[int, ...]] = {
    # operation        anon  pend  memb  coord other counc admin
    "create":          (401, 403, 403, 201, 403, 403, 201),
    "list":            (401, 200, 200, 200, 200, 200, 200),
    "read":            (401, 404, 200, 200, 404, 200, 200),
    "rsvp":            (401, 404, 201, 201, 404, 201, 403),
    "cancel":          (401, 404, 403, 200, 404, 403, 200),
    "attendance":      (401, 404, 403, 200, 404, 403, 200),
    "may_host":        (401, 403, 403, 200, 404, 403, 200),
}
# fmt: on


async def _actor(town: Town, role: str) -> dict[str, str] | None:
    people: dict[str, Person] = {
        "pending": town.pending,
        "member": town.bob,
        "coordinator": town.coordinator,
        "council": town.council,
        "admin": town.admin,
    }
    if role == "anonymous":
        return None
    if role == "coordinator_other":
        await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
        return await sign_in(town.client, town.carol.email)
    return people[role].headers


Run = Callable[
    [Town, dict[str, str] | None, dict[str, Any]], Awaitable[tuple[httpx.Response, bool]]
]


async def _create(town: Town, who: dict[str, str] | None, _event: dict[str, Any]) -> Any:
    title = f"Club {uuid.uuid4().hex[:8]}"
    body = event_body(town, town.alice, title=title)
    response = await town.client.post("/api/v1/events", headers=who or {}, json=body)
    return response, await EventSeries.exists().where(EventSeries.title == title).run()


async def _list(town: Town, who: dict[str, str] | None, _event: dict[str, Any]) -> Any:
    return await town.client.get("/api/v1/events", headers=who or {}), False


async def _read(town: Town, who: dict[str, str] | None, event: dict[str, Any]) -> Any:
    return await town.client.get(f"/api/v1/events/{event['id']}", headers=who or {}), False


async def _rsvp(town: Town, who: dict[str, str] | None, event: dict[str, Any]) -> Any:
    response = await town.client.post(
        f"/api/v1/events/{event['id']}/rsvp", headers=who or {}, json={}
    )
    seen = await town.client.get(f"/api/v1/events/{event['id']}", headers=town.coordinator.headers)
    return response, seen.json()["attending_count"] == 1


async def _cancel(town: Town, who: dict[str, str] | None, event: dict[str, Any]) -> Any:
    response = await town.client.post(f"/api/v1/events/{event['id']}/cancel", headers=who or {})
    row = (
        await EventOccurrence.select(EventOccurrence.cancelled_at)
        .where(EventOccurrence.id == uuid.UUID(event["id"]))
        .first()
        .run()
    )
    return response, row is not None and row["cancelled_at"] is not None


async def _attendance(town: Town, who: dict[str, str] | None, event: dict[str, Any]) -> Any:
    response = await town.client.post(
        f"/api/v1/events/{event['id']}/attendance",
        headers=who or {},
        json={"attended_ids": [str(town.bob.id)]},
    )
    row = (
        await EventOccurrence.select(EventOccurrence.credited_at)
        .where(EventOccurrence.id == uuid.UUID(event["id"]))
        .first()
        .run()
    )
    return response, row is not None and row["credited_at"] is not None


async def _may_host(town: Town, who: dict[str, str] | None, _event: dict[str, Any]) -> Any:
    response = await town.client.put(
        f"/api/v1/coordinator/members/{town.bob.id}/may-host",
        headers=who or {},
        json={"may_host": True},
    )
    return response, await EventHostPermit.exists().where(
        EventHostPermit.member == town.bob.id
    ).run()


RUNS: dict[str, Run] = {
    "create": _create,
    "list": _list,
    "read": _read,
    "rsvp": _rsvp,
    "cancel": _cancel,
    "attendance": _attendance,
    "may_host": _may_host,
}
MATRIX = [
    pytest.param(role, operation, statuses[index], id=f"{role}:{operation}")
    for operation, statuses in EXPECTED.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("role", "operation", "expected"), MATRIX)
async def test_events_role_boundary(
    town: Town, monkeypatch: pytest.MonkeyPatch, role: str, operation: str, expected: int
) -> None:
    event = await create_event(town, town.coordinator)
    if operation == "attendance":
        await fund_pool(town, town.alice, 90)
        events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    actor = await _actor(town, role)
    response, changed = await RUNS[operation](town, actor, event)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["code"] == CODE_BY_STATUS[expected], response.text
    if operation not in {"list", "read"}:
        assert changed == (expected < 400)

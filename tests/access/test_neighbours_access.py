"""Issue 18's routes against every role, on both engines: the directory, profiles, thanks
and safeguarding checks. The target is always in riverside; "other coordinator" is
carol, coordinator of hillside; the council viewer is a member of riverside too, so
reads its directory as any member does; the admin may read every profile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.exchanges import completed
from tests.support.people import Town, grant, sign_in

ROLES = ("anonymous", "pending", "member", "coordinator", "other_coordinator", "council", "admin")

Call = Callable[[Town, dict[str, str]], Awaitable[httpx.Response]]


async def directory(town: Town, headers: dict[str, str]) -> httpx.Response:
    return await town.client.get("/api/v1/members", headers=headers)


async def profile(town: Town, headers: dict[str, str]) -> httpx.Response:
    return await town.client.get(f"/api/v1/members/{town.bob.id}/profile", headers=headers)


async def record_check(town: Town, headers: dict[str, str]) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/coordinator/members/{town.bob.id}/checks",
        headers=headers,
        json={"kind": "induction", "checked_on": "2026-01-05"},
    )


async def list_checks(town: Town, headers: dict[str, str]) -> httpx.Response:
    return await town.client.get(
        f"/api/v1/coordinator/members/{town.bob.id}/checks", headers=headers
    )


async def thank(town: Town, headers: dict[str, str]) -> httpx.Response:
    exchange = await completed(town, town.bob, [town.alice])
    return await town.client.post(
        f"/api/v1/exchanges/{exchange['id']}/thanks", headers=headers, json={"text": "Thank you"}
    )


# fmt: off
EXPECTED: dict[str, tuple[Call, tuple[int, ...]]] = {
    # operation       call           anon pend memb coord other counc admin
    "directory":    (directory,    (401, 403, 200, 200, 200, 200, 200)),
    "profile":      (profile,      (401, 403, 200, 200, 404, 200, 200)),
    "record_check": (record_check, (401, 403, 403, 201, 404, 403, 201)),
    "list_checks":  (list_checks,  (401, 403, 403, 200, 404, 403, 200)),
    # Only a party thanks: the member here is alice, who was helped by bob.
    "thank":        (thank,        (401, 404, 201, 404, 404, 404, 404)),
}
# fmt: on


async def headers_for(town: Town, role: str) -> dict[str, str]:
    if role == "other_coordinator":
        await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
        return await sign_in(town.client, town.carol.email)
    people: dict[str, Any] = {
        "anonymous": None,
        "pending": town.pending,
        "member": town.alice,
        "coordinator": town.coordinator,
        "council": town.council,
        "admin": town.admin,
    }
    who = people[role]
    return {} if who is None else dict(who.headers)


@pytest.mark.parametrize("operation", list(EXPECTED))
async def test_who_may_use_the_neighbours_routes(town: Town, operation: str) -> None:
    call, statuses = EXPECTED[operation]
    wrong = []
    for role, expected in zip(ROLES, statuses, strict=True):
        response = await call(town, await headers_for(town, role))
        if response.status_code != expected:
            wrong.append(f"{role}: expected {expected}, got {response.status_code} {response.text}")
    assert not wrong, "\n".join(wrong)

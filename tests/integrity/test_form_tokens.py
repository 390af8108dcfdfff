"""Forms that move hours carry a one-time token (issue 13 item 3), on both engines:
two identical submits of one rendered form move the hours once and both show the
first result; a form without a token moves nothing."""

from __future__ import annotations

import re

import httpx

from service import clock
from tests.support.people import PASSWORD, Person, Town

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
FORM_TOKEN_INPUT = re.compile(r'name="form_token" value="([^"]+)"')


async def _balance(town: Town, who: Person) -> int:
    response = await town.client.get("/api/v1/accounts/me", headers=who.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance_minutes"])


async def _tokens(town: Town, page: str) -> dict[str, str]:
    shown = await town.client.get(page)
    assert shown.status_code == 200, shown.text
    csrf, once = CSRF_INPUT.search(shown.text), FORM_TOKEN_INPUT.search(shown.text)
    assert csrf, page
    tokens = {"_csrf_token": csrf.group(1)}
    if once:
        tokens["form_token"] = once.group(1)
    return tokens


async def _sign_in(town: Town, who: Person) -> None:
    fields = {**await _tokens(town, "/sign-in"), "email": who.email, "password": PASSWORD}
    response = await town.client.post("/sign-in", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text


async def _twice(town: Town, page: str, fields: dict[str, str]) -> list[httpx.Response]:
    """One rendered form, submitted twice (a double click, or a reload after POST)."""
    data = {**await _tokens(town, page), **fields}
    assert "form_token" in data, f"{page} has no one-time token"
    return [
        await town.client.post(page, data=data, follow_redirects=False),
        await town.client.post(page, data=data, follow_redirects=False),
    ]


async def test_a_double_submitted_gift_moves_the_hours_once(town: Town) -> None:
    await _sign_in(town, town.alice)
    fields = {
        "to": "member",
        "member": str(town.bob.id),
        "hours": "0",
        "minutes": "40",
        "confirm": "yes",
    }
    first, second = await _twice(town, "/give", fields)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert first.headers["location"] == second.headers["location"] == "/give?done=given"
    assert await _balance(town, town.bob) == 120 + 40
    assert await _balance(town, town.alice) == 120 - 40


async def test_a_double_submitted_grant_moves_the_hours_and_audits_once(town: Town) -> None:
    donated = await town.client.post(
        "/api/v1/transfers", headers=town.alice.headers, json={"to": "pool", "minutes": 60}
    )
    assert donated.status_code == 201, donated.text
    await _sign_in(town, town.coordinator)
    fields = {"member": str(town.bob.id), "hours": "0", "minutes": "30", "reason": "Lifts"}
    first, second = await _twice(town, "/coordinator/grant", fields)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert await _balance(town, town.bob) == 120 + 30
    audit = await town.client.get(
        "/api/v1/admin/audit", headers=town.admin.headers, params={"action": "pool.grant"}
    )
    assert audit.status_code == 200, audit.text
    assert len(audit.json()["items"]) == 1


async def test_a_double_submitted_recording_records_one_exchange(town: Town) -> None:
    await _sign_in(town, town.coordinator)
    fields = {
        "provider": str(town.alice.id),
        "recipient": str(town.bob.id),
        "hours": "1",
        "minutes": "0",
        "service_date": clock.local_today().isoformat(),
        "description": "Dog walking while Bob was unwell",
    }
    first, second = await _twice(town, "/coordinator/record", fields)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert first.headers["location"] == second.headers["location"]
    assert await _balance(town, town.alice) == 120 + 60
    assert await _balance(town, town.bob) == 120 - 60


async def test_a_gift_form_without_its_token_moves_nothing(town: Town) -> None:
    await _sign_in(town, town.alice)
    tokens = await _tokens(town, "/give")
    fields = {
        "to": "member",
        "member": str(town.bob.id),
        "hours": "0",
        "minutes": "15",
        "confirm": "yes",
    }
    response = await town.client.post(
        "/give", data={"_csrf_token": tokens["_csrf_token"], **fields}, follow_redirects=False
    )
    assert response.status_code == 422, response.text
    assert "could not be read as one we sent" in response.text
    assert await _balance(town, town.bob) == 120


async def test_each_render_of_a_form_carries_a_new_token(town: Town) -> None:
    await _sign_in(town, town.alice)
    first, second = await _tokens(town, "/give"), await _tokens(town, "/give")
    assert first["form_token"] != second["form_token"]

"""Exchanges and disputes through the JSON API: propose, accept, complete, dispute, resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from piccolo.querystring import QueryString

from service import database
from service.disputes import resolution as dispute_resolution
from service.disputes import selectors as dispute_selectors
from service.disputes import services as dispute_services
from service.exchanges import expiry as exchange_expiry
from service.exchanges import recording as exchange_recording
from service.exchanges import services as exchange_services
from tests.conftest import TestDatabase
from tests.support.clocks import clock_reading
from tests.support.people import TOWN_WELCOME_MINUTES, Person, Town

WELCOME = TOWN_WELCOME_MINUTES  # minutes every town member starts with
FLOOR = -600  # the communities' default member floor


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def propose(
    town: Town,
    proposer: Person,
    provider: Person,
    recipients: list[Person],
    minutes: int = 60,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider_id": str(provider.id),
        "minutes": minutes,
        "service_date": days_ago(1),
        "description": "Help with the garden",
        **extra,
    }
    if len(recipients) == 1:
        body["recipient_id"] = str(recipients[0].id)
    else:
        body["recipient_ids"] = [str(person.id) for person in recipients]
    response = await town.client.post("/api/v1/exchanges", headers=proposer.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(town: Town, who: Person, exchange: dict[str, Any], action: str) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/exchanges/{exchange['id']}/{action}", headers=who.headers
    )


async def ok(town: Town, who: Person, exchange: dict[str, Any], action: str) -> dict[str, Any]:
    response = await act(town, who, exchange, action)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def account(town: Town, who: Person) -> dict[str, int]:
    response = await town.client.get("/api/v1/accounts/me", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


async def notices(town: Town, who: Person) -> dict[str, Any]:
    response = await town.client.get("/api/v1/me/notices", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def completed(
    town: Town, provider: Person, recipients: list[Person], minutes: int = 60
) -> dict[str, Any]:
    """An exchange the recipients asked for, the provider accepted, a recipient confirmed."""
    exchange = await propose(town, recipients[0], provider, recipients, minutes=minutes)
    for person in [provider, *recipients[1:]]:
        await ok(town, person, exchange, "accept")
    return await ok(town, recipients[0], exchange, "complete")


async def open_dispute(
    town: Town, who: Person, exchange: dict[str, Any], reason: str = "It did not happen"
) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/exchanges/{exchange['id']}/dispute", headers=who.headers, json={"reason": reason}
    )


async def disputed(town: Town, who: Person, exchange: dict[str, Any]) -> dict[str, Any]:
    response = await open_dispute(town, who, exchange)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def resolve(town: Town, dispute: dict[str, Any], **body: Any) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/admin/disputes/{dispute['id']}/resolve",
        headers=town.admin.headers,
        json={"note": "Both sides heard.", **body},
    )


async def audit_rows(db: TestDatabase, target_id: str) -> list[dict[str, Any]]:
    engine = database.engine_from_url(db.url)
    rows: list[dict[str, Any]] = await engine.run_querystring(
        QueryString(
            "SELECT actor_id, action, before_json, after_json FROM member_audit "
            "WHERE target_id = {} ORDER BY at",
            target_id,
        ),
        in_pool=False,
    )
    return rows


# Every exchanges module that reads the clock (each reads `clock.utc_now()`).
EXCHANGE_CLOCK_READERS = (exchange_services, exchange_expiry, exchange_recording)


def exchange_clock_at(monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    """The exchanges feature's clock reads `instant` (sign-in and the rest keep real time)."""
    frozen = clock_reading(lambda: instant)
    for module in EXCHANGE_CLOCK_READERS:
        monkeypatch.setattr(module, "clock", frozen)


# Every disputes module that reads the clock (each reads `clock.utc_now()`).
DISPUTE_CLOCK_READERS = (dispute_services, dispute_selectors, dispute_resolution)


def shifted_clock(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """The disputes feature's clock runs `days` ahead of the real one (sign-in keeps real time)."""
    shifted = clock_reading(lambda: datetime.now(UTC) + timedelta(days=days))
    for module in DISPUTE_CLOCK_READERS:
        monkeypatch.setattr(module, "clock", shifted)


def assert_state_refused(response: httpx.Response, status: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "exchange_state"
    assert response.json()["exchange_status"] == status
    assert response.json()["status"] == 409  # RFC 9457: always the HTTP status


def parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant)

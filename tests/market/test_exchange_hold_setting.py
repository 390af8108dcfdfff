"""EXCHANGE_HOLD_DAYS reaches the holds, through the API and the pages, on both engines.

The app here is built from the environment with EXCHANGE_HOLD_DAYS=3, so a
hold expires 3 days (not the default 14) after acceptance or after the
service date, whichever is later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from service import database
from service.settings import Settings
from tests.conftest import FAST_PASSWORD_HASHING, TEST_SECRET_KEY, TestDatabase
from tests.support.pages import sign_in, submit
from tests.support.people import Person, Town

HOLD_DAYS = 3


@pytest.fixture
def settings(db: TestDatabase, tmp_path: Path) -> Settings:
    """Overrides tests/conftest.py: the settings come from an environment, as in production."""
    return Settings.from_env(
        {
            "DATABASE_URL": db.url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "TIMEBANK_DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "WARNING",
            **FAST_PASSWORD_HASHING,
            "EXCHANGE_HOLD_DAYS": str(HOLD_DAYS),
        }
    )


async def propose(town: Town, service_date: datetime) -> str:
    body = {
        "provider_id": str(town.bob.id),
        "recipient_id": str(town.alice.id),
        "minutes": 45,
        "service_date": service_date.isoformat(),
        "description": "Help with the shopping",
    }
    response = await town.client.post("/api/v1/exchanges", headers=town.alice.headers, json=body)
    assert response.status_code == 201, response.text
    exchange_id: str = response.json()["id"]
    return exchange_id


async def accept_by_api(town: Town, exchange_id: str, who: Person) -> dict[str, Any]:
    response = await town.client.post(
        f"/api/v1/exchanges/{exchange_id}/accept", headers=who.headers
    )
    assert response.status_code == 200, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def hold_expiry_in_ledger(db: TestDatabase, accepted: dict[str, Any]) -> datetime:
    reader = Ledger(database.engine_from_url(db.url), group_commit=False)
    pending_id = uuid.UUID(accepted["recipients"][0]["pending_transfer_id"])
    hold = await reader.get_transfer(transfer_id=pending_id)
    assert hold.expires_at is not None
    return hold.expires_at


async def test_a_past_service_date_holds_for_the_set_days_from_acceptance(
    town: Town, db: TestDatabase
) -> None:
    exchange_id = await propose(town, datetime.now(UTC) - timedelta(days=2))
    before = datetime.now(UTC)
    accepted = await accept_by_api(town, exchange_id, town.bob)
    after = datetime.now(UTC)
    expires_at = datetime.fromisoformat(accepted["hold_expires_at"])
    assert before + timedelta(days=HOLD_DAYS) <= expires_at <= after + timedelta(days=HOLD_DAYS)
    assert await hold_expiry_in_ledger(db, accepted) == expires_at


async def test_a_future_service_date_holds_for_the_set_days_after_it(
    town: Town, db: TestDatabase
) -> None:
    service_date = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    exchange_id = await propose(town, service_date)
    accepted = await accept_by_api(town, exchange_id, town.bob)
    expected = service_date + timedelta(days=HOLD_DAYS)
    assert datetime.fromisoformat(accepted["hold_expires_at"]) == expected
    assert await hold_expiry_in_ledger(db, accepted) == expected


async def test_accepting_on_the_page_uses_the_setting_too(town: Town, db: TestDatabase) -> None:
    service_date = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    exchange_id = await propose(town, service_date)
    await sign_in(town, town.bob)
    detail_path = f"/exchanges/{exchange_id}"
    response = await submit(town, detail_path, f"{detail_path}/accept", {})
    assert response.status_code == 303, response.text
    shown = await town.client.get(f"/api/v1/exchanges/{exchange_id}", headers=town.bob.headers)
    assert shown.status_code == 200, shown.text
    accepted = shown.json()
    assert accepted["status"] == "accepted"
    expected = service_date + timedelta(days=HOLD_DAYS)
    assert datetime.fromisoformat(accepted["hold_expires_at"]) == expected
    assert await hold_expiry_in_ledger(db, accepted) == expected

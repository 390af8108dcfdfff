"""Help cannot be confirmed before its service date, on both engines: the complete is
refused with 409 `service_date_in_future` and nothing moves; once the date has come
the same complete posts the hours, dated the service date. A coordinator recording
help after the fact is unaffected.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service import clock
from tests.ledger_guard import ledger_stays_clean, reader
from tests.support.exchanges import WELCOME, account, act, ok, parse, propose
from tests.support.people import Town

__all__ = ["ledger_stays_clean", "reader"]  # fixtures: verify after every test


async def test_completing_before_the_service_date_is_refused(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_date = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    proposed = await propose(
        town, town.alice, town.bob, [town.alice], minutes=45, service_date=service_date.isoformat()
    )
    await ok(town, town.bob, proposed, "accept")

    early = await act(town, town.alice, proposed, "complete")
    assert early.status_code == 409, early.text
    problem = early.json()
    assert (problem["code"], problem["status"]) == ("service_date_in_future", 409)
    assert parse(problem["service_date"]) == service_date
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 45)
    seen = await town.client.get(f"/api/v1/exchanges/{proposed['id']}", headers=town.bob.headers)
    assert seen.json()["status"] == "accepted"

    # The day comes (the hold lasts past the service date): the same confirmation posts.
    monkeypatch.setattr(clock, "utc_now", lambda: service_date + timedelta(hours=2))
    completed = await ok(town, town.alice, proposed, "complete")
    assert completed["status"] == "completed"
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME - 45, 0)
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 45

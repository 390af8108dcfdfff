"""GET /api/v1/me/notices lists disputes too (issue 5), on both engines.

A dispute waits for the party who did not open it until they add their account;
its outcome is shown to both parties for DISPUTE_OUTCOME_NOTICE_DAYS. `count`
keeps meaning the exchanges waiting; `disputes_count` is the disputes waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from service.limits import DISPUTE_OUTCOME_NOTICE_DAYS
from tests.support.exchanges import completed, disputed, propose, resolve, shifted_clock
from tests.support.people import Person, Town


async def notices(town: Town, who: Person) -> dict[str, Any]:
    response = await town.client.get("/api/v1/me/notices", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_dispute_waits_for_the_other_party_then_its_outcome_shows_to_both(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol = town.alice, town.bob, town.carol
    exchange = await completed(town, bob, [alice])
    before = await notices(town, bob)
    assert (before["disputes_count"], before["disputes"]) == (0, [])

    dispute = await disputed(town, alice, exchange)
    await propose(town, alice, bob, [alice])  # an exchange for bob to accept, as well

    waiting = await notices(town, bob)
    assert waiting["count"] == 1  # still the exchanges alone
    assert [item["kind"] for item in waiting["items"]] == ["exchange_to_accept"]
    assert waiting["disputes_count"] == 1
    (item,) = waiting["disputes"]
    assert item["kind"] == "dispute_awaiting_account"
    assert (item["dispute_id"], item["exchange_id"]) == (dispute["id"], exchange["id"])
    assert (item["description"], item["outcome"]) == (exchange["description"], None)
    assert instant(item["since"]) == instant(dispute["opened_at"])
    # Alice opened it: it waits for an admin, not for her. Outsiders learn nothing.
    for who in (alice, carol, town.coordinator):
        seen = await notices(town, who)
        assert (seen["disputes_count"], seen["disputes"]) == (0, []), who.email

    answered = await town.client.post(
        f"/api/v1/disputes/{dispute['id']}/statements",
        headers=bob.headers,
        json={"body": "I did the whole job."},
    )
    assert answered.status_code == 201, answered.text
    after_answer = await notices(town, bob)
    assert (after_answer["disputes_count"], after_answer["disputes"]) == (0, [])

    resolved = await resolve(town, dispute, outcome="upheld")
    assert resolved.status_code == 200, resolved.text
    for who in (alice, bob):
        seen = await notices(town, who)
        assert seen["disputes_count"] == 0  # an outcome is news, not a task
        (outcome,) = seen["disputes"]
        assert (outcome["kind"], outcome["dispute_id"], outcome["outcome"]) == (
            "dispute_resolved",
            dispute["id"],
            "upheld",
        )
        assert instant(outcome["since"]) == instant(resolved.json()["resolved_at"])
    assert (await notices(town, carol))["disputes"] == []

    # Outcomes drop off after the notice period.
    shifted_clock(monkeypatch, DISPUTE_OUTCOME_NOTICE_DAYS + 1)
    for who in (alice, bob):
        assert (await notices(town, who))["disputes"] == []


async def test_waiting_disputes_come_first_oldest_first_then_outcomes(town: Town) -> None:
    alice, bob = town.alice, town.bob
    first, second, third = [await completed(town, bob, [alice]) for _ in range(3)]
    decided = await disputed(town, bob, first)
    assert (await resolve(town, decided, outcome="reversed")).status_code == 200
    older = await disputed(town, bob, second)
    newer = await disputed(town, bob, third)

    seen = await notices(town, alice)

    assert seen["disputes_count"] == 2
    assert [(item["kind"], item["dispute_id"]) for item in seen["disputes"]] == [
        ("dispute_awaiting_account", older["id"]),
        ("dispute_awaiting_account", newer["id"]),
        ("dispute_resolved", decided["id"]),
    ]
    assert seen["disputes"][2]["outcome"] == "reversed"


async def test_notices_need_a_member(town: Town) -> None:
    response = await town.client.get("/api/v1/me/notices")
    assert response.status_code == 401, response.text

"""Closing an account calls off the member's open exchanges, on both engines: in the
closure's transaction each proposed or accepted exchange is cancelled with its holds
voided and a history event, so the other side's complete is a clear state refusal
(never `pending_already_resolved`) and a closed recipient does not hold a group
exchange until its expiry.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

from typing import Any

from tests.ledger_guard import ledger_stays_clean, reader
from tests.support.exchanges import (
    WELCOME,
    account,
    act,
    assert_state_refused,
    ok,
    propose,
)
from tests.support.people import Person, Town

__all__ = ["ledger_stays_clean", "reader"]  # fixtures: verify after every test

CLOSURE_NOTE = "member closed their account"


async def close_account(town: Town, who: Person) -> None:
    closed = await town.client.delete("/api/v1/me", headers=who.headers)
    assert closed.status_code == 204, closed.text


async def seen_by(town: Town, who: Person, exchange: dict[str, Any]) -> dict[str, Any]:
    response = await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def last_event(view: dict[str, Any]) -> tuple[str, str]:
    event = view["history"][-1]
    return event["action"], event["note"]


async def test_the_provider_closing_cancels_an_accepted_exchange(town: Town) -> None:
    accepted = await propose(town, town.alice, town.bob, [town.alice], minutes=40)
    await ok(town, town.bob, accepted, "accept")
    proposed = await propose(town, town.alice, town.bob, [town.alice], minutes=20)
    assert (await account(town, town.alice))["pending_minutes"] == 40

    await close_account(town, town.bob)

    for exchange in (accepted, proposed):
        view = await seen_by(town, town.alice, exchange)
        assert view["status"] == "cancelled"
        assert last_event(view) == ("cancel", CLOSURE_NOTE)
    # Alice's confirmation is a state refusal, and her held hours are hers again.
    assert_state_refused(await act(town, town.alice, accepted, "complete"), "cancelled")
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 0)


async def test_a_closed_recipient_does_not_hold_a_group_exchange(town: Town) -> None:
    group = await propose(town, town.alice, town.coordinator, [town.alice, town.bob], minutes=30)
    await ok(town, town.coordinator, group, "accept")
    await ok(town, town.bob, group, "accept")

    await close_account(town, town.bob)

    view = await seen_by(town, town.coordinator, group)
    assert view["status"] == "cancelled"
    assert last_event(view) == ("cancel", CLOSURE_NOTE)
    assert_state_refused(await act(town, town.alice, group, "complete"), "cancelled")
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 0)
    # Nothing waits for the others any more.
    waiting = await town.client.get("/api/v1/me/notices", headers=town.alice.headers)
    assert waiting.json()["count"] == 0

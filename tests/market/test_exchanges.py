"""Exchanges through the HTTP API, on both engines: proposals, holds, completion,
cancellation, expiry, coordinator recording, notices and the rules around them.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar
from piccolo.querystring import QueryString

from ledger import Ledger, TransferKind
from ledger.errors import TransferNotFound
from service import database
from service.exchanges import expiry
from service.exchanges import services as exchanges
from service.exchanges.expiry import expire_exchange_holds
from service.exchanges.ids import expire_transfer_id, post_transfer_id, void_transfer_id
from service.members.accounts import member_account_id
from tests.conftest import TestDatabase
from tests.ledger_guard import ledger_stays_clean, reader
from tests.support.exchanges import (
    FLOOR,
    WELCOME,
    account,
    act,
    assert_state_refused,
    days_ago,
    exchange_clock_at,
    notices,
    ok,
    parse,
    propose,
)
from tests.support.people import Person, Town

__all__ = ["ledger_stays_clean", "reader"]  # fixtures: verify after every test


Rendezvous = Callable[..., None]


@pytest.fixture
def rendezvous(db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    """Make the first `parties` calls of a service step wait for each other (PostgreSQL).

    Concurrent requests otherwise tend to run one after the other; meeting
    inside their write transactions, just before the conditional UPDATE, makes
    them truly overlap. SQLite has one writer at a time (the second writer waits
    for the first to commit), so there the requests are left to interleave.
    """

    def install(step: str, parties: int, module: ModuleType = exchanges) -> None:
        if db.kind != "postgres":
            return
        original = getattr(module, step)
        barrier = asyncio.Barrier(parties)
        arrived = 0

        async def meeting(*args: Any, **kwargs: Any) -> Any:
            nonlocal arrived
            arrived += 1
            if arrived <= parties:
                async with asyncio.timeout(30):  # a guard against a hang, not a wait
                    await barrier.wait()
            return await original(*args, **kwargs)

        monkeypatch.setattr(module, step, meeting)

    return install


# Helpers ----------------------------------------------------------------------


async def concurrently(town: Town, *calls: tuple[str, Person]) -> list[httpx.Response]:
    """POST every (path, caller) at once, as concurrent requests inside the app's loop."""
    app: Litestar = town.client.app

    async def all_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI, typed strictly
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(
                await asyncio.gather(*(http.post(path, headers=who.headers) for path, who in calls))
            )

    return await all_at_once()


async def sweep(town: Town, now: datetime) -> int:
    app: Litestar = town.client.app
    return await expire_exchange_holds(engine=app.state.engine, ledger=app.state.ledger, now=now)


# The single exchange ----------------------------------------------------------


async def test_single_exchange_lifecycle_moves_hours_once(town: Town, reader: Ledger) -> None:
    # Alice asks Bob for 90 minutes of help; Bob accepts; Alice confirms.
    proposed = await propose(town, town.alice, town.bob, [town.alice], minutes=90)
    assert proposed["status"] == "proposed"
    assert proposed["awaiting_ids"] == [str(town.bob.id)]
    assert [event["action"] for event in proposed["history"]] == ["propose"]
    bob_notices = await notices(town, town.bob)
    assert bob_notices["count"] == 1
    assert bob_notices["items"][0]["kind"] == "exchange_to_accept"
    assert bob_notices["items"][0]["exchange_id"] == proposed["id"]
    assert (await notices(town, town.alice))["count"] == 0

    accepted = await ok(town, town.bob, proposed, "accept")
    assert accepted["status"] == "accepted"
    assert accepted["awaiting_ids"] == []
    hold_expires_at = parse(accepted["hold_expires_at"])
    assert hold_expires_at > datetime.now(UTC) + timedelta(days=13)
    pending_id = uuid.UUID(accepted["recipients"][0]["pending_transfer_id"])
    hold = await reader.get_transfer(transfer_id=pending_id)
    assert (hold.kind, hold.amount_minor, hold.code) == (TransferKind.PENDING, 90, "exchange")
    assert hold.debit_account_id == member_account_id(town.alice.id)
    assert hold.credit_account_id == member_account_id(town.bob.id)
    assert hold.expires_at == hold_expires_at
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 90)
    assert alice["available_minutes"] == WELCOME - 90
    assert (await notices(town, town.bob))["count"] == 0
    alice_notices = await notices(town, town.alice)
    assert [item["kind"] for item in alice_notices["items"]] == ["exchange_to_confirm"]

    completed = await ok(town, town.alice, proposed, "complete")
    assert completed["status"] == "completed"
    assert completed["hold_expires_at"] is None
    transfer_id = uuid.UUID(completed["recipients"][0]["transfer_id"])
    assert transfer_id == post_transfer_id(uuid.UUID(proposed["id"]), town.alice.id)
    posted = await reader.get_transfer(transfer_id=transfer_id)
    assert (posted.kind, posted.pending_id, posted.amount_minor) == (
        TransferKind.POST,
        pending_id,
        90,
    )
    assert posted.effective_at == parse(proposed["service_date"])
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME - 90, 0)
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 90
    assert [(e["action"], e["actor_id"]) for e in completed["history"]] == [
        ("propose", str(town.alice.id)),
        ("accept", str(town.bob.id)),
        ("complete", str(town.alice.id)),
    ]
    assert (await notices(town, town.alice))["count"] == 0

    # Nothing moves twice: a second confirmation is refused.
    assert_state_refused(await act(town, town.alice, proposed, "complete"), "completed")
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 90


async def test_provider_proposes_recipient_accepts_coordinator_confirms(
    town: Town, reader: Ledger
) -> None:
    proposed = await propose(town, town.bob, town.bob, [town.alice], minutes=30)
    assert proposed["awaiting_ids"] == [str(town.alice.id)]
    # The proposer agreed by proposing: accepting again is a state error.
    refused = await act(town, town.bob, proposed, "accept")
    assert_state_refused(refused, "proposed")
    await ok(town, town.alice, proposed, "accept")
    # The provider cannot confirm their own help.
    assert (await act(town, town.bob, proposed, "complete")).status_code == 403
    completed = await ok(town, town.coordinator, proposed, "complete")
    assert completed["status"] == "completed"
    posted = await reader.get_transfer(
        transfer_id=post_transfer_id(uuid.UUID(proposed["id"]), town.alice.id)
    )
    assert posted.actor == f"coordinator:{town.coordinator.id}"
    assert completed["history"][-1]["actor_id"] == str(town.coordinator.id)
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 30


# Group exchanges ----------------------------------------------------------------


async def test_group_exchange_holds_and_posts_as_one_chain(town: Town, reader: Ledger) -> None:
    recipients = [town.bob, town.carol, town.council]
    proposed = await propose(town, town.alice, town.alice, recipients, minutes=60)
    assert len(proposed["recipients"]) == 3
    assert set(proposed["awaiting_ids"]) == {str(person.id) for person in recipients}

    after_bob = await ok(town, town.bob, proposed, "accept")
    assert after_bob["status"] == "proposed"
    assert set(after_bob["awaiting_ids"]) == {str(town.carol.id), str(town.council.id)}
    assert (await account(town, town.bob))["pending_minutes"] == 0  # nothing held yet
    assert_state_refused(await act(town, town.bob, proposed, "accept"), "proposed")
    assert (await notices(town, town.bob))["count"] == 0
    assert (await notices(town, town.carol))["items"][0]["kind"] == "exchange_to_accept"
    await ok(town, town.carol, proposed, "accept")

    accepted = await ok(town, town.council, proposed, "accept")
    assert accepted["status"] == "accepted"
    holds = [
        await reader.get_transfer(transfer_id=uuid.UUID(r["pending_transfer_id"]))
        for r in accepted["recipients"]
    ]
    assert len({hold.chain_id for hold in holds}) == 1
    assert holds[0].chain_id is not None
    for person in recipients:
        assert (await account(town, person))["pending_minutes"] == 60

    completed = await ok(town, town.carol, proposed, "complete")
    assert completed["status"] == "completed"
    posts = [
        await reader.get_transfer(transfer_id=uuid.UUID(r["transfer_id"]))
        for r in completed["recipients"]
    ]
    assert len({post.chain_id for post in posts}) == 1
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME + 3 * 60
    for person in recipients:
        balance = await account(town, person)
        assert (balance["balance_minutes"], balance["pending_minutes"]) == (WELCOME - 60, 0)


async def test_group_acceptance_is_all_or_nothing(town: Town, reader: Ledger) -> None:
    recipients = [town.bob, town.carol, town.council]
    proposed = await propose(town, town.alice, town.alice, recipients, minutes=60)
    # Then Carol spends almost all her credit: 20 minutes short of her floor.
    drained = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=town.admin.headers,
        json={
            "provider_id": str(town.bob.id),
            "recipient_id": str(town.carol.id),
            "minutes": WELCOME - FLOOR - 20,
            "service_date": days_ago(2),
            "description": "Moving house",
        },
    )
    assert drained.status_code == 201, drained.text
    await ok(town, town.bob, proposed, "accept")
    await ok(town, town.carol, proposed, "accept")

    refused = await act(town, town.council, proposed, "accept")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["member_id"] == str(town.carol.id)
    assert "Carol" in problem["detail"]
    assert "available_minutes" not in problem  # another member's balance stays private
    for person in recipients:
        assert (await account(town, person))["pending_minutes"] == 0
    again = await town.client.get(f"/api/v1/exchanges/{proposed['id']}", headers=town.alice.headers)
    assert again.json()["status"] == "proposed"
    assert again.json()["awaiting_ids"] == [str(town.council.id)]
    hold_id = uuid.uuid5(uuid.UUID(proposed["id"]), f"hold:{town.carol.id}")
    with pytest.raises(TransferNotFound):
        await reader.get_transfer(transfer_id=hold_id)

    # Once Carol has the hours, the same acceptance goes through: the failed
    # attempt left nothing behind against the exchange's hold ids.
    topped_up = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=town.admin.headers,
        json={
            "provider_id": str(town.carol.id),
            "recipient_id": str(town.bob.id),
            "minutes": 60,
            "service_date": days_ago(1),
            "description": "Ironing",
        },
    )
    assert topped_up.status_code == 201, topped_up.text
    accepted = await ok(town, town.council, proposed, "accept")
    assert accepted["status"] == "accepted"
    assert (await reader.get_transfer(transfer_id=hold_id)).amount_minor == 60


async def test_recipient_short_of_credit_is_told_their_own_balance(town: Town) -> None:
    proposed = await propose(town, town.bob, town.bob, [town.alice], minutes=60)
    big = await propose(town, town.alice, town.council, [town.alice], minutes=700)
    await ok(town, town.council, big, "accept")
    refused = await act(town, town.alice, proposed, "accept")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["member_id"] == str(town.alice.id)
    assert problem["available_minutes"] == WELCOME - 700
    assert problem["detail"].startswith("Not enough credit: you have")


# Concurrency ----------------------------------------------------------------------


async def test_two_accepts_that_together_cross_the_floor_have_one_winner(
    town: Town, rendezvous: Rendezvous
) -> None:
    # Alice can spend WELCOME - FLOOR = 720 minutes; each request is 400.
    first = await propose(town, town.alice, town.bob, [town.alice], minutes=400)
    second = await propose(town, town.alice, town.council, [town.alice], minutes=400)
    rendezvous("claim_status", 2)
    responses = await concurrently(
        town,
        (f"/api/v1/exchanges/{first['id']}/accept", town.bob),
        (f"/api/v1/exchanges/{second['id']}/accept", town.council),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409], [response.text for response in responses]
    loser = next(response for response in responses if response.status_code == 409)
    assert loser.json()["code"] == "insufficient_credit"
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 400)


async def test_concurrent_accepts_of_one_group_exchange_place_the_holds_once(
    town: Town, rendezvous: Rendezvous
) -> None:
    recipients = [town.bob, town.carol, town.council]
    proposed = await propose(town, town.alice, town.alice, recipients, minutes=45)
    rendezvous("claim_status", 3)
    path = f"/api/v1/exchanges/{proposed['id']}/accept"
    responses = await concurrently(town, *((path, person) for person in recipients))
    assert [response.status_code for response in responses] == [200, 200, 200]
    final = await town.client.get(f"/api/v1/exchanges/{proposed['id']}", headers=town.alice.headers)
    assert final.json()["status"] == "accepted"
    assert sorted(e["action"] for e in final.json()["history"]) == [
        "accept",
        "agree",
        "agree",
        "propose",
    ]
    for person in recipients:
        assert (await account(town, person))["pending_minutes"] == 45


async def test_complete_and_cancel_at_once_have_one_winner(
    town: Town, rendezvous: Rendezvous
) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice], minutes=50)
    await ok(town, town.bob, proposed, "accept")
    rendezvous("claim_status", 2)
    responses = await concurrently(
        town,
        (f"/api/v1/exchanges/{proposed['id']}/complete", town.alice),
        (f"/api/v1/exchanges/{proposed['id']}/cancel", town.bob),
    )
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [200, 409], [response.text for response in responses]
    winner = responses[statuses.index(200)].json()
    loser = responses[statuses.index(409)].json()
    assert (loser["code"], loser["exchange_status"]) == ("exchange_state", winner["status"])
    alice = await account(town, town.alice)
    assert alice["pending_minutes"] == 0
    if winner["status"] == "completed":
        assert alice["balance_minutes"] == WELCOME - 50
    else:
        assert winner["status"] == "cancelled"
        assert alice["balance_minutes"] == WELCOME


@pytest.mark.postgres_only
async def test_many_concurrent_accepts_never_cross_the_floor(
    town: Town, rendezvous: Rendezvous
) -> None:
    # Five 200-minute requests against 720 spendable minutes: exactly three fit.
    providers = [town.bob, town.council, town.coordinator, town.carol, town.admin]
    proposals = [
        await propose(town, town.alice, provider, [town.alice], minutes=200)
        for provider in providers
    ]
    rendezvous("claim_status", 5)
    responses = await concurrently(
        town,
        *(
            (f"/api/v1/exchanges/{exchange['id']}/accept", provider)
            for exchange, provider in zip(proposals, providers, strict=True)
        ),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 200, 409, 409], [r.text for r in responses]
    assert (await account(town, town.alice))["pending_minutes"] == 600


# Cancel and expiry ----------------------------------------------------------------


async def test_cancel_voids_the_holds(town: Town, reader: Ledger) -> None:
    recipients = [town.alice, town.council]
    proposed = await propose(town, town.bob, town.bob, recipients, minutes=100)
    await ok(town, town.alice, proposed, "accept")
    await ok(town, town.council, proposed, "accept")
    assert (await account(town, town.alice))["available_minutes"] == WELCOME - 100
    assert (await act(town, town.carol, proposed, "cancel")).status_code == 404

    cancelled = await ok(town, town.alice, proposed, "cancel")
    assert cancelled["status"] == "cancelled"
    assert cancelled["hold_expires_at"] is None
    for person in recipients:
        balance = await account(town, person)
        assert (balance["balance_minutes"], balance["available_minutes"]) == (WELCOME, WELCOME)
        void = await reader.get_transfer(
            transfer_id=void_transfer_id(uuid.UUID(proposed["id"]), person.id)
        )
        assert void.kind == TransferKind.VOID
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME
    for action in ("accept", "complete", "cancel"):
        assert_state_refused(await act(town, town.council, proposed, action), "cancelled")


async def test_cancel_before_acceptance_holds_nothing(town: Town) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice])
    cancelled = await ok(town, town.bob, proposed, "cancel")  # declining is cancelling
    assert cancelled["status"] == "cancelled"
    assert [event["action"] for event in cancelled["history"]] == ["propose", "cancel"]
    assert (await notices(town, town.bob))["count"] == 0
    assert_state_refused(await act(town, town.bob, proposed, "accept"), "cancelled")


async def test_expiry_sweep_releases_holds_once(
    town: Town, reader: Ledger, rendezvous: Rendezvous
) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice], minutes=80)
    accepted = await ok(town, town.bob, proposed, "accept")
    hold_expires_at = parse(accepted["hold_expires_at"])
    pending_id = uuid.UUID(accepted["recipients"][0]["pending_transfer_id"])

    assert await sweep(town, hold_expires_at - timedelta(seconds=1)) == 0
    assert (await account(town, town.alice))["pending_minutes"] == 80
    later = hold_expires_at + timedelta(seconds=1)
    # Two sweeps at once, as two workers would run them: one expires it.
    rendezvous("expire_one", 2, expiry)
    both = await asyncio.gather(sweep(town, later), sweep(town, later))
    assert sorted(both) == [0, 1]
    assert await sweep(town, later) == 0

    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 0)
    expired = await town.client.get(
        f"/api/v1/exchanges/{proposed['id']}", headers=town.alice.headers
    )
    assert expired.json()["status"] == "expired"
    assert expired.json()["hold_expires_at"] is None
    last = expired.json()["history"][-1]
    assert (last["action"], last["actor_id"], last["actor_name"]) == ("expire", None, "System")
    release = await reader.get_transfer(transfer_id=expire_transfer_id(pending_id))
    assert (release.kind, release.pending_id) == (TransferKind.EXPIRE, pending_id)
    for who, action in ((town.alice, "complete"), (town.bob, "cancel"), (town.alice, "accept")):
        assert_state_refused(await act(town, who, proposed, action), "expired")
    # The ledger's own expiry sweep finds nothing left to do.
    assert await reader.expire_due(now=later) == []


async def test_an_action_after_the_hold_ran_out_expires_the_exchange(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice], minutes=25)
    accepted = await ok(town, town.bob, proposed, "accept")
    # The service's clock moves past the hold before any sweep has run.
    after_hold = parse(accepted["hold_expires_at"]) + timedelta(minutes=1)
    exchange_clock_at(monkeypatch, after_hold)
    assert_state_refused(await act(town, town.alice, proposed, "complete"), "expired")
    alice = await account(town, town.alice)
    assert (alice["balance_minutes"], alice["pending_minutes"]) == (WELCOME, 0)
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME
    seen = await town.client.get(f"/api/v1/exchanges/{proposed['id']}", headers=town.bob.headers)
    assert seen.json()["status"] == "expired"


async def test_the_app_runs_the_expiry_sweeper_while_it_serves(town: Town) -> None:
    task = town.client.app.state.exchange_expiry_task
    assert isinstance(task, asyncio.Task)
    assert not task.done()


# Rules ----------------------------------------------------------------------------


async def test_illegal_transitions_are_refused_with_the_current_status(town: Town) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice])
    assert_state_refused(await act(town, town.alice, proposed, "complete"), "proposed")
    assert_state_refused(await act(town, town.alice, proposed, "accept"), "proposed")
    await ok(town, town.bob, proposed, "accept")
    assert_state_refused(await act(town, town.bob, proposed, "accept"), "accepted")
    await ok(town, town.alice, proposed, "complete")
    assert_state_refused(await act(town, town.bob, proposed, "cancel"), "completed")
    problem = (await act(town, town.alice, proposed, "cancel")).json()
    assert problem["detail"] == "This exchange is completed, so it cannot be cancelled now."


async def test_only_parties_coordinators_and_admins_see_an_exchange(town: Town) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice])
    path = f"/api/v1/exchanges/{proposed['id']}"
    for who in (town.alice, town.bob, town.coordinator, town.admin):
        assert (await town.client.get(path, headers=who.headers)).status_code == 200
    for who in (town.carol, town.council):
        response = await town.client.get(path, headers=who.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        for action in ("accept", "complete", "cancel"):
            assert (await act(town, who, proposed, action)).status_code == 404
    # A coordinator may look and confirm, but accepting or cancelling is for the parties.
    assert (await act(town, town.coordinator, proposed, "accept")).status_code == 403
    assert (await act(town, town.coordinator, proposed, "cancel")).status_code == 403
    missing = await town.client.get(f"/api/v1/exchanges/{uuid.uuid4()}", headers=town.bob.headers)
    assert missing.status_code == 404
    anonymous = await town.client.get(path)
    assert anonymous.status_code == 401


async def test_proposals_are_validated(town: Town) -> None:
    base = {
        "provider_id": str(town.bob.id),
        "recipient_id": str(town.alice.id),
        "minutes": 60,
        "service_date": days_ago(1),
        "description": "Shopping",
    }

    async def post(who: Person, **changes: Any) -> httpx.Response:
        body = {**base, **changes}
        body = {key: value for key, value in body.items() if value is not None}
        return await town.client.post("/api/v1/exchanges", headers=who.headers, json=body)

    cases: list[tuple[Person, dict[str, Any], int, str]] = [
        (town.carol, {}, 403, "not_a_party"),
        (town.pending, {"provider_id": str(town.pending.id)}, 403, "approval_pending"),
        (town.bob, {"recipient_id": str(town.bob.id)}, 422, "validation_failed"),
        (town.bob, {"recipient_ids": [str(town.alice.id)]}, 422, "validation_failed"),
        (town.bob, {"recipient_id": str(town.pending.id)}, 422, "validation_failed"),
        (town.bob, {"recipient_id": str(uuid.uuid4())}, 422, "validation_failed"),
        (town.bob, {"description": "   "}, 422, "validation_failed"),
        (town.bob, {"service_date": days_ago(400)}, 422, "validation_failed"),
        (town.bob, {"service_date": days_ago(-200)}, 422, "validation_failed"),
        (town.bob, {"listing_id": str(uuid.uuid4())}, 422, "validation_failed"),
        (town.bob, {"minutes": 0}, 400, "validation_failed"),
        (town.bob, {"minutes": 1441}, 400, "validation_failed"),
        (town.bob, {"service_date": "2026-01-01T10:00:00"}, 400, "validation_failed"),
        (town.bob, {"surprise": True}, 400, "validation_failed"),
        (
            town.bob,
            {"recipient_id": None, "recipient_ids": [str(uuid.uuid4()) for _ in range(21)]},
            400,
            "validation_failed",
        ),
        (
            town.bob,
            {"recipient_id": None, "recipient_ids": [str(town.alice.id)] * 2},
            422,
            "validation_failed",
        ),
    ]
    for who, changes, status, code in cases:
        response = await post(who, **changes)
        assert (response.status_code, response.json()["code"]) == (status, code), (
            changes,
            response.text,
        )
    listed = await town.client.get("/api/v1/exchanges", headers=town.bob.headers)
    assert listed.json()["items"] == []  # nothing was created


async def test_own_exchanges_page_by_cursor_and_filter_by_status(town: Town) -> None:
    made = [
        await propose(town, town.alice, town.bob, [town.alice], minutes=10 + i) for i in range(3)
    ]
    other = await propose(town, town.carol, town.council, [town.carol])
    await ok(town, town.bob, made[0], "accept")

    first = await town.client.get("/api/v1/exchanges?limit=2", headers=town.alice.headers)
    assert first.status_code == 200, first.text
    assert [item["id"] for item in first.json()["items"]] == [made[2]["id"], made[1]["id"]]
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await town.client.get(
        "/api/v1/exchanges", params={"limit": 2, "cursor": cursor}, headers=town.alice.headers
    )
    assert [item["id"] for item in second.json()["items"]] == [made[0]["id"]]
    assert second.json()["next_cursor"] is None
    accepted = await town.client.get(
        "/api/v1/exchanges", params={"status": "accepted"}, headers=town.bob.headers
    )
    assert [item["id"] for item in accepted.json()["items"]] == [made[0]["id"]]
    carols = await town.client.get("/api/v1/exchanges", headers=town.carol.headers)
    assert [item["id"] for item in carols.json()["items"]] == [other["id"]]
    bad = await town.client.get(
        "/api/v1/exchanges", params={"cursor": "not-a-cursor"}, headers=town.alice.headers
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "cursor_invalid")
    bad_status = await town.client.get(
        "/api/v1/exchanges", params={"status": "lost"}, headers=town.alice.headers
    )
    assert bad_status.status_code == 400


async def test_idempotency_key_makes_a_repeated_proposal_one_exchange(town: Town) -> None:
    body = {
        "provider_id": str(town.bob.id),
        "recipient_id": str(town.alice.id),
        "minutes": 60,
        "service_date": days_ago(1),
        "description": "Shopping",
    }
    headers = {**town.alice.headers, "Idempotency-Key": "propose-1"}
    first = await town.client.post("/api/v1/exchanges", headers=headers, json=body)
    again = await town.client.post("/api/v1/exchanges", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = await town.client.get("/api/v1/exchanges", headers=town.alice.headers)
    assert len(listed.json()["items"]) == 1


# Coordinator recording ------------------------------------------------------------


async def test_coordinator_records_a_completed_exchange(
    town: Town, reader: Ledger, db: TestDatabase
) -> None:
    service_date = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    before = datetime.now(UTC)
    response = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=town.coordinator.headers,
        json={
            "provider_id": str(town.alice.id),
            "recipient_id": str(town.bob.id),
            "minutes": 45,
            "service_date": service_date.isoformat(),
            "description": "Lift to the surgery (recorded by phone)",
        },
    )
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["status"] == "completed"
    assert recorded["recorded_by_id"] == str(town.coordinator.id)
    assert recorded["provider"]["accepted"] and recorded["recipients"][0]["accepted"]
    assert parse(recorded["service_date"]) == service_date
    assert [(e["action"], e["actor_id"]) for e in recorded["history"]] == [
        ("record", str(town.coordinator.id))
    ]
    transfer = await reader.get_transfer(
        transfer_id=uuid.UUID(recorded["recipients"][0]["transfer_id"])
    )
    assert transfer.kind == TransferKind.SINGLE
    assert transfer.code == "exchange"
    assert transfer.effective_at == service_date
    assert before <= transfer.recorded_at <= datetime.now(UTC)
    assert transfer.actor == f"coordinator:{town.coordinator.id}"
    assert transfer.debit_account_id == member_account_id(town.bob.id)
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME + 45
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME - 45

    engine = database.engine_from_url(db.url)
    rows = await engine.run_querystring(
        QueryString(
            "SELECT actor_id, action, community FROM member_audit WHERE target_id = {}",
            recorded["id"],
        ),
        in_pool=False,
    )
    assert len(rows) == 1
    assert rows[0]["action"] == "exchange.record"
    assert str(rows[0]["actor_id"]) == str(town.coordinator.id)
    # Both members see it among their own exchanges.
    for who in (town.alice, town.bob):
        listed = await town.client.get("/api/v1/exchanges", headers=who.headers)
        assert [item["id"] for item in listed.json()["items"]] == [recorded["id"]]


async def test_recording_is_for_coordinators_of_both_members(town: Town) -> None:
    def body(provider: Person, recipient: Person, **changes: Any) -> dict[str, Any]:
        return {
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": 30,
            "service_date": days_ago(1),
            "description": "Tea and a chat",
            **changes,
        }

    path = "/api/v1/coordinator/exchanges"
    member = await town.client.post(
        path, headers=town.alice.headers, json=body(town.alice, town.bob)
    )
    assert member.status_code == 403
    other_community = await town.client.post(
        path, headers=town.coordinator.headers, json=body(town.alice, town.carol)
    )
    assert other_community.status_code == 404
    future = await town.client.post(
        path,
        headers=town.coordinator.headers,
        json=body(town.alice, town.bob, service_date=days_ago(-1)),
    )
    assert (future.status_code, future.json()["code"]) == (422, "validation_failed")
    too_much = await town.client.post(
        path,
        headers=town.coordinator.headers,
        json=body(town.alice, town.bob, minutes=1440),
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_credit")
    assert "Bob" in too_much.json()["detail"]
    cross = await town.client.post(
        path, headers=town.admin.headers, json=body(town.alice, town.carol)
    )
    assert cross.status_code == 201, cross.text
    assert (await account(town, town.carol))["balance_minutes"] == WELCOME - 30

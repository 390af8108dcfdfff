"""Keyed exchange steps store their reply in the step's own transaction (ADR 0052).

Propose, accept, complete and cancel answer with the exchange as their write left
it, stored with the write: a repeat gets the same bytes and changes nothing, a key
stored by someone else meanwhile takes the step back with it, concurrent twins
make one exchange, and nothing is read again after the commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from piccolo.querystring import QueryString

from service import database
from service.members.sessions import principal_from_token
from tests.conftest import TestDatabase
from tests.support.exchanges import days_ago
from tests.support.people import Person, Town


async def _scalar(db: TestDatabase, sql: str, *args: object) -> int:
    engine = database.engine_from_url(db.url)
    rows = await engine.run_querystring(QueryString(sql, *args), in_pool=False)
    return int(next(iter(rows[0].values())))


def _keyed(who: Person, key: str) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key}


def _proposal(town: Town) -> dict[str, Any]:
    return {
        "provider_id": str(town.bob.id),
        "recipient_id": str(town.alice.id),
        "minutes": 30,
        "service_date": days_ago(1),
        "description": "Help with the garden",
    }


async def test_every_keyed_step_keeps_the_reply_it_sent(town: Town, db: TestDatabase) -> None:
    body = _proposal(town)
    proposed = await town.client.post(
        "/api/v1/exchanges", headers=_keyed(town.alice, "p-1"), json=body
    )
    assert proposed.status_code == 201, proposed.text
    path = f"/api/v1/exchanges/{proposed.json()['id']}"
    replies = {"p-1": proposed}
    for who, action, key in ((town.bob, "accept", "a-1"), (town.alice, "complete", "c-1")):
        response = await town.client.post(f"{path}/{action}", headers=_keyed(who, key))
        assert response.status_code == 200, response.text
        replies[key] = response
    assert replies["c-1"].json()["status"] == "completed"
    assert [event["action"] for event in replies["c-1"].json()["history"]] == [
        "propose",
        "accept",
        "complete",
    ]
    moved = "SELECT COUNT(*) FROM ledger_transfer"
    transfers_before = await _scalar(db, moved)
    stored = "SELECT COUNT(*) FROM market_idempotency_key WHERE key = {} AND status = {}"
    for key, response in replies.items():
        assert await _scalar(db, stored, key, response.status_code) == 1
    again = await town.client.post(
        "/api/v1/exchanges", headers=_keyed(town.alice, "p-1"), json=body
    )
    assert (again.status_code, again.content) == (201, replies["p-1"].content)
    for who, action, key in ((town.bob, "accept", "a-1"), (town.alice, "complete", "c-1")):
        again = await town.client.post(f"{path}/{action}", headers=_keyed(who, key))
        assert (again.status_code, again.content) == (200, replies[key].content)
    assert await _scalar(db, "SELECT COUNT(*) FROM market_exchange") == 1
    assert await _scalar(db, moved) == transfers_before  # the repeats moved nothing


async def test_a_step_whose_reply_cannot_be_stored_is_taken_back(
    town: Town, db: TestDatabase
) -> None:
    """The key already has a row (another request's): the acceptance does not commit."""
    proposed = await town.client.post(
        "/api/v1/exchanges", headers=_keyed(town.alice, "p-2"), json=_proposal(town)
    )
    assert proposed.status_code == 201, proposed.text
    token = town.bob.headers["Authorization"].removeprefix("Bearer ")
    bob = await principal_from_token(token=token)
    assert bob is not None
    engine = database.engine_from_url(db.url)
    await engine.run_querystring(
        QueryString(
            "INSERT INTO market_idempotency_key (caller, key, method, path, body_sha256, "
            "status, content_type, body, created_at) VALUES ({}, 'taken', 'POST', "
            "'/api/v1/transfers', {}, 201, 'application/json', {}, CURRENT_TIMESTAMP)",
            str(bob.member_id),
            hashlib.sha256(b"a gift").hexdigest(),
            "{}",
        ),
        in_pool=False,
    )
    path = f"/api/v1/exchanges/{proposed.json()['id']}/accept"
    response = await town.client.post(path, headers=_keyed(town.bob, "taken"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "idempotency_key_reused"
    status = "SELECT COUNT(*) FROM market_exchange WHERE status = 'proposed'"
    assert await _scalar(db, status) == 1
    assert await _scalar(db, "SELECT COUNT(*) FROM ledger_transfer WHERE kind = 'pending'") == 0
    accepted = await town.client.post(path, headers=_keyed(town.bob, "fresh"))
    assert accepted.status_code == 200, accepted.text


async def test_concurrent_twin_proposals_make_one_exchange(town: Town, db: TestDatabase) -> None:
    """One key, the same proposal raced: one exchange, one stored reply, one answer."""
    body = _proposal(town)
    responses = await asyncio.gather(
        *(
            town.client.post("/api/v1/exchanges", headers=_keyed(town.alice, "twin"), json=body)
            for _attempt in range(4)
        )
    )
    created = [response for response in responses if response.status_code == 201]
    assert created, [response.text for response in responses]
    assert len({response.content for response in created}) == 1
    for response in responses:
        if response.status_code != 201:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "idempotency_key_in_progress"
    assert await _scalar(db, "SELECT COUNT(*) FROM market_exchange") == 1
    kept = "SELECT COUNT(*) FROM market_idempotency_key WHERE key = 'twin'"
    assert await _scalar(db, kept) == 1
    notices = "SELECT COUNT(*) FROM mail_notice WHERE kind = 'exchange_proposed'"
    assert await _scalar(db, notices) == 1


async def test_an_unkeyed_step_answers_with_what_its_write_left(town: Town) -> None:
    proposed = await town.client.post(
        "/api/v1/exchanges", headers=town.alice.headers, json=_proposal(town)
    )
    assert proposed.status_code == 201, proposed.text
    exchange_id = proposed.json()["id"]
    accepted = await town.client.post(
        f"/api/v1/exchanges/{exchange_id}/accept", headers=town.bob.headers
    )
    assert accepted.status_code == 200, accepted.text
    shown = await town.client.get(f"/api/v1/exchanges/{exchange_id}", headers=town.bob.headers)
    assert accepted.json() == shown.json()
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["recipients"][0]["pending_transfer_id"] is not None
    assert uuid.UUID(accepted.json()["id"]) == uuid.UUID(exchange_id)

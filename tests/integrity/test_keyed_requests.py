"""Idempotency-Key as Stripe documents it (issue 13 items 1 and 2), on both engines.

The key is reserved before the handler runs; a concurrent duplicate waits for the
first answer and replays it; only final answers are kept; the body is read with
the size limit enforced while it streams.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from piccolo.querystring import QueryString

from service import database
from service.clock import utc_now
from service.exchanges.recording import exchange_record
from service.exchanges.schemas import RecordIn
from service.http import idempotency
from service.limits import IDEMPOTENCY_RESERVATION_STALE_SECONDS, REQUEST_BODY_SIZE_MAX_BYTES
from service.members.sessions import principal_from_token
from service.members.tables import Community
from service.transfers.services import pool_grant
from tests.conftest import TestDatabase
from tests.support.locks import until_waiting_on_locks
from tests.support.people import Town


async def _scalar(db: TestDatabase, sql: str, *args: object) -> int:
    """One number from the test's own connection (the app's pool lives on its own loop)."""
    engine = database.engine_from_url(db.url)
    rows = await engine.run_querystring(QueryString(sql, *args), in_pool=False)
    return int(next(iter(rows[0].values())))


async def _execute(db: TestDatabase, sql: str, *args: object) -> None:
    engine = database.engine_from_url(db.url)
    await engine.run_querystring(QueryString(sql, *args), in_pool=False)


async def _balance(town: Town, headers: dict[str, str]) -> int:
    response = await town.client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance_minutes"])


async def test_a_keyed_body_declared_too_large_is_refused_without_reading_it(town: Town) -> None:
    headers = {
        **town.alice.headers,
        "Idempotency-Key": "declared",
        "Content-Length": str(REQUEST_BODY_SIZE_MAX_BYTES + 1),
    }
    response = await town.client.post("/api/v1/transfers", headers=headers, content=b"{}")
    assert response.status_code == 413, response.text


async def test_concurrent_accepts_with_one_key_all_get_the_winners_answer(town: Town) -> None:
    """Two accepts with one key: one runs, the other waits and replays it; so does a later one."""
    proposed = await town.client.post(
        "/api/v1/exchanges",
        headers=town.alice.headers,
        json={
            "provider_id": str(town.alice.id),
            "recipient_id": str(town.bob.id),
            "minutes": 30,
            "service_date": utc_now().isoformat(),
            "description": "Shopping trip",
        },
    )
    assert proposed.status_code == 201, proposed.text
    exchange_id = proposed.json()["id"]
    headers = {**town.bob.headers, "Idempotency-Key": "accept-once"}
    path = f"/api/v1/exchanges/{exchange_id}/accept"
    first, second = await asyncio.gather(
        town.client.post(path, headers=headers), town.client.post(path, headers=headers)
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.content == second.content
    later = await town.client.post(path, headers=headers)
    assert later.status_code == 200
    assert later.content == first.content


async def test_concurrent_grants_with_one_key_audit_once(town: Town, db: TestDatabase) -> None:
    """Four grants with one key: one transfer and one `pool.grant` audit line."""
    await town.client.post(
        "/api/v1/transfers",
        headers=town.alice.headers,
        json={"to": "pool", "minutes": 60},
    )
    headers = {**town.coordinator.headers, "Idempotency-Key": "grant-once"}
    body = {"member_id": str(town.bob.id), "minutes": 20, "reason": "hospital visits"}
    responses = await asyncio.gather(
        *(
            town.client.post("/api/v1/coordinator/grants", headers=headers, json=body)
            for _ in range(4)
        )
    )
    assert {response.status_code for response in responses} == {201}, [r.text for r in responses]
    assert len({response.json()["id"] for response in responses}) == 1
    grants = await _scalar(db, "SELECT COUNT(*) FROM member_audit WHERE action = {}", "pool.grant")
    assert grants == 1
    assert await _balance(town, town.bob.headers) == 120 + 20


@pytest.mark.postgres_only
async def test_grants_with_one_key_that_race_inside_the_service_audit_once(
    town: Town, db: TestDatabase
) -> None:
    """Two grants with one key reach the service together (two pages posting one form
    token do: no middleware is in between). A third session holds the pool's row, so
    both are inside their transactions before either writes; the ledger then tells
    the second one its transfer was already made, and it records nothing again."""
    await town.client.post(
        "/api/v1/transfers", headers=town.alice.headers, json={"to": "pool", "minutes": 60}
    )
    token = town.coordinator.headers["Authorization"].removeprefix("Bearer ")
    coordinator = await principal_from_token(token=token)
    assert coordinator is not None
    pool = await Community.select(Community.pool_account_id).where(Community.slug == "riverside")
    blocker = await asyncpg.connect(db.url)
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "SELECT 1 FROM ledger_account WHERE id = $1 FOR UPDATE", pool[0]["pool_account_id"]
        )
        grants = [
            asyncio.create_task(
                pool_grant(
                    engine=town.app.state.engine,
                    ledger=town.app.state.ledger,
                    principal=coordinator,
                    member_id=town.bob.id,
                    minutes=20,
                    reason="hospital visits",
                    idempotency_key="one-form-token",
                )
            )
            for _ in range(2)
        ]
        await until_waiting_on_locks(blocker, len(grants))
        await holding.rollback()
        first, second = await asyncio.gather(*grants)
    finally:
        await blocker.close()
    assert first == second
    audited = await _scalar(db, "SELECT COUNT(*) FROM member_audit WHERE action = {}", "pool.grant")
    assert audited == 1
    flows = await _scalar(db, "SELECT COUNT(*) FROM reports_flow WHERE kind = {}", "grant")
    assert flows == 1
    assert await _balance(town, town.bob.headers) == 120 + 20


async def test_a_recording_repeated_inside_the_service_is_written_and_audited_once(
    town: Town, db: TestDatabase
) -> None:
    """Recording asks the ledger, not a pre-read, whether the keyed recording was made:
    a repeat (a form token posted twice) answers the same exchange and writes nothing."""
    token = town.coordinator.headers["Authorization"].removeprefix("Bearer ")
    coordinator = await principal_from_token(token=token)
    assert coordinator is not None
    data = RecordIn(
        provider_id=town.alice.id,
        recipient_id=town.bob.id,
        minutes=30,
        service_date=utc_now() - timedelta(days=2),
        description="Lift to the surgery (recorded by phone)",
    )
    answers = [
        await exchange_record(
            engine=town.app.state.engine,
            ledger=town.app.state.ledger,
            actor=coordinator,
            data=data,
            idempotency_key="one-paper-form",
        )
        for _ in range(2)
    ]
    assert answers[0] == answers[1]
    target = str(answers[0])
    audited = "SELECT COUNT(*) FROM member_audit WHERE action = {} AND target_id = {}"
    assert await _scalar(db, audited, "exchange.record", target) == 1
    events = "SELECT COUNT(*) FROM market_exchange_event WHERE exchange = {}"
    assert await _scalar(db, events, answers[0]) == 1
    assert await _balance(town, town.alice.headers) == 120 + 30


async def test_answers_that_are_not_final_are_not_kept(town: Town, db: TestDatabase) -> None:
    """A 401 (bad token) or 429 must not be replayed to the same key once the caller is fine."""
    body = {"to_member_id": str(town.bob.id), "minutes": 5}
    nobody = uuid.uuid4()
    refused = await town.client.post(
        "/api/v1/transfers",
        headers={**town.alice.headers, "Idempotency-Key": "k-final"},
        json={"to_member_id": str(nobody), "minutes": 5},
    )
    # Nobody has that id: a 404 is final and is kept for this key.
    assert refused.status_code == 404, refused.text
    replay = await town.client.post(
        "/api/v1/transfers",
        headers={**town.alice.headers, "Idempotency-Key": "k-final"},
        json={"to_member_id": str(nobody), "minutes": 5},
    )
    assert replay.content == refused.content
    count_sql = "SELECT COUNT(*) FROM market_idempotency_key WHERE key = {}"
    assert await _scalar(db, count_sql, "k-final") == 1
    # A stored answer never exists for a request whose caller was not resolved.
    anonymous = await town.client.post(
        "/api/v1/transfers", headers={"Idempotency-Key": "k-anon"}, json=body
    )
    assert anonymous.status_code == 401
    assert await _scalar(db, count_sql, "k-anon") == 0


async def test_a_reservation_left_by_a_crash_is_taken_over_and_moves_nothing_twice(
    town: Town, db: TestDatabase
) -> None:
    """The first request committed its gift and died before storing its answer."""
    headers = {**town.alice.headers, "Idempotency-Key": "crashed"}
    body = {"to_member_id": str(town.bob.id), "minutes": 25}
    first = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert first.status_code == 201, first.text
    # Rewind the stored answer into an abandoned reservation, as a crash would leave it.
    stale_at = utc_now() - timedelta(seconds=IDEMPOTENCY_RESERVATION_STALE_SECONDS + 1)
    await _execute(
        db,
        "UPDATE market_idempotency_key SET status = 0, body = '', created_at = {} WHERE key = {}",
        stale_at,
        "crashed",
    )
    retry = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]
    assert await _balance(town, town.bob.headers) == 120 + 25


async def test_a_fresh_reservation_makes_a_duplicate_wait_then_hear_in_progress(
    town: Town, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reservation that is not stale and never finishes: the duplicate is told to retry."""
    monkeypatch.setattr(idempotency, "IDEMPOTENCY_WAIT_SECONDS", 0.3)  # keep the test short
    headers = {**town.alice.headers, "Idempotency-Key": "stuck"}
    body = b'{"to_member_id": "%s", "minutes": 5}' % str(town.bob.id).encode()
    first = await town.client.post(
        "/api/v1/transfers", headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert first.status_code == 201
    await _execute(
        db,
        "UPDATE market_idempotency_key SET status = 0, created_at = {} WHERE key = {}",
        utc_now(),
        "stuck",
    )
    duplicate = await town.client.post(
        "/api/v1/transfers", headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["code"] == "idempotency_key_in_progress"
    assert duplicate.headers["retry-after"] == "1"

"""Keyed gifts store their reply in the gift's own transaction (ADR 0037), on both engines.

No reservation is committed before the handler: the transfer and its stored
reply commit together or not at all, concurrent duplicates still move hours
once and hear one answer, and the reservation path takes over every other case.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from piccolo.querystring import QueryString

from ledger import WriteTransaction, run_write
from service import database
from service.http.idempotency import KeyedReply, KeyTaken, derived_id, stored_with_write
from service.members.sessions import principal_from_token
from service.transfers import services as transfers
from tests.conftest import TestDatabase
from tests.support.people import Town


async def _scalar(db: TestDatabase, sql: str, *args: object) -> int:
    engine = database.engine_from_url(db.url)
    rows = await engine.run_querystring(QueryString(sql, *args), in_pool=False)
    return int(next(iter(rows[0].values())))


async def _balance(town: Town, headers: dict[str, str]) -> int:
    response = await town.client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance_minutes"])


async def test_a_keyed_gift_keeps_the_reply_it_sent(town: Town, db: TestDatabase) -> None:
    headers = {**town.alice.headers, "Idempotency-Key": "in-the-write"}
    body = {"to_member_id": str(town.bob.id), "minutes": 7}
    first = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert first.status_code == 201, first.text
    stored = "SELECT COUNT(*) FROM market_idempotency_key WHERE key = {} AND status = 201"
    assert await _scalar(db, stored, "in-the-write") == 1
    replay = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert (replay.status_code, replay.content) == (201, first.content)
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert await _balance(town, town.bob.headers) == 120 + 7


@pytest.mark.parametrize("to_pool", [False, True], ids=["gift", "donation"])
async def test_a_reply_that_cannot_be_stored_takes_the_transfer_back_with_it(
    town: Town, db: TestDatabase, to_pool: bool
) -> None:
    """The key was stored by someone else while this gift wrote: nothing of it commits."""
    token = town.alice.headers["Authorization"].removeprefix("Bearer ")
    alice = await principal_from_token(token=token)
    assert alice is not None
    caller, key = str(alice.member_id), "taken-meanwhile"
    engine = database.engine_from_url(db.url)
    await engine.run_querystring(
        QueryString(
            "INSERT INTO market_idempotency_key (caller, key, method, path, body_sha256, "
            "status, content_type, body, created_at) VALUES ({}, {}, 'POST', "
            "'/api/v1/transfers', {}, 0, '', '', CURRENT_TIMESTAMP)",
            caller,
            key,
            hashlib.sha256(b"another body").hexdigest(),
        ),
        in_pool=False,
    )
    keyed = KeyedReply(caller, key, ("POST", "/api/v1/transfers", "digest"))
    with pytest.raises(KeyTaken):
        await transfers.give(
            ledger=town.app.state.ledger,
            principal=alice,
            minutes=9,
            to_member_id=None if to_pool else town.bob.id,
            to_pool=to_pool,
            memo="",
            idempotency_key=key,
            reply=transfers.GiftReply(keyed, 201, lambda _given: b"{}"),
        )
    assert keyed.taken
    assert keyed.stored is None
    purpose = "donation" if to_pool else "gift"
    transfer_id = derived_id(caller_id=alice.member_id, key=key, purpose=purpose)
    written = "SELECT COUNT(*) FROM ledger_transfer WHERE id = {}"
    assert await _scalar(db, written, str(transfer_id)) == 0
    assert await _balance(town, town.alice.headers) == 120


async def test_concurrent_gifts_and_donations_with_one_key_move_hours_once(
    town: Town, db: TestDatabase
) -> None:
    """Same key, two different requests, raced: one moves hours, every answer agrees."""
    headers = {**town.alice.headers, "Idempotency-Key": "raced"}
    gift = {"to_member_id": str(town.bob.id), "minutes": 5}
    donation = {"to": "pool", "minutes": 5}
    responses = await asyncio.gather(
        *(
            town.client.post("/api/v1/transfers", headers=headers, json=body)
            for body in (gift, donation, gift, donation, gift)
        )
    )
    won = [response for response in responses if response.status_code == 201]
    assert won, [response.text for response in responses]
    assert len({response.content for response in won}) == 1
    for response in responses:
        if response.status_code != 201:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "idempotency_key_reused"
    assert await _balance(town, town.alice.headers) == 120 - 5
    count = "SELECT COUNT(*) FROM market_idempotency_key WHERE key = {}"
    assert await _scalar(db, count, "raced") == 1
    moved = "SELECT COUNT(*) FROM ledger_transfer WHERE code IN ('gift', 'donation')"
    assert await _scalar(db, moved) == 1


async def test_concurrent_keyed_gifts_each_keep_their_own_reply(
    town: Town, db: TestDatabase
) -> None:
    """Gifts with their own keys share commits; each reply is stored with its gift."""
    body = {"to_member_id": str(town.bob.id), "minutes": 2}
    responses = await asyncio.gather(
        *(
            town.client.post(
                "/api/v1/transfers",
                headers={**town.alice.headers, "Idempotency-Key": f"many-{number}"},
                json=body,
            )
            for number in range(8)
        )
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 8
    kept = "SELECT COUNT(*) FROM market_idempotency_key WHERE key LIKE 'many-%' AND status = 201"
    assert await _scalar(db, kept) == 8
    assert await _balance(town, town.bob.headers) == 120 + 8 * 2


async def test_a_refused_keyed_gift_is_kept_and_replayed(town: Town, db: TestDatabase) -> None:
    """A refusal moves nothing; its answer is stored after the handler, as before."""
    headers = {**town.alice.headers, "Idempotency-Key": "too-much"}
    body = {"to_member_id": str(town.bob.id), "minutes": 6000}
    first = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert 400 <= first.status_code < 500, first.text
    replay = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    assert await _balance(town, town.alice.headers) == 120


async def _take_key(db: TestDatabase, caller: str, key: str) -> None:
    engine = database.engine_from_url(db.url)
    await engine.run_querystring(
        QueryString(
            "INSERT INTO market_idempotency_key (caller, key, method, path, body_sha256, "
            "status, content_type, body, created_at) VALUES ({}, {}, 'POST', "
            "'/api/v1/transfers', 'other', 0, '', '', CURRENT_TIMESTAMP)",
            caller,
            key,
        ),
        in_pool=False,
    )


async def test_replies_written_together_fail_only_the_gift_whose_key_is_taken(
    town: Town, db: TestDatabase
) -> None:
    """Concurrent keyed gifts store their replies in one statement per write (ADR 0056);
    a key another request took meanwhile fails that gift alone, the rest commit with
    the replies rendered from what they wrote."""
    token = town.alice.headers["Authorization"].removeprefix("Bearer ")
    alice = await principal_from_token(token=token)
    assert alice is not None
    caller = str(alice.member_id)
    await _take_key(db, caller, "batch-2")
    keyed = [KeyedReply(caller, f"batch-{n}", ("POST", "/api/v1/transfers", "d")) for n in range(5)]

    def render(given: transfers.Given) -> bytes:
        return f"{given.transfer.id}:{given.receiver.display_name}".encode()

    async def give(reply: KeyedReply) -> transfers.Given:
        return await transfers.give(
            ledger=town.app.state.ledger,
            principal=alice,
            minutes=3,
            to_member_id=town.bob.id,
            to_pool=False,
            memo="",
            idempotency_key=reply.key,
            reply=transfers.GiftReply(reply, 201, render),
        )

    results = await asyncio.gather(*(give(reply) for reply in keyed), return_exceptions=True)
    assert isinstance(results[2], KeyTaken)
    assert keyed[2].taken and keyed[2].stored is None
    for number in (0, 1, 3, 4):
        given = results[number]
        assert isinstance(given, transfers.Given), given
        expected = f"{given.transfer.id}:{given.receiver.display_name}".encode()
        assert keyed[number].stored == (201, expected)
        assert not keyed[number].taken
    kept = "SELECT COUNT(*) FROM market_idempotency_key WHERE key LIKE 'batch-%' AND status = 201"
    assert await _scalar(db, kept) == 4
    assert await _balance(town, town.alice.headers) == 120 - 4 * 3


async def test_two_replies_for_one_key_in_one_write_are_both_refused(town: Town) -> None:
    """Two replies for one key in one statement cannot both be kept: the write is refused
    (a group-committed batch is then split and each judged alone)."""
    twins = [KeyedReply("someone", "twin", ("POST", "/api/v1/transfers", "d")) for _ in range(2)]
    step = stored_with_write(twins[0], 201, lambda _written: b"{}")
    items = [((reply, 201, lambda _written: b"{}"), ()) for reply in twins]

    async def store_both(transaction: WriteTransaction) -> None:
        await step.write_all(transaction.connection, items)

    with pytest.raises(KeyTaken):
        await run_write(database.active_engine(), store_both)
    assert all(reply.taken and reply.stored is None for reply in twins)

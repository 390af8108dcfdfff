"""Gifts, pool donations and grants, statements, and Idempotency-Key, on both engines."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import pytest

from ledger import Ledger, Unit
from service import database
from service.members import principals
from service.members.callers import Resolved
from service.members.sessions import resolve_token
from service.members.tables import Community, Member
from service.transfers.services import parties_of, party_of
from tests.conftest import TestDatabase
from tests.support.people import Town


async def _verify_clean(db: TestDatabase) -> None:
    engine = database.engine_from_url(db.url)  # no pool: usable from the test's own loop
    report = await Ledger(engine).verify()
    assert report.ok, report.summary()
    trial = await Ledger(engine).trial_balance(unit=Unit.HOUR)
    assert trial.balanced


async def _balance(town: Town, headers: dict[str, str]) -> int:
    response = await town.client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance_minutes"])


async def test_gift_moves_hours_between_members(town: Town, db: TestDatabase) -> None:
    response = await town.client.post(
        "/api/v1/transfers",
        headers=town.alice.headers,
        json={"to_member_id": str(town.bob.id), "minutes": 45, "memo": "thanks for the lift"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "gift"
    assert body["sender"]["member_id"] == str(town.alice.id)
    assert body["receiver"]["display_name"] == "Bob"
    assert await _balance(town, town.alice.headers) == 120 - 45
    assert await _balance(town, town.bob.headers) == 120 + 45
    seen_by_bob = await town.client.get(f"/api/v1/transfers/{body['id']}", headers=town.bob.headers)
    assert seen_by_bob.status_code == 200
    seen_by_carol = await town.client.get(
        f"/api/v1/transfers/{body['id']}", headers=town.carol.headers
    )
    assert seen_by_carol.status_code == 404
    await _verify_clean(db)


async def test_gift_beyond_the_floor_says_what_is_available(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/transfers",
        headers=town.alice.headers,
        json={"to_member_id": str(town.bob.id), "minutes": 120 + 600 + 1},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_credit"
    assert response.json()["detail"] == (
        "Not enough credit: you have 12 hours available. You can go down to minus 10 hours."
    )


async def test_donation_and_grant_through_the_pool(town: Town, db: TestDatabase) -> None:
    donated = await town.client.post(
        "/api/v1/transfers", headers=town.alice.headers, json={"to": "pool", "minutes": 60}
    )
    assert donated.status_code == 201, donated.text
    assert donated.json()["code"] == "donation"
    too_much = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(town.bob.id), "minutes": 61, "reason": "hospital visits"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "pool_insufficient"
    granted = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(town.bob.id), "minutes": 60, "reason": "hospital visits"},
    )
    assert granted.status_code == 201, granted.text
    assert await _balance(town, town.bob.headers) == 180
    outside = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(town.carol.id), "minutes": 1, "reason": "x"},
    )
    assert outside.status_code == 404
    by_member = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.alice.headers,
        json={"member_id": str(town.bob.id), "minutes": 1, "reason": "x"},
    )
    # Not a coordinator anywhere: refused at the door, before the member is looked up.
    assert by_member.status_code == 403
    assert by_member.json()["code"] == "forbidden"
    await _verify_clean(db)


async def test_same_idempotency_key_replays_and_moves_nothing(town: Town, db: TestDatabase) -> None:
    headers = {**town.alice.headers, "Idempotency-Key": "gift-2026-11-26-001"}
    body = {"to_member_id": str(town.bob.id), "minutes": 30}
    first = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    again = await town.client.post("/api/v1/transfers", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert await _balance(town, town.bob.headers) == 150
    changed = await town.client.post(
        "/api/v1/transfers", headers=headers, json={**body, "minutes": 31}
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_key_reused"
    # Keys are scoped to the caller: bob may use the same key for his own gift.
    bobs = await town.client.post(
        "/api/v1/transfers",
        headers={**town.bob.headers, "Idempotency-Key": "gift-2026-11-26-001"},
        json={"to_member_id": str(town.alice.id), "minutes": 5},
    )
    assert bobs.status_code == 201
    await _verify_clean(db)


async def test_a_keyed_request_looks_its_caller_up_once(
    town: Town, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idempotency step resolves the token; the handler reuses what it found."""
    lookups: list[str] = []
    original = resolve_token

    async def counted(*, token: str) -> Resolved | None:
        lookups.append(token)
        return await original(token=token)

    # Both the idempotency step and the handler's dependency resolve through this.
    monkeypatch.setattr(principals, "resolve_token", counted)
    body = {"to_member_id": str(town.bob.id), "minutes": 10}
    keyed = {**town.alice.headers, "Idempotency-Key": "one-lookup"}
    response = await town.client.post("/api/v1/transfers", headers=keyed, json=body)
    assert response.status_code == 201, response.text
    assert len(lookups) == 1
    plain = await town.client.post("/api/v1/transfers", headers=town.alice.headers, json=body)
    assert plain.status_code == 201, plain.text
    assert len(lookups) == 2  # without a key, the handler's own lookup is the only one
    await _verify_clean(db)


async def test_concurrent_requests_with_one_key_move_once(town: Town, db: TestDatabase) -> None:
    headers = {**town.alice.headers, "Idempotency-Key": "same-key"}
    body = {"to_member_id": str(town.bob.id), "minutes": 20}
    responses = await asyncio.gather(
        *(town.client.post("/api/v1/transfers", headers=headers, json=body) for _ in range(5))
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert await _balance(town, town.bob.headers) == 140
    await _verify_clean(db)


async def test_bad_idempotency_keys_are_refused(town: Town) -> None:
    for key in ("", "x" * 256, "tab\there"):
        response = await town.client.post(
            "/api/v1/transfers",
            headers={**town.alice.headers, "Idempotency-Key": key},
            json={"to_member_id": str(town.bob.id), "minutes": 1},
        )
        assert response.status_code == 400, key
        assert response.json()["code"] == "idempotency_key_invalid"


async def test_statement_pages_and_csv_match_the_balance(town: Town) -> None:
    for minutes in (10, 20, 30):
        response = await town.client.post(
            "/api/v1/transfers",
            headers=town.alice.headers,
            json={"to_member_id": str(town.bob.id), "minutes": minutes, "memo": "=SUM(A1)"},
        )
        assert response.status_code == 201
    first = await town.client.get(
        "/api/v1/accounts/me/statement?limit=2", headers=town.alice.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["minutes"] for item in page["items"]] == [-30, -20]
    assert page["items"][0]["counterparty"] == "Bob"
    assert page["items"][0]["balance_after"] == await _balance(town, town.alice.headers)
    rest = await town.client.get(
        f"/api/v1/accounts/me/statement?limit=2&cursor={page['next_cursor']}",
        headers=town.alice.headers,
    )
    older = rest.json()["items"]
    assert [item["minutes"] for item in older] == [-10, 120]
    assert older[1]["code"] == "welcome"
    exported = await town.client.get(
        "/api/v1/accounts/me/statement.csv", headers=town.alice.headers
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(row["minutes"]) for row in rows] == [-30, -20, -10, 120]
    assert rows[0]["memo"] == "'=SUM(A1)"  # no formula injection into spreadsheets


async def test_gift_input_is_checked(town: Town) -> None:
    cases = [
        {"minutes": 10},
        {"minutes": 10, "to": "pool", "to_member_id": str(town.bob.id)},
        {"minutes": 0, "to": "pool"},
        {"minutes": 10, "to": "moon"},
        {"minutes": "ten", "to": "pool"},
        {"minutes": 10, "to": "pool", "extra": 1},
        {"minutes": 10, "to_member_id": str(town.alice.id)},
        {"minutes": 10, "to_member_id": str(uuid.uuid4())},
    ]
    for body in cases:
        response = await town.client.post(
            "/api/v1/transfers", headers=town.alice.headers, json=body
        )
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await _balance(town, town.alice.headers) == 120


async def test_pending_member_cannot_give(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/transfers", headers=town.pending.headers, json={"to": "pool", "minutes": 1}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "approval_pending"


async def test_statement_parties_named_together_as_one_by_one(town: Town) -> None:
    # A statement page names every other side in two statements (`parties_of`); each
    # must be named as when asked alone (`party_of`): a member, a community's pool or
    # welcome account, or the timebank itself for an account of neither.
    alice = await Member.objects().where(Member.id == town.alice.id).first().run()
    assert alice is not None
    community = await Community.objects().where(Community.id == alice.community).first().run()
    assert community is not None
    accounts = [
        alice.hour_account_id,
        community.pool_account_id,
        community.issuance_account_id,
        uuid.uuid4(),
    ]
    together = await parties_of(accounts)
    one_by_one = {account_id: await party_of(account_id) for account_id in accounts}
    assert together == one_by_one
    assert [together[account].kind for account in accounts] == [
        "member",
        "pool",
        "issuance",
        "system",
    ]
    assert [together[account].display_name for account in accounts] == [
        alice.display_name,
        f"Community pool ({community.name})",
        f"Welcome credit ({community.name})",
        "Timebank",
    ]

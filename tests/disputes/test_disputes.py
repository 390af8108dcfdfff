"""Disputes through the HTTP API, on both engines: opening within the window, the
thread, each outcome's exact ledger effect, group exchanges per recipient, the
floor override, concurrent resolution, and who may do what.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from litestar import Litestar

from ledger import Ledger
from service.members.accounts import member_account_id
from tests.conftest import TestDatabase
from tests.support.exchanges import (
    WELCOME,
    account,
    audit_rows,
    completed,
    disputed,
    open_dispute,
    propose,
    resolve,
    shifted_clock,
)
from tests.support.people import Town

# Opening ----------------------------------------------------------------------


async def test_a_party_opens_a_dispute_and_the_other_adds_their_account(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    assert dispute["status"] == "open"
    assert dispute["opened_by_id"] == str(town.alice.id)
    assert dispute["reason"] == "It did not happen"
    assert dispute["outcome"] is None

    response = await town.client.post(
        f"/api/v1/disputes/{dispute['id']}/statements",
        headers=town.bob.headers,
        json={"body": "I was there for the full hour."},
    )
    assert response.status_code == 201, response.text
    thread = response.json()["statements"]
    assert [(s["author_id"], s["body"]) for s in thread] == [
        (str(town.bob.id), "I was there for the full hour.")
    ]
    # Both parties and the admin see the thread; the exchange history shows the dispute.
    for who in (town.alice, town.bob, town.admin):
        path = f"/api/v1/disputes/{dispute['id']}"
        seen = await town.client.get(path, headers=who.headers)
        assert seen.status_code == 200, seen.text
        assert len(seen.json()["statements"]) == 1
    history = await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=town.bob.headers)
    assert "dispute" in [event["action"] for event in history.json()["history"]]


async def test_outsiders_do_not_learn_a_dispute_exists(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    for who in (town.carol, town.coordinator, town.council):
        seen = await town.client.get(f"/api/v1/disputes/{dispute['id']}", headers=who.headers)
        assert seen.status_code == 404, seen.text
        said = await town.client.post(
            f"/api/v1/disputes/{dispute['id']}/statements",
            headers=who.headers,
            json={"body": "me too"},
        )
        assert said.status_code == 404, said.text
    stranger = await open_dispute(town, town.carol, exchange)
    assert stranger.status_code == 404


async def test_one_dispute_per_exchange(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    await disputed(town, town.alice, exchange)
    again = await open_dispute(town, town.bob, exchange)
    assert again.status_code == 409
    assert again.json()["code"] == "dispute_exists"


async def test_only_completed_exchanges_can_be_disputed(town: Town) -> None:
    exchange = await propose(town, town.alice, town.bob, [town.alice])
    response = await open_dispute(town, town.alice, exchange)
    assert response.status_code == 409
    assert response.json()["code"] == "exchange_state"
    # RFC 9457: `status` is the HTTP status; the exchange's state has a name of its own.
    assert (response.json()["status"], response.json()["exchange_status"]) == (409, "proposed")


async def test_the_window_is_enforced(town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    # The town's communities keep the default window of 30 days.
    late = await completed(town, town.bob, [town.alice])
    shifted_clock(monkeypatch, 30.5)
    refused = await open_dispute(town, town.alice, late)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "dispute_window_closed"

    shifted_clock(monkeypatch, 29.5)
    accepted = await open_dispute(town, town.alice, late)
    assert accepted.status_code == 201, accepted.text


async def test_bad_input_is_refused_with_a_problem(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"why": "x"}):
        response = await town.client.post(
            f"/api/v1/exchanges/{exchange['id']}/dispute", headers=town.alice.headers, json=body
        )
        assert 400 <= response.status_code < 500, (body, response.text)
    listed = await town.client.get("/api/v1/disputes", headers=town.alice.headers)
    assert listed.json()["items"] == []


# Resolving --------------------------------------------------------------------


async def test_upheld_moves_nothing(town: Town, db: TestDatabase) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    dispute = await disputed(town, town.alice, exchange)
    response = await resolve(town, dispute, outcome="upheld")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resolved"
    assert body["outcome"] == "upheld"
    assert body["resolution_note"] == "Both sides heard."
    assert [c["reversal_transfer_id"] for c in body["corrections"]] == [None]
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 90
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 90
    audit = await audit_rows(db, dispute["id"])
    assert [row["action"] for row in audit] == ["dispute.resolve"]
    assert json.loads(audit[0]["before_json"])["status"] == "open"
    assert json.loads(audit[0]["after_json"])["corrections"][0]["outcome"] == "upheld"


async def test_reversed_returns_the_whole_amount_and_keeps_the_original(
    town: Town, reader: Ledger
) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    original_id = uuid.UUID(exchange["recipients"][0]["transfer_id"])
    dispute = await disputed(town, town.alice, exchange)
    response = await resolve(town, dispute, outcome="reversed")
    assert response.status_code == 200, response.text
    correction = response.json()["corrections"][0]
    assert correction["minutes"] == 90
    reversal = await reader.get_transfer(transfer_id=uuid.UUID(correction["reversal_transfer_id"]))
    assert reversal.reverses_id == original_id
    assert reversal.amount_minor == 90
    assert reversal.debit_account_id == member_account_id(town.bob.id)
    assert reversal.credit_account_id == member_account_id(town.alice.id)
    original = await reader.get_transfer(transfer_id=original_id)
    assert original.amount_minor == 90  # never changed
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME


async def test_adjusted_returns_exactly_n_minutes(town: Town, reader: Ledger) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    dispute = await disputed(town, town.alice, exchange)
    for minutes in (0, 91):
        refused = await resolve(town, dispute, outcome="adjusted", minutes=minutes)
        assert refused.status_code in (400, 422), refused.text
    missing = await resolve(town, dispute, outcome="adjusted")
    assert missing.status_code == 422, missing.text
    response = await resolve(town, dispute, outcome="adjusted", minutes=30)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "adjusted"
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 60
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 60
    statement = await reader.statement(account_id=member_account_id(town.alice.id))
    assert statement.lines[0].change_minor == 30
    assert statement.lines[0].transfer.code == "dispute"


async def test_resolving_twice_gives_one_resolution(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    dispute = await disputed(town, town.alice, exchange)
    first = await resolve(town, dispute, outcome="adjusted", minutes=30)
    assert first.status_code == 200
    second = await resolve(town, dispute, outcome="reversed")
    assert second.status_code == 409
    assert second.json()["code"] == "dispute_state"
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 60


async def test_two_admins_at_once_have_one_winner(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    dispute = await disputed(town, town.alice, exchange)
    app: Litestar = town.client.app
    path = f"/api/v1/admin/disputes/{dispute['id']}/resolve"
    bodies = [
        {"outcome": "reversed", "note": "first admin"},
        {"outcome": "adjusted", "minutes": 30, "note": "second admin"},
        {"outcome": "adjusted", "minutes": 45, "note": "third admin"},
    ]

    async def all_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(
                await asyncio.gather(
                    *(http.post(path, headers=town.admin.headers, json=b) for b in bodies)
                )
            )

    responses = await all_at_once()
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409, 409], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    moved = winner["corrections"][0]["minutes"]
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 90 + moved


async def test_group_exchange_is_resolved_per_recipient(town: Town, reader: Ledger) -> None:
    group = [town.alice, town.coordinator]
    exchange = await completed(town, town.bob, group, minutes=60)
    dispute = await disputed(town, town.coordinator, exchange)
    response = await resolve(
        town,
        dispute,
        outcome="upheld",
        recipients=[
            {"recipient_id": str(town.alice.id), "outcome": "adjusted", "minutes": 20},
        ],
    )
    assert response.status_code == 200, response.text
    corrections = {c["recipient_id"]: c for c in response.json()["corrections"]}
    assert corrections[str(town.alice.id)]["minutes"] == 20
    assert corrections[str(town.coordinator.id)]["minutes"] == 0
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 40
    assert (await account(town, town.coordinator))["balance_minutes"] == WELCOME - 60
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 100


async def test_group_reversal_returns_every_recipients_hours(town: Town) -> None:
    group = [town.alice, town.coordinator]
    exchange = await completed(town, town.bob, group, minutes=45)
    dispute = await disputed(town, town.alice, exchange)
    response = await resolve(town, dispute, outcome="reversed")
    assert response.status_code == 200, response.text
    for who in (town.alice, town.coordinator, town.bob):
        assert (await account(town, who))["balance_minutes"] == WELCOME


async def test_recipients_must_belong_to_the_exchange(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    response = await resolve(
        town,
        dispute,
        outcome="upheld",
        recipients=[{"recipient_id": str(town.carol.id), "outcome": "reversed"}],
    )
    assert response.status_code == 422, response.text
    still = await town.client.get(
        f"/api/v1/admin/disputes/{dispute['id']}", headers=town.admin.headers
    )
    assert still.json()["status"] == "open"


async def test_reversal_below_the_floor_needs_a_confirmed_override(
    town: Town, db: TestDatabase, reader: Ledger
) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    # Bob spends everything down to his floor (-600) after being paid.
    gift = await town.client.post(
        "/api/v1/transfers",
        headers=town.bob.headers,
        json={"to_member_id": str(town.alice.id), "minutes": WELCOME + 60 + 600},
    )
    assert gift.status_code == 201, gift.text
    dispute = await disputed(town, town.alice, exchange)

    refused = await resolve(town, dispute, outcome="reversed")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "limit_override_required"
    assert refused.json()["below_floor_minutes"] == 60
    assert "1 hour below their floor" in refused.json()["detail"]
    assert (await account(town, town.bob))["balance_minutes"] == -600
    open_still = await town.client.get(
        f"/api/v1/admin/disputes/{dispute['id']}", headers=town.admin.headers
    )
    assert open_still.json()["status"] == "open"

    confirmed = await resolve(town, dispute, outcome="reversed", confirm_override=True)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["corrections"][0]["below_floor_minutes"] == 60
    bob = await account(town, town.bob)
    assert bob["balance_minutes"] == -660
    assert bob["below_floor_minutes"] == 60
    audit = await audit_rows(db, str(member_account_id(town.bob.id)))
    assert [row["action"] for row in audit] == ["account.floor_override"]
    assert json.loads(audit[0]["before_json"]) == {"floor_minutes": -600}
    assert json.loads(audit[0]["after_json"]) == {"floor_minutes": -660, "below_floor_minutes": 60}
    # The account cannot go further: the floor stands where the correction left it.
    more = await town.client.post(
        "/api/v1/transfers",
        headers=town.bob.headers,
        json={"to_member_id": str(town.alice.id), "minutes": 1},
    )
    assert more.status_code == 409


# Who may do what --------------------------------------------------------------


ADMIN_OPERATIONS = [
    ("GET", "/api/v1/admin/disputes", None),
    ("GET", "/api/v1/admin/disputes/{id}", None),
    ("POST", "/api/v1/admin/disputes/{id}/resolve", {"outcome": "upheld", "note": "n"}),
]


async def test_non_admins_get_403_on_every_admin_dispute_operation(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    for who in (town.alice, town.bob, town.coordinator, town.council, town.carol):
        for method, template, body in ADMIN_OPERATIONS:
            path = template.format(id=dispute["id"])
            response = await town.client.request(method, path, headers=who.headers, json=body)
            assert response.status_code == 403, (who.email, method, path, response.text)
    for method, template, body in ADMIN_OPERATIONS:
        path = template.format(id=dispute["id"])
        response = await town.client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 60


async def test_the_queue_lists_open_disputes_oldest_first(town: Town) -> None:
    first = await disputed(town, town.alice, await completed(town, town.bob, [town.alice]))
    second = await disputed(town, town.bob, await completed(town, town.alice, [town.bob]))
    queue = await town.client.get("/api/v1/admin/disputes", headers=town.admin.headers)
    assert [item["id"] for item in queue.json()["items"]] == [first["id"], second["id"]]
    page = await town.client.get("/api/v1/admin/disputes?limit=1", headers=town.admin.headers)
    assert [item["id"] for item in page.json()["items"]] == [first["id"]]
    cursor = page.json()["next_cursor"]
    rest = await town.client.get(
        f"/api/v1/admin/disputes?limit=1&cursor={cursor}", headers=town.admin.headers
    )
    assert [item["id"] for item in rest.json()["items"]] == [second["id"]]
    await resolve(town, first, outcome="upheld")
    queue = await town.client.get("/api/v1/admin/disputes", headers=town.admin.headers)
    assert [item["id"] for item in queue.json()["items"]] == [second["id"]]
    resolved = await town.client.get(
        "/api/v1/admin/disputes?status=resolved", headers=town.admin.headers
    )
    assert [item["id"] for item in resolved.json()["items"]] == [first["id"]]


async def test_the_thread_closes_when_resolved(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    await resolve(town, dispute, outcome="upheld")
    late = await town.client.post(
        f"/api/v1/disputes/{dispute['id']}/statements",
        headers=town.bob.headers,
        json={"body": "One more thing"},
    )
    assert late.status_code == 409
    outcome = await town.client.get(f"/api/v1/disputes/{dispute['id']}", headers=town.bob.headers)
    assert outcome.json()["outcome"] == "upheld"

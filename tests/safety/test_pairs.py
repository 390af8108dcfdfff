"""Friendship pairs and their regular visits (issue 18 item 7, ADR 0040), on both engines:
an introduced pair is stored, a coordinator sets up their visits, and each visit on the
cadence is recorded once as an exchange, refused clearly when it cannot be."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ledger import Ledger
from service.pairing.tables import FriendshipPair
from tests.conftest import TestDatabase
from tests.safety.pairs_support import (
    PAIRS,
    VISIT_MINUTES,
    arrange,
    arranged_pair,
    introduce,
    last_visit_day,
    record_check,
    require_home_checks,
    suggested,
    today,
    visit,
)
from tests.safety.support import block
from tests.support.exchanges import account, audit_rows
from tests.support.pages import page_text, submit, text_of
from tests.support.pages import sign_in as sign_in_page
from tests.support.people import Town, grant, sign_in


def ledger_of(town: Town) -> Ledger:
    ledger: Ledger = town.app.state.ledger
    return ledger


async def test_an_introduced_pair_is_stored_and_offered_no_more(
    town: Town, db: TestDatabase
) -> None:
    await suggested(town)
    introduced = await introduce(town)
    assert introduced.status_code == 201, introduced.text
    pair = introduced.json()
    assert (pair["older_id"], pair["younger_id"]) == (str(town.alice.id), str(town.bob.id))
    assert pair["status"] == "active" and pair["arrangement"] is None
    rows = await FriendshipPair.select().run()
    assert [str(row["id"]) for row in rows] == [pair["id"]]
    again = await introduce(town)
    assert (again.status_code, again.json()["code"]) == (409, "already_introduced")
    listed = (await town.client.get(PAIRS, headers=town.coordinator.headers)).json()
    assert [item["id"] for item in listed["items"]] == [pair["id"]]
    [row] = await audit_rows(db, str(town.alice.id))
    assert row["action"] == "pairing.introduce"


async def test_a_visit_is_recorded_once_and_moves_the_hours_once(town: Town) -> None:
    pair_id = await arranged_pair(town)
    before_alice = (await account(town, town.alice))["balance_minutes"]
    before_bob = (await account(town, town.bob))["balance_minutes"]
    first = await visit(town, pair_id, last_visit_day())
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["minutes"] == VISIT_MINUTES
    assert (body["provider_id"], body["recipient_id"]) == (str(town.bob.id), str(town.alice.id))
    repeat = await visit(town, pair_id, last_visit_day())
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == body
    assert (await account(town, town.alice))["balance_minutes"] == before_alice - VISIT_MINUTES
    assert (await account(town, town.bob))["balance_minutes"] == before_bob + VISIT_MINUTES
    assert (await ledger_of(town).verify()).ok
    listed = (await town.client.get(PAIRS, headers=town.coordinator.headers)).json()
    [shown] = listed["items"]
    recorded = {item["visit_on"]: item["exchange_id"] for item in shown["visits"]}
    assert recorded[last_visit_day().isoformat()] == body["exchange_id"]
    assert recorded[(last_visit_day() - timedelta(days=7)).isoformat()] is None
    exchange = await town.client.get(
        f"/api/v1/exchanges/{body['exchange_id']}", headers=town.alice.headers
    )
    assert exchange.status_code == 200 and exchange.json()["status"] == "completed"


async def test_only_past_days_on_the_cadence_are_visits(town: Town) -> None:
    pair_id = await arranged_pair(town, cadence="fortnightly")
    for day in (
        last_visit_day() - timedelta(days=7),  # the week between two fortnightly visits
        last_visit_day() - timedelta(days=1),
        last_visit_day() + timedelta(days=14),  # on the cadence, but in the future
        today() - timedelta(days=400),  # before the plan began
    ):
        refused = await visit(town, pair_id, day)
        assert refused.status_code == 422, (day, refused.text)
        assert refused.json()["errors"][0]["field"] == "visit_on"
    assert (await visit(town, pair_id, last_visit_day() - timedelta(days=14))).status_code == 201


async def test_a_pair_without_regular_visits_has_nothing_to_record(town: Town) -> None:
    await suggested(town)
    pair_id = (await introduce(town)).json()["id"]
    refused = await visit(town, pair_id, last_visit_day())
    assert (refused.status_code, refused.json()["code"]) == (409, "no_arrangement")
    bad = await arrange(town, pair_id, provider_id=str(town.carol.id))
    assert bad.status_code == 422, bad.text
    assert (await arrange(town, pair_id, minutes=5)).status_code == 400


async def test_only_their_own_coordinators_reach_a_pair(town: Town) -> None:
    pair_id = await arranged_pair(town)
    member = await town.client.get(PAIRS, headers=town.alice.headers)
    assert member.status_code == 403
    as_member = await visit(town, pair_id, last_visit_day(), by=town.alice)
    assert as_member.status_code == 403
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    carol = await sign_in(town.client, town.carol.email)
    other = await town.client.post(
        f"{PAIRS}/{pair_id}/visits", headers=carol, json={"visit_on": "2026-01-01"}
    )
    assert other.status_code == 404, other.text  # out of reach is "not found" (ADR 0025)
    listed = (await town.client.get(PAIRS, headers=carol)).json()
    assert listed["items"] == []
    unknown = await visit(town, "00000000-0000-4000-8000-000000000000", last_visit_day())
    assert unknown.status_code == 404


async def test_a_block_between_them_refuses_a_visit(town: Town) -> None:
    pair_id = await arranged_pair(town)
    before = (await account(town, town.alice))["balance_minutes"]
    await block(town, town.alice, town.bob)
    refused = await visit(town, pair_id, last_visit_day())
    assert (refused.status_code, refused.json()["code"]) == (403, "blocked")
    assert (await account(town, town.alice))["balance_minutes"] == before


async def test_a_visit_at_home_needs_the_visitors_check(town: Town) -> None:
    pair_id = await arranged_pair(town, in_home=True)
    await require_home_checks()
    refused = await visit(town, pair_id, last_visit_day())
    assert (refused.status_code, refused.json()["code"]) == (409, "safeguarding_check_required")
    checked = await record_check(town, town.bob, checked_on=today() - timedelta(days=30))
    assert checked.status_code == 201, checked.text
    assert (await visit(town, pair_id, last_visit_day())).status_code == 201


async def test_visits_stop_at_the_visited_members_floor(town: Town) -> None:
    pair_id = await arranged_pair(town, minutes=480)
    refusal = None
    for week in range(20):
        response = await visit(town, pair_id, last_visit_day() - timedelta(days=7 * week))
        if response.status_code != 201:
            refusal = response
            break
    assert refusal is not None, "the floor never refused a visit"
    assert (refusal.status_code, refusal.json()["code"]) == (409, "insufficient_credit")
    assert (await ledger_of(town).verify()).ok


async def test_closing_an_account_ends_the_pair(town: Town) -> None:
    pair_id = await arranged_pair(town)
    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204, closed.text
    listed = (await town.client.get(PAIRS, headers=town.coordinator.headers)).json()
    [pair] = listed["items"]
    assert pair["status"] == "ended" and pair["arrangement"]["status"] == "ended"
    refused = await visit(town, pair_id, last_visit_day())
    assert (refused.status_code, refused.json()["code"]) == (409, "arrangement_ended")


async def test_the_pairs_page_records_a_visit_and_shows_a_refusal_on_the_form(
    town: Town,
) -> None:
    pair_id = await arranged_pair(town)
    await block(town, town.alice, town.bob)
    await sign_in_page(town, town.coordinator)
    page = "/coordinator/pairs"
    refused = await submit(
        town, page, f"{page}/{pair_id}/visits", {"visit_on": last_visit_day().isoformat()}
    )
    assert refused.status_code == 422, refused.text
    assert "One of this pair has blocked the other" in text_of(refused.text)
    off = await submit(town, page, f"{page}/{pair_id}/visits", {"visit_on": today().isoformat()})
    assert off.status_code == 422
    assert "Date of the visit: is not a visit day of this arrangement" in text_of(off.text)
    await town.client.delete(f"/api/v1/me/blocks/{town.bob.id}", headers=town.alice.headers)
    for _ in range(2):
        recorded = await submit(
            town, page, f"{page}/{pair_id}/visits", {"visit_on": last_visit_day().isoformat()}
        )
        assert recorded.status_code == 303, recorded.text
    assert "Recorded" in await page_text(town, page)
    statement = await town.client.get("/api/v1/accounts/me/statement", headers=town.bob.headers)
    assert statement.status_code == 200, statement.text
    visits = [item for item in statement.json()["items"] if "Friendship visit" in item["memo"]]
    assert [item["minutes"] for item in visits] == [VISIT_MINUTES]


async def test_two_recordings_of_one_visit_at_once_move_the_hours_once(town: Town) -> None:
    pair_id = await arranged_pair(town)
    before = (await account(town, town.bob))["balance_minutes"]
    answers = await asyncio.gather(*(visit(town, pair_id, last_visit_day()) for _ in range(3)))
    assert {answer.status_code for answer in answers} <= {200, 201}, [a.text for a in answers]
    assert len({answer.json()["exchange_id"] for answer in answers}) == 1
    assert (await account(town, town.bob))["balance_minutes"] == before + VISIT_MINUTES
    assert (await ledger_of(town).verify()).ok


async def test_the_visitor_records_their_own_visit(town: Town) -> None:
    pair_id = await arranged_pair(town)
    before = (await account(town, town.bob))["balance_minutes"]
    mine = f"/api/v1/me/pairs/{pair_id}/visits"
    body = {"visit_on": last_visit_day().isoformat()}
    by_visited = await town.client.post(mine, headers=town.alice.headers, json=body)
    assert by_visited.status_code == 404, by_visited.text  # only the visitor records
    by_visitor = await town.client.post(mine, headers=town.bob.headers, json=body)
    assert by_visitor.status_code == 201, by_visitor.text
    by_coordinator = await visit(town, pair_id, last_visit_day())
    assert by_coordinator.status_code == 200
    assert by_coordinator.json() == by_visitor.json()
    assert (await account(town, town.bob))["balance_minutes"] == before + VISIT_MINUTES
    off = await town.client.post(
        mine, headers=town.bob.headers, json={"visit_on": today().isoformat()}
    )
    assert off.status_code == 422, off.text
    listed = (await town.client.get("/api/v1/me/pairs", headers=town.alice.headers)).json()
    [pair] = listed["items"]
    assert pair["visits"][0]["exchange_id"] == by_visitor.json()["exchange_id"]
    assert (await town.client.get("/api/v1/me/pairs", headers=town.carol.headers)).json() == {
        "items": []
    }


async def test_a_members_export_holds_their_pairs(town: Town) -> None:
    pair_id = await arranged_pair(town)
    export = await town.client.get("/api/v1/me/export", headers=town.bob.headers)
    assert export.status_code == 200, export.text
    [pair] = export.json()["friendship_pairs"]
    assert (pair["id"], pair["older_name"]) == (pair_id, "Alice")
    assert pair["arrangement"]["provider_id"] == str(town.bob.id)
    carol = await town.client.get("/api/v1/me/export", headers=town.carol.headers)
    assert carol.json()["friendship_pairs"] == []


async def test_a_suspended_member_puts_the_pair_on_hold_until_reinstated(town: Town) -> None:
    """Bob is suspended pending a review: the pair stays, its visits wait (409, nothing
    moves, no button on the page); reinstated, the pair goes on as it was."""
    pair_id = await arranged_pair(town)
    before = (await account(town, town.alice))["balance_minutes"]
    path = f"/api/v1/admin/members/{town.bob.id}/suspend"
    for action, held in (("suspend", True), ("reinstate", False)):
        changed = await town.client.post(
            path, headers=town.admin.headers, json={"action": action, "reason": "A review"}
        )
        assert changed.status_code == 200, changed.text
        [pair] = (await town.client.get(PAIRS, headers=town.coordinator.headers)).json()["items"]
        assert (pair["status"], pair["on_hold"]) == ("active", held)
        if held:
            refused = await visit(town, pair_id, last_visit_day())
            assert (refused.status_code, refused.json()["code"]) == (409, "pair_on_hold")
            assert (await account(town, town.alice))["balance_minutes"] == before
            await sign_in_page(town, town.coordinator)
            text = await page_text(town, "/coordinator/pairs")
            assert "On hold: one of them is not an active member" in text
            assert "Record the visit of" not in text
    assert (await visit(town, pair_id, last_visit_day())).status_code == 201
    assert (await account(town, town.alice))["balance_minutes"] == before - VISIT_MINUTES

"""Concerns, on both engines: a member reports, the coordinators of that community see
it in their queue (nobody else does), read an attached conversation only there, close
it with an outcome (audited; the reporter gets a notice), or suspend pending review."""

from __future__ import annotations

from typing import Any

from tests.conftest import TestDatabase
from tests.safety.support import conversation, thread
from tests.support.exchanges import audit_rows, notices
from tests.support.listings import create
from tests.support.people import Person, Town, grant, sign_in


async def report(town: Town, who: Person, **body: Any) -> dict[str, Any]:
    response = await town.client.post("/api/v1/concerns", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def queue(town: Town, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await town.client.get("/api/v1/coordinator/concerns", headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_concern_about_a_message_reaches_the_coordinator_who_closes_it(
    town: Town, db: TestDatabase
) -> None:
    thread_id = await conversation(town, town.bob, town.alice, "Give me your bank card")
    concern = await report(
        town,
        town.alice,
        text="Bob asked for my bank card",
        about_member_id=str(town.bob.id),
        conversation_id=thread_id,
    )
    assert concern["status"] == "open"
    coordinator_kinds = [e["kind"] for e in (await notices(town, town.coordinator))["events"]]
    assert "concern_raised" in coordinator_kinds

    [item] = await queue(town, town.coordinator.headers)
    assert item["id"] == concern["id"]
    assert item["about_name"]
    # The attached conversation is readable on the concern, and nowhere else.
    assert [m["body"] for m in item["messages"]] == ["Give me your bank card"]
    assert (await thread(town, town.coordinator, thread_id)).status_code == 404

    # A coordinator of another community sees nothing of it.
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    carol = await sign_in(town.client, town.carol.email)
    assert await queue(town, carol) == []
    stranger = await town.client.post(
        f"/api/v1/coordinator/concerns/{concern['id']}/close",
        headers=carol,
        json={"outcome": "Nothing"},
    )
    assert stranger.status_code == 404, stranger.text
    as_member = await town.client.get("/api/v1/coordinator/concerns", headers=town.alice.headers)
    assert as_member.status_code == 403, as_member.text

    no_outcome = await town.client.post(
        f"/api/v1/coordinator/concerns/{concern['id']}/close",
        headers=town.coordinator.headers,
        json={},
    )
    assert no_outcome.status_code == 400, no_outcome.text
    closed = await town.client.post(
        f"/api/v1/coordinator/concerns/{concern['id']}/close",
        headers=town.coordinator.headers,
        json={"outcome": "We spoke to Bob and reminded him of the rules."},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    twice = await town.client.post(
        f"/api/v1/coordinator/concerns/{concern['id']}/close",
        headers=town.coordinator.headers,
        json={"outcome": "Again"},
    )
    assert twice.status_code == 409, twice.text
    assert await queue(town, town.coordinator.headers) == []
    assert [c["id"] for c in await queue(town, town.coordinator.headers, status="closed")] == [
        concern["id"]
    ]
    alice_events = (await notices(town, town.alice))["events"]
    [told] = [e for e in alice_events if e["kind"] == "concern_closed"]
    assert "We spoke to Bob" in told["text"]
    mine = (await town.client.get("/api/v1/concerns", headers=town.alice.headers)).json()
    assert mine["items"][0]["outcome"] == "We spoke to Bob and reminded him of the rules."
    actions = [row["action"] for row in await audit_rows(db, concern["id"])]
    assert actions == ["concern.raise", "concern.close"]


async def test_only_ones_own_conversation_can_be_attached(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice, "Between us")
    response = await town.client.post(
        "/api/v1/concerns",
        headers=town.coordinator.headers,
        json={"text": "Show me", "conversation_id": thread_id},
    )
    assert response.status_code == 404, response.text


async def test_a_concern_about_a_listing_and_suspension_pending_review(town: Town) -> None:
    listing = await create(town, town.bob, title="Lifts to the shops")
    concern = await report(
        town,
        town.alice,
        text="He asked for cash",
        listing_id=listing["id"],
        about_member_id=str(town.bob.id),
    )
    [item] = await queue(town, town.coordinator.headers)
    assert item["listing_title"] == "Lifts to the shops"
    suspended = await town.client.post(
        f"/api/v1/coordinator/concerns/{concern['id']}/suspend", headers=town.coordinator.headers
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["about_status"] == "suspended"
    bob_me = await town.client.get("/api/v1/me", headers=town.bob.headers)
    assert bob_me.status_code == 401, bob_me.text


async def test_a_concern_needs_words(town: Town) -> None:
    blank = await town.client.post(
        "/api/v1/concerns", headers=town.alice.headers, json={"text": "   "}
    )
    assert blank.status_code == 422, blank.text
    anonymous = await town.client.post("/api/v1/concerns", json={"text": "x"})
    assert anonymous.status_code == 401, anonymous.text

"""Blocks, on both engines: a blocked member cannot message, propose to or give hours to
the blocker (403 `blocked`); neither finds the other's listings; unblocking lifts it."""

from __future__ import annotations

import uuid

from service.blocks.selectors import hidden_member_ids
from tests.safety.support import assert_blocked, block, conversation, send, start
from tests.support.exchanges import days_ago
from tests.support.listings import create, titles
from tests.support.people import Person, Town


async def test_a_blocked_member_cannot_message_propose_or_give(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice)
    await block(town, town.alice, town.bob)

    assert_blocked(await start(town, town.bob, town.alice, "Why not answer?"))
    assert_blocked(await send(town, town.bob, thread_id, "Hello?"))
    proposal = await town.client.post(
        "/api/v1/exchanges",
        headers=town.bob.headers,
        json={
            "provider_id": str(town.bob.id),
            "recipient_id": str(town.alice.id),
            "minutes": 30,
            "service_date": days_ago(1),
            "description": "Garden",
        },
    )
    assert_blocked(proposal)
    gift = await town.client.post(
        "/api/v1/transfers",
        headers=town.bob.headers,
        json={"to_member_id": str(town.alice.id), "minutes": 5},
    )
    assert_blocked(gift)
    # Nothing was written by the refusals: still one message, no exchange, no gift.
    alice_threads = (
        await town.client.get("/api/v1/conversations", headers=town.alice.headers)
    ).json()
    assert [item["id"] for item in alice_threads["items"]] == [thread_id]
    exchanges = await town.client.get("/api/v1/exchanges", headers=town.bob.headers)
    assert exchanges.json()["items"] == []


async def test_the_blocker_cannot_reach_the_blocked_either_until_unblocking(town: Town) -> None:
    await block(town, town.alice, town.bob)
    assert_blocked(await start(town, town.alice, town.bob, "Actually..."))
    blocks = await town.client.get("/api/v1/me/blocks", headers=town.alice.headers)
    assert [item["member_id"] for item in blocks.json()["items"]] == [str(town.bob.id)]
    lifted = await town.client.delete(
        f"/api/v1/me/blocks/{town.bob.id}", headers=town.alice.headers
    )
    assert lifted.status_code == 204, lifted.text
    assert (await start(town, town.bob, town.alice, "Hello again")).status_code == 201
    again = await town.client.delete(f"/api/v1/me/blocks/{town.bob.id}", headers=town.alice.headers)
    assert again.status_code == 404, again.text


async def test_neither_finds_the_others_listings(town: Town) -> None:
    await create(town, town.alice, title="Alice walks dogs")
    await create(town, town.bob, title="Bob fixes bikes")
    assert "Alice walks dogs" in await titles(town, town.bob)
    await block(town, town.alice, town.bob)
    assert "Alice walks dogs" not in await titles(town, town.bob)
    assert "Bob fixes bikes" not in await titles(town, town.alice)
    assert "Bob fixes bikes" in await titles(town, town.coordinator)
    assert await hidden_member_ids(member_id=town.alice.id) == {town.bob.id}
    assert await hidden_member_ids(member_id=town.bob.id) == {town.alice.id}


async def test_bad_blocks_are_refused(town: Town) -> None:
    own = await town.client.post(
        "/api/v1/me/blocks", headers=town.alice.headers, json={"member_id": str(town.alice.id)}
    )
    assert own.status_code == 422, own.text
    assert own.json()["code"] == "block_self"
    nobody = await town.client.post(
        "/api/v1/me/blocks", headers=town.alice.headers, json={"member_id": str(uuid.uuid4())}
    )
    assert nobody.status_code == 404, nobody.text


async def _directory_ids(town: Town, viewer: Person) -> set[str]:
    response = await town.client.get("/api/v1/members", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _profile_status(town: Town, viewer: Person, member: Person) -> int:
    response = await town.client.get(f"/api/v1/members/{member.id}/profile", headers=viewer.headers)
    return response.status_code


async def test_neither_appears_in_the_others_directory_or_profiles(town: Town) -> None:
    assert str(town.bob.id) in await _directory_ids(town, town.alice)
    assert await _profile_status(town, town.alice, town.bob) == 200
    await block(town, town.alice, town.bob)
    assert str(town.bob.id) not in await _directory_ids(town, town.alice)
    assert str(town.alice.id) not in await _directory_ids(town, town.bob)
    assert await _profile_status(town, town.alice, town.bob) == 404
    assert await _profile_status(town, town.bob, town.alice) == 404
    # Others still see both; each still sees their own profile.
    assert {str(town.alice.id), str(town.bob.id)} <= await _directory_ids(town, town.coordinator)
    assert await _profile_status(town, town.bob, town.bob) == 200
    lifted = await town.client.delete(
        f"/api/v1/me/blocks/{town.bob.id}", headers=town.alice.headers
    )
    assert lifted.status_code == 204, lifted.text
    assert str(town.alice.id) in await _directory_ids(town, town.bob)

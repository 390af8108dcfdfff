"""Conversations, on both engines: one thread per pair and topic, participants only
(anyone else, coordinators included, gets 404 even before the body), no contact
details in the payloads, bounded bodies, a rate limit, a notice for the other."""

from __future__ import annotations

from service.limits import MESSAGE_BODY_CHARS_MAX, MESSAGES_PER_MEMBER
from tests.safety.support import conversation, send, start, thread
from tests.support.exchanges import notices, propose
from tests.support.listings import create
from tests.support.pages import page_text, sign_in
from tests.support.people import Town

CONTACT_KEYS = {"email", "phone"}


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


async def test_a_conversation_about_a_listing_is_reused_and_read_by_both(town: Town) -> None:
    listing = await create(town, town.alice, title="Tablet lessons")
    first = await start(town, town.bob, town.alice, "Is Tuesday good?", listing_id=listing["id"])
    assert first.status_code == 201, first.text
    again = await start(town, town.bob, town.alice, "Or Wednesday?", listing_id=listing["id"])
    assert again.json()["id"] == first.json()["id"]
    other_topic = await start(town, town.bob, town.alice, "Something else")
    assert other_topic.json()["id"] != first.json()["id"]

    inbox = (await town.client.get("/api/v1/conversations", headers=town.alice.headers)).json()
    assert inbox["unread_count"] == 3
    about = next(item for item in inbox["items"] if item["id"] == first.json()["id"])
    assert about["listing_id"] == listing["id"]
    assert about["other_name"]
    assert about["unread_count"] == 2

    read = await thread(town, town.alice, first.json()["id"])
    assert read.status_code == 200, read.text
    assert [item["body"] for item in read.json()["items"]] == ["Is Tuesday good?", "Or Wednesday?"]
    reply = await send(town, town.alice, first.json()["id"], "Tuesday at 10")
    assert reply.status_code == 201, reply.text
    after = (await town.client.get("/api/v1/conversations", headers=town.alice.headers)).json()
    assert after["unread_count"] == 1  # the other topic is still unread
    bobs = await thread(town, town.bob, first.json()["id"])
    assert [item["mine"] for item in bobs.json()["items"]] == [True, True, False]
    kinds = [event["kind"] for event in (await notices(town, town.bob))["events"]]
    assert "message_received" in kinds


async def test_no_contact_details_in_message_payloads(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice)
    for response in (
        await thread(town, town.alice, thread_id),
        await town.client.get("/api/v1/conversations", headers=town.alice.headers),
    ):
        assert not _keys(response.json()) & CONTACT_KEYS, response.json()
        assert "@example.org" not in response.text


async def test_only_the_two_members_read_or_write_a_conversation(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice, "Private words")
    for stranger in (town.carol, town.coordinator, town.admin):
        read = await thread(town, stranger, thread_id)
        assert read.status_code == 404, read.text
        assert read.json()["code"] == "not_found"
        written = await send(town, stranger, thread_id, "Let me in")
        assert written.status_code == 404, written.text
        # 404 before the body: a stranger never learns what is wrong with it.
        empty = await town.client.post(
            f"/api/v1/conversations/{thread_id}/messages", headers=stranger.headers, json={}
        )
        assert empty.status_code == 404, empty.text
    as_party = await town.client.post(
        f"/api/v1/conversations/{thread_id}/messages", headers=town.alice.headers, json={}
    )
    assert as_party.status_code == 400, as_party.text


async def test_members_of_other_communities_cannot_be_messaged_out_of_the_blue(
    town: Town,
) -> None:
    response = await start(town, town.alice, town.carol, "Hello from riverside")
    assert response.status_code == 404, response.text


async def test_bodies_are_bounded_and_not_empty(town: Town) -> None:
    too_long = await start(town, town.bob, town.alice, "x" * (MESSAGE_BODY_CHARS_MAX + 1))
    assert too_long.status_code == 400, too_long.text
    blank = await start(town, town.bob, town.alice, "   ")
    assert blank.status_code == 422, blank.text
    longest = await start(town, town.bob, town.alice, "x" * MESSAGE_BODY_CHARS_MAX)
    assert longest.status_code == 201, longest.text


async def test_sending_is_rate_limited(town: Town) -> None:
    messages_max, _window = MESSAGES_PER_MEMBER
    thread_id = await conversation(town, town.bob, town.alice, "Message 1")
    for number in range(2, messages_max + 1):
        sent = await send(town, town.bob, thread_id, f"Message {number}")
        assert sent.status_code == 201, sent.text
    refused = await send(town, town.bob, thread_id, "One too many")
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    new_thread = await start(town, town.bob, town.coordinator, "Elsewhere")
    assert new_thread.status_code == 429, new_thread.text
    count = len((await thread(town, town.alice, thread_id)).json()["items"])
    assert count == messages_max
    # Alice is not limited by Bob's flood.
    assert (await send(town, town.alice, thread_id, "Please stop")).status_code == 201


async def test_closure_erases_the_leavers_words(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice, "Words of Bob")
    assert (await send(town, town.alice, thread_id, "Words of Alice")).status_code == 201
    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204, closed.text
    bodies = [item["body"] for item in (await thread(town, town.alice, thread_id)).json()["items"]]
    assert bodies == ["", "Words of Alice"]


async def test_the_export_has_the_members_conversations(town: Town) -> None:
    thread_id = await conversation(town, town.bob, town.alice, "For the export")
    export = (await town.client.get("/api/v1/me/export", headers=town.alice.headers)).json()
    [item] = export["conversations"]
    assert item["id"] == thread_id
    assert [message["body"] for message in item["messages"]] == ["For the export"]
    assert "blocks" in export
    assert "concerns" in export


async def test_a_conversation_about_an_exchange_is_between_its_parties(town: Town) -> None:
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=30)
    about = await start(town, town.alice, town.bob, "Which door?", exchange_id=exchange["id"])
    assert about.status_code == 201, about.text
    outsider = await start(
        town, town.alice, town.coordinator, "About it", exchange_id=exchange["id"]
    )
    assert outsider.status_code == 422, outsider.text


async def test_the_thread_page_shows_tags_and_links_as_text(town: Town) -> None:
    await conversation(
        town, town.bob, town.alice, '<script>alert(1)</script> <a href="https://x.example/">x</a>'
    )
    inbox = (await town.client.get("/api/v1/conversations", headers=town.alice.headers)).json()
    await sign_in(town, town.alice)
    page = await town.client.get(f"/messages/{inbox['items'][0]['id']}")
    assert page.status_code == 200, page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="https://x.example/"' not in page.text


async def test_the_navigation_counts_unread_messages_across_conversations(town: Town) -> None:
    listing = await create(town, town.alice, title="Tablet lessons")
    about = await start(town, town.bob, town.alice, "Is Tuesday good?", listing_id=listing["id"])
    await start(town, town.bob, town.alice, "Or Wednesday?", listing_id=listing["id"])
    await start(town, town.bob, town.alice, "Something else")
    await sign_in(town, town.alice)
    assert "Messages (3 unread)" in await page_text(town, "/dashboard")
    # Her own messages never count, and reading one thread clears only that one.
    await send(town, town.alice, about.json()["id"], "Tuesday at 10")
    await thread(town, town.alice, about.json()["id"])
    assert "Messages (1 unread)" in await page_text(town, "/dashboard")
    await send(town, town.bob, about.json()["id"], "See you then")
    assert "Messages (2 unread)" in await page_text(town, "/dashboard")

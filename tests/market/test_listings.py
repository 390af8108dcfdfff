"""Listings through the JSON API, on both engines: publish, edit, withdraw, browse, search."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.listings import create, listing_body, search, titles
from tests.support.people import Person, Town

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def test_categories_are_public_and_in_order(town: Town) -> None:
    response = await town.client.get("/api/v1/categories")
    assert response.status_code == 200, response.text
    categories = response.json()
    assert len(categories) == 13
    assert categories[0]["slug"] == "companionship"
    assert categories[1] == {
        "id": categories[1]["id"],
        "slug": "shopping",
        "name": "Shopping and errands",
    }
    assert categories[-1]["slug"] == "other"


async def test_member_publishes_an_offer_in_their_community(town: Town) -> None:
    created = await create(
        town, town.alice, ward="Mill Lane", availability="Tuesday mornings", kind="offer"
    )
    assert created["kind"] == "offer"
    assert created["title"] == "Help with shopping"
    assert created["category"]["slug"] == "shopping"
    assert created["category"]["name"] == "Shopping and errands"
    assert created["ward"] == "Mill Lane"
    assert created["availability"] == "Tuesday mornings"
    assert created["community"] == "riverside"
    assert created["owner"] == {"id": str(town.alice.id), "display_name": "Alice"}
    assert created["status"] == "open"
    assert created["created_at"] == created["updated_at"]

    # Any signed-in member may find it, in any community; anonymous callers may not.
    # Members of its community read it all; others see titles and categories only
    # (ADR 0020, tests/access/test_listing_visibility.py).
    summary = {
        **created,
        "description": None,
        "ward": None,
        "availability": None,
        "owner": None,
        "sensitive": None,
        "detail": "summary",
    }
    for reader, expected in ((town.bob, created), (town.carol, summary), (town.pending, summary)):
        response = await town.client.get(
            f"/api/v1/listings/{created['id']}", headers=reader.headers
        )
        assert response.status_code == 200, response.text
        assert response.json() == expected
    assert_problem(
        await town.client.get(f"/api/v1/listings/{created['id']}"), 401, "not_authenticated"
    )
    assert_problem(await town.client.get("/api/v1/listings"), 401, "not_authenticated")


async def test_ward_defaults_to_the_members_own(town: Town) -> None:
    response = await town.client.patch(
        "/api/v1/me", headers=town.bob.headers, json={"ward": "Station Road"}
    )
    assert response.status_code == 200, response.text
    created = await create(town, town.bob, kind="request", title="A lift to the surgery")
    assert created["ward"] == "Station Road"
    assert created["kind"] == "request"


async def test_only_the_owner_edits_and_withdraws(town: Town) -> None:
    listing = await create(town, town.alice)
    url = f"/api/v1/listings/{listing['id']}"

    for other in (town.bob, town.carol, town.coordinator):
        assert_problem(
            await town.client.patch(url, headers=other.headers, json={"title": "Mine now"}),
            403,
            "forbidden",
        )
        assert_problem(await town.client.delete(url, headers=other.headers), 403, "forbidden")

    response = await town.client.patch(
        url,
        headers=town.alice.headers,
        json={"title": "  Piano lessons  ", "category": "learning", "kind": "offer"},
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["title"] == "Piano lessons"
    assert edited["category"]["slug"] == "learning"
    assert edited["description"] == listing["description"]
    assert edited["updated_at"] > listing["updated_at"]
    # The search index follows the edit (a trigger on SQLite, a generated column on PostgreSQL).
    assert await titles(town, town.bob, q="piano") == ["Piano lessons"]
    assert await titles(town, town.bob, q="help") == []

    response = await town.client.delete(url, headers=town.alice.headers)
    assert response.status_code == 204, response.text
    mine = await town.client.get(url, headers=town.alice.headers)
    assert mine.json()["status"] == "withdrawn"
    # Withdrawn listings leave every list and are gone for everyone but the owner.
    assert_problem(await town.client.get(url, headers=town.bob.headers), 404, "not_found")
    assert await titles(town, town.bob) == []
    assert await titles(town, town.bob, q="piano") == []
    assert_problem(
        await town.client.patch(url, headers=town.alice.headers, json={"title": "Back again"}),
        409,
        "listing_withdrawn",
    )
    assert_problem(
        await town.client.patch(url, headers=town.bob.headers, json={"title": "x"}),
        404,
        "not_found",
    )
    # Withdrawing twice changes nothing.
    response = await town.client.delete(url, headers=town.alice.headers)
    assert response.status_code == 204
    assert (await town.client.get(url, headers=town.alice.headers)).json()["status"] == "withdrawn"


async def test_pending_member_cannot_publish_but_can_browse(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/listings", headers=town.pending.headers, json=listing_body()
    )
    assert_problem(response, 403, "approval_pending")
    await create(town, town.alice)
    assert await titles(town, town.pending) == ["Help with shopping"]


async def test_search_ranks_a_title_match_above_a_description_match(town: Town) -> None:
    in_title = await create(
        town,
        town.alice,
        title="Gardening help",
        description="Weeding, mowing and pruning on weekday mornings.",
        category="gardening",
    )
    # Newer, so it would come first if rank were ignored.
    in_description = await create(
        town,
        town.bob,
        title="Weekly shopping run",
        description="I can also tidy your garden afterwards.",
    )
    await create(town, town.carol, title="Company for a walk", description="An hour's chat.")

    # A member of the listings' own community: descriptions are searched too (ADR 0020).
    reader = town.coordinator
    found = await search(town, reader, q="garden")
    assert [item["id"] for item in found["items"]] == [in_title["id"], in_description["id"]]
    assert found["next_cursor"] is None
    # Stemming and stop words agree on both engines.
    assert await titles(town, reader, q="the gardens") == [
        "Gardening help",
        "Weekly shopping run",
    ]
    assert await titles(town, reader, q="mowing garden") == ["Gardening help"]
    assert await titles(town, reader, q="the and of") == []
    assert await titles(town, reader, q="submarine") == []


async def test_filters_by_kind_category_ward_and_community(town: Town) -> None:
    await create(town, town.alice, title="Lifts to town", category="transport", ward="Mill Lane")
    await create(
        town, town.bob, kind="request", title="Need a lift", category="transport", ward="Parkside"
    )
    await create(town, town.carol, title="Garden tidy", category="gardening", ward="mill lane")

    everything = await titles(town, town.alice)
    assert everything == ["Garden tidy", "Need a lift", "Lifts to town"]  # newest first
    assert await titles(town, town.alice, kind="request") == ["Need a lift"]
    assert await titles(town, town.alice, kind="offer") == ["Garden tidy", "Lifts to town"]
    assert await titles(town, town.alice, category="transport") == ["Need a lift", "Lifts to town"]
    # Carol's ward is for her own community's eyes: it cannot be searched from outside.
    assert await titles(town, town.alice, ward="Mill Lane") == ["Lifts to town"]
    assert await titles(town, town.carol, ward="Mill Lane") == ["Garden tidy"]
    assert await titles(town, town.alice, community="hillside") == ["Garden tidy"]
    assert await titles(
        town, town.alice, community="riverside", category="transport", kind="offer"
    ) == ["Lifts to town"]
    assert await titles(town, town.alice, q="lift", kind="request") == ["Need a lift"]
    assert await titles(town, town.alice, community="oakfield") == []


async def _all_pages(town: Town, who: Person, **params: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await search(town, who, **params, **({"cursor": cursor} if cursor else {}))
        pages += 1
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("text", [None, "apple"])
async def test_cursor_paging_returns_every_listing_exactly_once(
    town: Town, text: str | None
) -> None:
    created = [
        (
            await create(
                town,
                town.alice if number % 2 else town.bob,
                title=f"Apple picking {number}",
                description="Apples " * (number + 1),
            )
        )["id"]
        for number in range(7)
    ]
    params: dict[str, Any] = {"limit": 3}
    if text:
        params["q"] = text
    ids, pages = await _all_pages(town, town.carol, **params)
    assert sorted(ids) == sorted(created)
    assert len(ids) == len(set(ids)) == 7
    assert pages == 3
    if text is None:
        assert ids == list(reversed(created))
    whole = await search(town, town.carol, **{**params, "limit": 200})
    assert [item["id"] for item in whole["items"]] == ids


HOSTILE_TEXTS = [
    '"',
    '""',
    "*",
    "garden*",
    "NEAR(",
    "NEAR(garden shopping, 2)",
    "OR",
    "garden OR",
    "AND NOT",
    "(",
    ")",
    "title:garden",
    "^garden",
    "-garden",
    "'",
    "\\",
    "%",
    "_",
    "{}",
    "garden\x00",
    "😀 ünïcödé 日本語",
    "a" * 200,
]


async def test_search_text_with_query_syntax_never_fails(town: Town) -> None:
    await create(town, town.alice, title="Garden help", category="gardening")
    # Texts that must still find it. ("-garden" excludes it on PostgreSQL, whose
    # web-search syntax is kept; on SQLite only the words count: either way, no error.)
    words = {"garden", "garden*", "garden or", "^garden", "garden\x00"}
    for text in HOSTILE_TEXTS:
        response = await town.client.get(
            "/api/v1/listings", headers=town.bob.headers, params={"q": text}
        )
        assert response.status_code == 200, (text, response.text)
        found = [item["title"] for item in response.json()["items"]]
        if text.lower() in words:
            assert found == ["Garden help"], text


async def test_bad_input_gets_a_problem_not_a_500(town: Town) -> None:
    client, headers = town.client, town.alice.headers

    async def post(body: dict[str, Any]) -> Any:
        return await client.post("/api/v1/listings", headers=headers, json=body)

    body = assert_problem(await post({**listing_body(), "price": 3}), 400, "validation_failed")
    assert body["errors"]
    assert_problem(await post(listing_body(kind="gift")), 400, "validation_failed")
    assert_problem(await post(listing_body(title="x" * 121)), 400, "validation_failed")
    assert_problem(await post(listing_body(title="")), 400, "validation_failed")
    assert_problem(await post(listing_body(title="bad\x00title")), 400, "validation_failed")
    assert_problem(await post(listing_body(description="d" * 2001)), 400, "validation_failed")
    assert_problem(await post(listing_body(availability="a" * 201)), 400, "validation_failed")
    assert_problem(await post(listing_body(category="Shopping!")), 400, "validation_failed")
    body = assert_problem(await post(listing_body(title="   ")), 422, "validation_failed")
    assert body["errors"][0]["field"] == "title"
    body = assert_problem(await post(listing_body(category="knitting")), 422, "validation_failed")
    assert body["errors"][0]["field"] == "category"
    response = await client.post(
        "/api/v1/listings",
        headers={**headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert_problem(response, 400, "malformed_body")

    async def get(params: dict[str, Any]) -> Any:
        return await client.get("/api/v1/listings", headers=headers, params=params)

    assert_problem(await get({"kind": "gift"}), 400, "validation_failed")
    assert_problem(await get({"limit": 0}), 400, "validation_failed")
    assert_problem(await get({"limit": 201}), 400, "validation_failed")
    assert_problem(await get({"limit": "many"}), 400, "validation_failed")
    assert_problem(await get({"q": "x" * 201}), 400, "validation_failed")
    assert_problem(await get({"ward": "a\x00b"}), 400, "validation_failed")
    body = assert_problem(await get({"category": "knitting"}), 422, "validation_failed")
    assert body["errors"][0] == {
        "field": "category",
        "source": "query",
        "message": "there is no category with that name",
    }
    assert_problem(await get({"community": "atlantis"}), 422, "validation_failed")
    for cursor in ("garbage", "e30", "eyJvZmZzZXQiOi0xfQ", "!!!", "x" * 201):
        response = await get({"cursor": cursor})
        assert response.status_code == 400, (cursor, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)

    # A cursor from browsing is not a cursor for a ranked search, and the other way round.
    for number in range(3):
        await create(town, town.bob, title=f"Garden job {number}")
    browse = await search(town, town.alice, limit=1)
    ranked = await search(town, town.alice, limit=1, q="garden")
    assert_problem(
        await get({"q": "garden", "cursor": browse["next_cursor"]}), 400, "invalid_cursor"
    )
    assert_problem(await get({"cursor": ranked["next_cursor"]}), 400, "invalid_cursor")

    listing = await create(town, town.alice)
    url = f"/api/v1/listings/{listing['id']}"
    assert_problem(
        await client.patch(url, headers=headers, json={"owner": "me"}), 400, "validation_failed"
    )
    assert_problem(
        await client.patch(url, headers=headers, json={"description": " "}),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.get("/api/v1/listings/not-a-uuid", headers=headers), 404, "not_found"
    )
    assert_problem(
        await client.get("/api/v1/listings/00000000-0000-4000-8000-000000000000", headers=headers),
        404,
        "not_found",
    )

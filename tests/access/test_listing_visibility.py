"""Item 4: what each member sees of a listing, through the API and the pages (ADR 0020).

One shared world per engine. A "home" community (approval required) with a
coordinator, approved members and a pending applicant; an "away" community
whose members are visitors to home's listings; and a "sharing" community that
lets visitors read descriptions not marked sensitive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.pages import csrf_token
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")

LISTINGS = "/api/v1/listings"
PERSONAL = "I live on my own and I am recovering from a hip operation."
ORDINARY = "Weeding, mowing and pruning on weekday mornings."
WITHHELD = ("description", "ward", "availability", "owner", "sensitive")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


@dataclass
class Cast:
    home: str
    sharing: str
    owner: Person  # approved, home
    neighbour: Person  # approved, home
    applicant: Person  # pending, home
    coordinator: Person  # coordinates home, lives in away
    visitor: Person  # approved, away
    sharer: Person  # approved, in the sharing community


async def community(world: World, *, approval: bool, visitors_see_descriptions: bool) -> str:
    slug = world.unique("vis-")
    response = await world.http.post(
        "/api/v1/admin/communities",
        headers=world.admin.headers,
        json={
            "name": slug.title(),
            "slug": slug,
            "area": "north",
            "requires_approval": approval,
            "visitors_see_descriptions": visitors_see_descriptions,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["visitors_see_descriptions"] is visitors_see_descriptions
    return slug


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cast(world: World) -> Cast:
    home = await community(world, approval=True, visitors_see_descriptions=False)
    away = await community(world, approval=False, visitors_see_descriptions=False)
    sharing = await community(world, approval=False, visitors_see_descriptions=True)
    coordinator = await world.member(away, stem="coord")
    await world.grant(coordinator, "coordinator", community=home)
    return Cast(
        home=home,
        sharing=sharing,
        owner=await world.member(home, stem="owner"),
        neighbour=await world.member(home, stem="neighbour"),
        applicant=await world.member(home, approve=False, stem="applicant"),
        coordinator=coordinator,
        visitor=await world.member(away, stem="visitor"),
        sharer=await world.member(sharing, stem="sharer"),
    )


async def publish(world: World, who: Person, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "request",
        "title": world.unique("Company on weekday afternoons "),
        "description": PERSONAL,
        "category": "companionship",
        "ward": "Castle",
        "availability": "Weekday afternoons",
        **fields,
    }
    response = await world.http.post(LISTINGS, headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def seen_by(world: World, who: Person, listing_id: str) -> dict[str, Any]:
    response = await world.http.get(f"{LISTINGS}/{listing_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = response.json()
    return seen


def assert_full(seen: dict[str, Any], created: dict[str, Any]) -> None:
    assert seen == created
    assert seen["detail"] == "full"


def assert_summary(seen: dict[str, Any], created: dict[str, Any]) -> None:
    assert seen["detail"] == "summary"
    for field in WITHHELD:
        assert seen[field] is None, field
    # Titles and categories (and kind, community, dates) stay.
    for field in ("id", "kind", "title", "category", "community", "status", "created_at"):
        assert seen[field] == created[field], field
    assert PERSONAL not in str(seen)


# The API -----------------------------------------------------------------------------


async def test_a_sensitive_listing_is_read_in_full_only_inside_its_community(
    world: World, cast: Cast
) -> None:
    created = await publish(world, cast.owner, sensitive=True)
    assert created["sensitive"] is True
    assert created["detail"] == "full"
    for insider in (cast.neighbour, cast.coordinator, world.admin):
        assert_full(await seen_by(world, insider, created["id"]), created)
    # A pending applicant of the same community, a visitor, and a visitor from a
    # community whose own listings are shared: titles and categories only.
    for outsider in (cast.applicant, cast.visitor, cast.sharer):
        assert_summary(await seen_by(world, outsider, created["id"]), created)


async def test_a_pending_member_sees_titles_and_categories_only(world: World, cast: Cast) -> None:
    ordinary = await publish(world, cast.owner, description=ORDINARY, sensitive=False)
    assert_summary(await seen_by(world, cast.applicant, ordinary["id"]), ordinary)
    found = await world.http.get(
        LISTINGS, headers=cast.applicant.headers, params={"community": cast.home}
    )
    assert found.status_code == 200, found.text
    items = {item["id"]: item for item in found.json()["items"]}
    assert ordinary["id"] in items
    assert all(item["detail"] == "summary" for item in items.values())
    assert all(item["description"] is None for item in items.values())


async def test_an_approved_member_of_another_community_sees_a_summary(
    world: World, cast: Cast
) -> None:
    ordinary = await publish(world, cast.owner, description=ORDINARY, sensitive=False)
    assert_summary(await seen_by(world, cast.visitor, ordinary["id"]), ordinary)
    assert_full(await seen_by(world, cast.neighbour, ordinary["id"]), ordinary)


async def test_a_community_may_share_its_ordinary_listings_with_visitors_but_never_sensitive(
    world: World, cast: Cast
) -> None:
    sharer_neighbour = await world.member(cast.sharing, stem="sharerneighbour")
    ordinary = await publish(world, sharer_neighbour, description=ORDINARY, sensitive=False)
    personal = await publish(world, sharer_neighbour, sensitive=True)
    assert_full(await seen_by(world, cast.visitor, ordinary["id"]), ordinary)
    assert_summary(await seen_by(world, cast.visitor, personal["id"]), personal)


async def test_searching_cannot_read_a_withheld_description_or_ward(
    world: World, cast: Cast
) -> None:
    word = world.unique("zanzibarish")
    listing = await publish(
        world,
        cast.owner,
        title=world.unique("Shopping together "),
        description=f"Lives near the {word} allotments.",
        ward=world.unique("Wardname"),
        sensitive=False,
    )

    async def found(who: Person, **params: str) -> list[str]:
        response = await world.http.get(LISTINGS, headers=who.headers, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listing["id"] in await found(cast.neighbour, q=word)
    assert listing["id"] not in await found(cast.visitor, q=word)
    assert listing["id"] not in await found(cast.applicant, q=word)
    # The title can be searched by anyone: it is what they may see.
    assert listing["id"] in await found(cast.visitor, q=listing["title"])
    assert listing["id"] in await found(cast.neighbour, ward=listing["ward"])
    assert listing["id"] not in await found(cast.visitor, ward=listing["ward"])


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("description", "Come round to 12 Rose Street any morning."),
        ("description", "I am at 4a Mill Lane, by the church."),
        ("title", "Garden help near M14 5RT"),
        ("description", "Postcode sw1a1aa if you need it."),
        ("availability", "Mornings at 221B Baker St"),
        ("ward", "EH1 1YZ"),
    ],
)
async def test_a_listing_never_shows_an_exact_address(
    world: World, cast: Cast, field: str, text: str
) -> None:
    body = {
        "kind": "offer",
        "title": "Garden help",
        "description": ORDINARY,
        "category": "gardening",
        field: text,
    }
    refused = await world.http.post(LISTINGS, headers=cast.owner.headers, json=body)
    problem = assert_problem(refused, 422, "validation_failed")
    assert problem["errors"][0]["field"] == field
    assert "postcode or a house number and street" in problem["errors"][0]["message"]
    # Changing a listing is held to the same rule.
    listing = await publish(world, cast.owner, description=ORDINARY)
    patched = await world.http.patch(
        f"{LISTINGS}/{listing['id']}", headers=cast.owner.headers, json={field: text}
    )
    assert_problem(patched, 422, "validation_failed")
    assert (await seen_by(world, cast.owner, listing["id"]))[field] == listing[field]


async def test_areas_numbers_and_districts_are_not_addresses(world: World, cast: Cast) -> None:
    listing = await publish(
        world,
        cast.owner,
        title="2 hours in the park on Sundays",
        description="Near the M14 shops, 3 streets from Mill Lane; 10 minutes by bus.",
        ward="Castle",
    )
    assert listing["description"].startswith("Near the M14 shops")


# The pages ---------------------------------------------------------------------------


async def test_the_pages_show_the_same_rule_and_the_form_has_the_checkbox(
    world: World, cast: Cast
) -> None:
    personal = await publish(world, cast.owner, sensitive=True)
    pages: dict[str, str] = {}
    for label, who in (("visitor", cast.visitor), ("neighbour", cast.neighbour)):
        async with world.client_at(f"198.51.100.{len(pages) + 1}") as client:
            token = await csrf_token(client)
            signed_in = await client.post(
                "/sign-in",
                data={"_csrf_token": token, "email": who.email, "password": PASSWORD},
            )
            assert signed_in.status_code == 303, signed_in.text
            detail = await client.get(f"/listings/{personal['id']}")
            browse = await client.get("/listings", params={"q": personal["title"]})
            assert detail.status_code == browse.status_code == 200
            pages[label] = detail.text + browse.text
            # Answering the listing needs its owner: not for a summary.
            propose = await client.get("/exchanges/new", params={"listing": personal["id"]})
            assert propose.status_code == (403 if label == "visitor" else 200), propose.text
            if label == "neighbour":
                form = await client.get("/listings/new")
                assert 'name="sensitive"' in form.text
                assert "This says something personal about me" in form.text
                token = await csrf_token(client, "/listings/new")
                published = await client.post(
                    "/listings/new",
                    data={
                        "_csrf_token": token,
                        "kind": "offer",
                        "title": "Tea and a chat",
                        "description": "Since my wife died I have time on my hands.",
                        "category": "companionship",
                        "sensitive": "yes",
                    },
                )
                assert published.status_code == 303, published.text
                token = await csrf_token(client, "/listings/new")
                refused = await client.post(
                    "/listings/new",
                    data={
                        "_csrf_token": token,
                        "kind": "offer",
                        "title": "Tea and a chat",
                        "description": "Knock at 7 Orchard Close.",
                        "category": "companionship",
                    },
                )
                assert refused.status_code == 422
                assert "postcode or a house number and street" in refused.text
    assert "recovering from a hip operation" in pages["neighbour"]
    assert "recovering from a hip operation" not in pages["visitor"]
    assert "Only approved members of" in pages["visitor"]
    assert cast.owner.email.split("@")[0].title() not in pages["visitor"]  # the owner's name
    mine = await world.http.get(
        LISTINGS, headers=cast.neighbour.headers, params={"q": "Tea and a chat"}
    )
    published_items = [
        i for i in mine.json()["items"] if i["owner"]["id"] == str(cast.neighbour.id)
    ]
    assert published_items and published_items[0]["sensitive"] is True

"""The listings' HTML pages through HTTP, on both engines: sign-in, forms, owners, search."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support.people import PASSWORD, Town

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(town: Town, page: str = "/sign-in", **kwargs: Any) -> str:
    response = await town.client.get(page, **kwargs)
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF field on {page}"
    return match.group(1)


async def post_form(town: Town, path: str, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
    token = await csrf_token(town)
    return await town.client.post(
        path, data={"_csrf_token": token, **fields}, follow_redirects=False, **kwargs
    )


async def sign_in_alice(town: Town) -> None:
    response = await post_form(
        town, "/sign-in", {"email": town.alice.email, "password": PASSWORD, "next": ""}
    )
    assert response.status_code == 303, response.text


def listing_fields(**fields: str) -> dict[str, str]:
    return {
        "kind": "offer",
        "title": "Lifts to the surgery",
        "description": "I drive to the Mill Lane surgery most weekdays.",
        "category": "transport",
        "ward": "Mill Lane",
        "availability": "Weekday mornings",
        **fields,
    }


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_listing_pages_send_anonymous_visitors_to_sign_in(town: Town) -> None:
    listing = await town.client.post(
        "/api/v1/listings",
        headers=town.alice.headers,
        json={"kind": "offer", "title": "Tea", "description": "A chat.", "category": "other"},
    )
    for path, back in (
        ("/listings?q=tea", "%2Flistings%3Fq%3Dtea"),
        ("/listings/new", "%2Flistings%2Fnew"),
        (f"/listings/{listing.json()['id']}", f"%2Flistings%2F{listing.json()['id']}"),
    ):
        response = await town.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/sign-in?next={back}"


async def test_member_publishes_edits_and_withdraws_through_the_forms(town: Town) -> None:
    await sign_in_alice(town)

    # Mistakes are shown next to their fields, with what was typed kept.
    response = await post_form(
        town, "/listings/new", listing_fields(title="   ", category="", ward="Mill Lane")
    )
    assert response.status_code == 422
    assert response.text.count('class="error-message"') == 2
    assert 'id="title-error"' in response.text
    assert 'id="category-error"' in response.text
    assert 'value="Mill Lane"' in response.text
    assert "I drive to the Mill Lane surgery most weekdays." in response.text
    assert "<title>Error: " in response.text

    response = await post_form(town, "/listings/new", listing_fields())
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(r"/listings/([0-9a-f-]{36})\?done=created", location)
    assert match, location
    listing_id = match.group(1)

    detail = text_of((await town.client.get(location)).text)
    assert "Your listing is published." in detail
    assert "Lifts to the surgery" in detail
    assert "Transport and lifts" in detail
    assert "Change this listing" in detail
    assert "Ask for this" not in detail  # nobody asks themselves

    found = text_of((await town.client.get("/listings", params={"q": "surgery"})).text)
    assert "Lifts to the surgery" in found
    found = text_of((await town.client.get("/listings", params={"kind": "request"})).text)
    assert "Lifts to the surgery" not in found

    edit_page = (await town.client.get(f"/listings/{listing_id}/edit")).text
    assert 'value="Lifts to the surgery"' in edit_page
    response = await post_form(
        town, f"/listings/{listing_id}/edit", listing_fields(title="Lifts to the hospital")
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/listings/{listing_id}?done=saved"
    api = await town.client.get(f"/api/v1/listings/{listing_id}", headers=town.bob.headers)
    assert api.json()["title"] == "Lifts to the hospital"

    response = await post_form(town, f"/listings/{listing_id}/withdraw", {})
    assert response.status_code == 422  # the box is not ticked: nothing is withdrawn
    assert "Tick the box to confirm that you want to withdraw it" in text_of(response.text)
    response = await post_form(town, f"/listings/{listing_id}/withdraw", {"confirm": "yes"})
    assert response.status_code == 303
    detail = text_of((await town.client.get(f"/listings/{listing_id}?done=withdrawn")).text)
    assert "Your listing has been withdrawn." in detail
    assert "Change this listing" not in detail
    api = await town.client.get(f"/api/v1/listings/{listing_id}", headers=town.bob.headers)
    assert api.status_code == 404


async def test_forms_without_the_csrf_token_are_refused(town: Town) -> None:
    await sign_in_alice(town)
    response = await town.client.post(
        "/listings/new", data=listing_fields(), follow_redirects=False
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    listings = await town.client.get("/api/v1/listings", headers=town.bob.headers)
    assert listings.json()["items"] == []


async def test_other_members_see_an_exchange_link_but_cannot_change_it(town: Town) -> None:
    created = await town.client.post(
        "/api/v1/listings",
        headers=town.alice.headers,
        json={
            "kind": "request",
            "title": "Help with a form",
            "description": "Blue badge.",
            "category": "admin",
        },
    )
    listing_id = created.json()["id"]
    detail = await town.client.get(f"/listings/{listing_id}", headers=town.bob.headers)
    assert detail.status_code == 200
    assert f'href="/exchanges/new?listing={listing_id}"' in detail.text
    assert "Offer this" in detail.text
    assert "Change this listing" not in detail.text

    edit = await town.client.get(f"/listings/{listing_id}/edit", headers=town.bob.headers)
    assert edit.status_code == 403
    assert edit.headers["content-type"].startswith("text/html")
    for path in (f"/listings/{listing_id}/edit", f"/listings/{listing_id}/withdraw"):
        response = await post_form(
            town, path, listing_fields(title="Mine now"), headers=town.bob.headers
        )
        assert response.status_code == 403, path
    api = await town.client.get(f"/api/v1/listings/{listing_id}", headers=town.alice.headers)
    assert api.json()["title"] == "Help with a form"
    assert api.json()["status"] == "open"

    missing = await town.client.get(
        "/listings/00000000-0000-4000-8000-000000000000", headers=town.bob.headers
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


async def test_pending_member_is_told_to_wait_instead_of_given_the_form(town: Town) -> None:
    page = await town.client.get("/listings/new", headers=town.pending.headers)
    assert page.status_code == 200
    assert "waiting for approval" in page.text
    assert 'name="title"' not in page.text
    response = await post_form(
        town, "/listings/new", listing_fields(), headers=town.pending.headers
    )
    assert response.status_code == 403
    assert "approved" in text_of(response.text)

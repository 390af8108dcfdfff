"""A member's birth year: left out means unchanged, null (or a blank field) removes it."""

from __future__ import annotations

import re

from tests.support.pages import page_sign_in, post_form, tag_of
from tests.support.people import Town


async def _birth_year(town: Town) -> object:
    response = await town.client.get("/api/v1/me", headers=town.alice.headers)
    assert response.status_code == 200, response.text
    return response.json()["birth_year"]


async def _patch(town: Town, body: dict[str, object]) -> dict[str, object]:
    response = await town.client.patch("/api/v1/me", headers=town.alice.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


async def test_left_out_keeps_the_year_and_null_removes_it(town: Town) -> None:
    assert (await _patch(town, {"birth_year": 1958}))["birth_year"] == 1958
    kept = await _patch(town, {"ward": "Quayside"})
    assert (kept["ward"], kept["birth_year"]) == ("Quayside", 1958)
    # The other fields still read null as "unchanged", as before.
    kept = await _patch(town, {"display_name": None, "ward": None, "skills": None})
    assert (kept["display_name"], kept["ward"], kept["birth_year"]) == ("Alice", "Quayside", 1958)

    cleared = await _patch(town, {"birth_year": None})
    assert cleared["birth_year"] is None
    assert cleared["ward"] == "Quayside"
    assert await _birth_year(town) is None


async def test_a_future_year_is_refused_and_nothing_changes(town: Town) -> None:
    await _patch(town, {"birth_year": 1970})
    response = await town.client.patch(
        "/api/v1/me", headers=town.alice.headers, json={"birth_year": 2099, "ward": "Elsewhere"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "birth_year"
    me = await town.client.get("/api/v1/me", headers=town.alice.headers)
    assert (me.json()["birth_year"], me.json()["ward"]) == (1970, "")


async def test_a_year_of_the_wrong_type_is_a_400_problem(town: Town) -> None:
    response = await town.client.patch(
        "/api/v1/me", headers=town.alice.headers, json={"birth_year": "1970"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"


async def test_blanking_the_field_on_the_profile_page_removes_the_year(town: Town) -> None:
    await _patch(town, {"birth_year": 1949})
    client = town.client
    await page_sign_in(client, town.alice.email)
    page = await client.get("/profile")
    assert 'value="1949"' in tag_of(page.text, "birth_year")
    assert "Leave it blank to remove it." in page.text

    saved = await post_form(
        client,
        "/profile",
        {"display_name": "Alice", "ward": "", "skills": "", "birth_year": "  "},
    )
    assert saved.status_code == 303, saved.text
    assert await _birth_year(town) is None
    shown = await client.get(saved.headers["location"])
    assert not re.search(r'\bvalue="[^"]+"', tag_of(shown.text, "birth_year"))

"""Hostile text (issue 13 item 4, the service's half), on both engines: NUL, other control
characters and lone surrogates are refused with the field named, and a body that is not
UTF-8 is 400 `malformed_body`; never a 500, nothing written."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.people import PASSWORD, Person, Town

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
FORM_TOKEN_INPUT = re.compile(r'name="form_token" value="([^"]+)"')
# Control characters are refused field by field; msgspec will not even decode a lone
# surrogate escape, so that body is refused as a whole (still a 400, nothing written).
HOSTILE = [
    ("a\u0000b", "validation_failed"),
    ("bell\u0007", "validation_failed"),
    ("escape\u001b[2J", "validation_failed"),
    ("lone \ud800 surrogate", "malformed_body"),
]


async def _balance(town: Town, who: Person) -> int:
    response = await town.client.get("/api/v1/accounts/me", headers=who.headers)
    return int(response.json()["balance_minutes"])


def _json(value: object) -> bytes:
    # json.dumps writes a lone surrogate as the escape \ud800, as a hostile client would.
    return json.dumps(value).encode()


@pytest.mark.parametrize(("memo", "code"), HOSTILE)
async def test_a_gift_memo_with_control_characters_is_refused(
    town: Town, memo: str, code: str
) -> None:
    body = {"to_member_id": str(town.bob.id), "minutes": 5, "memo": memo}
    response = await town.client.post(
        "/api/v1/transfers",
        headers={**town.alice.headers, "Content-Type": "application/json"},
        content=_json(body),
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == code
    if code == "validation_failed":
        assert problem["errors"][0]["field"] == "memo"
    assert await _balance(town, town.bob) == 120


async def test_a_listing_title_with_nul_is_refused(town: Town) -> None:
    categories = await town.client.get("/api/v1/categories", headers=town.alice.headers)
    category = categories.json()[0]["slug"] if isinstance(categories.json(), list) else None
    body = {
        "kind": "offer",
        "title": "Gardening\u0000",
        "description": "Weeding and mowing",
        "category": category or "gardening",
    }
    response = await town.client.post(
        "/api/v1/listings",
        headers={**town.alice.headers, "Content-Type": "application/json"},
        content=_json(body),
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "title"


async def test_a_body_that_is_not_utf8_is_malformed(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/transfers",
        headers={**town.alice.headers, "Content-Type": "application/json"},
        content=b'{"to_member_id": "x", "minutes": 5, "memo": "\xff\xfe"}',
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "malformed_body"


async def test_a_gift_form_with_a_nul_in_the_message_is_shown_again(town: Town) -> None:
    shown = await town.client.get("/sign-in")
    csrf = CSRF_INPUT.search(shown.text)
    assert csrf
    signed_in = await town.client.post(
        "/sign-in",
        data={"_csrf_token": csrf.group(1), "email": town.alice.email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = await town.client.get("/give")
    csrf, once = CSRF_INPUT.search(page.text), FORM_TOKEN_INPUT.search(page.text)
    assert csrf and once
    fields = {
        "_csrf_token": csrf.group(1),
        "form_token": once.group(1),
        "to": "member",
        "member": str(town.bob.id),
        "hours": "0",
        "minutes": "10",
        "memo": "thanks\u0000",
    }
    response = await town.client.post("/give", data=fields, follow_redirects=False)
    assert response.status_code == 422, response.text
    assert "Remove the control characters" in response.text
    assert await _balance(town, town.bob) == 120

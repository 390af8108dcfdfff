"""The donate pages as a browser uses them: forms with their CSRF token, page text."""

from __future__ import annotations

import html
import re

import httpx

from tests.support.people import PASSWORD, Person

DONATE_FIELDS = {
    "community": "riverside",
    "amount": "12.50",
    "frequency": "monthly",
    "gift_aid": "yes",
    "full_name": "Nell Newcomer",
    "home_address": "12 Mill Lane, Riverside",
    "postcode": "RV1 2AB",
}


CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def submit(
    client: httpx.AsyncClient, page: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    """Post a form as a browser does, with the CSRF token of the page that shows it."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    match = CSRF_INPUT.search(shown.text)
    assert match, f"no CSRF field on {page}"
    return await client.post(action, data={"_csrf_token": match.group(1), **fields})


async def sign_in(client: httpx.AsyncClient, who: Person) -> None:
    response = await submit(
        client, "/sign-in", "/sign-in", {"email": who.email, "password": PASSWORD, "next": ""}
    )
    assert response.status_code == 303, response.text

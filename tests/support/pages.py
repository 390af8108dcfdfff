"""HTML pages through HTTP: forms posted with the CSRF token a browser would have."""

from __future__ import annotations

import html
import re

import httpx

from tests.support.people import PASSWORD, Person, Town

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
FORM_TOKEN_INPUT = re.compile(r'name="form_token" value="([^"]+)"')


def text_of(page: str) -> str:
    """The page's words, tags dropped and white space collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def tag_of(page: str, element_id: str) -> str:
    """The opening tag of the form control with this id."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no control with id {element_id!r}"
    return match.group(0)


async def csrf_token(client: httpx.AsyncClient, page: str = "/sign-in") -> str:
    """The form token a browser would get from a page (and its tb_csrf cookie)."""
    response = await client.get(page)
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF field on {page}"
    return match.group(1)


async def post_form(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form with the token from the sign-in page."""
    token = await csrf_token(client)
    return await client.post(path, data={"_csrf_token": token, **fields}, follow_redirects=False)


async def page_sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, next_path: str = ""
) -> httpx.Response:
    """Sign in through the /sign-in form: the client's cookie jar then holds a session."""
    response = await post_form(
        client, "/sign-in", {"email": email, "password": password, "next": next_path}
    )
    assert response.status_code == 303, response.text
    return response


async def token_from(town: Town, page: str) -> str:
    """The form token of a page that must show (status 200)."""
    response = await town.client.get(page)
    assert response.status_code == 200, response.text
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF field on {page}"
    return match.group(1)


async def submit(town: Town, page: str, action: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form the way a browser does: the tokens from the page that shows the form
    (the CSRF token, and the one-time form token where the form moves hours)."""
    shown = await town.client.get(page)
    assert shown.status_code == 200, shown.text
    csrf = CSRF_INPUT.search(shown.text)
    assert csrf, f"no CSRF field on {page}"
    tokens = {"_csrf_token": csrf.group(1)}
    once = FORM_TOKEN_INPUT.search(shown.text)
    if once:
        tokens["form_token"] = once.group(1)
    return await town.client.post(action, data={**tokens, **fields}, follow_redirects=False)


async def sign_in(town: Town, who: Person) -> None:
    """Sign `who` in on the town's client through the /sign-in form."""
    await page_sign_in(town.client, who.email)


async def page_text(town: Town, path: str) -> str:
    response = await town.client.get(path)
    assert response.status_code == 200, response.text
    return text_of(response.text)

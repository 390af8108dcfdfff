"""Which language a page is in, on both engines: the member's stored choice, else the
`lang` cookie, else Accept-Language, else English (ADR 0048); and the chooser."""

from __future__ import annotations

import re

import httpx

from service.i18n import accepted_languages, negotiate
from tests.support.pages import page_sign_in, post_form
from tests.support.people import Town

Client = httpx.AsyncClient
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


def lang_of(response: httpx.Response) -> str:
    match = HTML_LANG.search(response.text)
    assert match, response.text[:200]
    return match.group(1)


async def page_lang(
    client: Client, path: str, *, cookies: dict[str, str] | None, accept: str | None
) -> str:
    """The page's `lang`; `cookies` (if given) are exactly the cookies sent, not the jar's."""
    headers = {"accept-language": accept} if accept is not None else {}
    if cookies is not None:
        headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    response = await client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == 200, response.text
    return lang_of(response)


def session_token(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("tb_session="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(response.headers)


def test_accept_language_is_read_by_quality_then_order() -> None:
    assert accepted_languages("en;q=0.5, cy-GB, fr;q=0, *") == ["cy-gb", "en"]
    assert accepted_languages("da, en-gb;q=0.8, en;q=0.7") == ["da", "en-gb", "en"]
    assert accepted_languages("") == []
    assert accepted_languages("cy;q=nonsense") == []


def test_the_order_is_member_then_cookie_then_header_then_english() -> None:
    assert negotiate(member_choice="en", cookie="cy", accept_language="cy") == "en"
    assert negotiate(member_choice=None, cookie="cy", accept_language="en") == "cy"
    assert negotiate(member_choice=None, cookie="xx", accept_language="fr, cy-GB;q=0.5") == "cy"
    assert negotiate(member_choice=None, cookie=None, accept_language="fr, de") == "en"
    assert negotiate(member_choice=None, cookie=None, accept_language=None) == "en"


async def test_an_anonymous_page_follows_the_cookie_then_the_header(town: Town) -> None:
    client = town.client
    assert await page_lang(client, "/", cookies={}, accept=None) == "en-GB"
    assert await page_lang(client, "/", cookies={}, accept="cy-GB,cy;q=0.9,en;q=0.5") == "cy"
    assert await page_lang(client, "/", cookies={"lang": "en"}, accept="cy") == "en-GB"
    assert await page_lang(client, "/", cookies={"lang": "cy"}, accept="en-GB") == "cy"
    assert await page_lang(client, "/", cookies={"lang": "klingon"}, accept="fr") == "en-GB"


async def test_a_members_stored_choice_wins_over_cookie_and_header(town: Town) -> None:
    client = town.client
    response = await client.patch("/api/v1/me", headers=town.alice.headers, json={"language": "cy"})
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "cy"
    signed_in = await page_sign_in(client, town.alice.email)
    assert "lang=cy" in signed_in.headers["set-cookie"]  # this browser follows her choice
    session = {"tb_session": session_token(signed_in), "lang": "en"}
    assert await page_lang(client, "/dashboard", cookies=session, accept="en-GB") == "cy"
    # Through the API too: the bearer token's member reads problem details in Welsh.
    refused = await client.get(
        "/api/v1/admin/members", headers={**town.alice.headers, "accept-language": "en"}
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["detail"] == "Mae hyn ar gyfer gweinyddwyr."
    # An unknown language is refused with the field named.
    bad = await client.patch("/api/v1/me", headers=town.alice.headers, json={"language": "fr"})
    assert bad.status_code in {400, 422}, bad.text


async def test_the_chooser_sets_the_cookie_and_stores_a_members_choice(town: Town) -> None:
    client = town.client
    response = await post_form(client, "/language", {"lang": "cy", "next": "/how-it-works"})
    assert response.status_code == 303
    assert response.headers["location"] == "/how-it-works"
    assert "lang=cy" in response.headers["set-cookie"]
    # A signed-in member's choice is stored, so their other devices and mail follow it.
    signed_in = await page_sign_in(client, town.bob.email)
    chose = await post_form(client, "/language", {"lang": "cy", "next": "//evil.example"})
    assert chose.headers["location"] == "/dashboard"  # only a local page to go back to
    me = await client.get("/api/v1/me", headers=town.bob.headers)
    assert me.json()["language"] == "cy"
    session = {"tb_session": session_token(signed_in)}
    assert await page_lang(client, "/dashboard", cookies=session, accept="en") == "cy"
    # Back to English; an unknown language is English.
    await post_form(client, "/language", {"lang": "fr", "next": "/"})
    me = await client.get("/api/v1/me", headers=town.bob.headers)
    assert me.json()["language"] == "en"


async def test_a_problem_is_in_the_callers_language_but_its_code_is_not(town: Town) -> None:
    english = await town.client.get("/api/v1/me", headers={"accept-language": "en"})
    welsh = await town.client.get("/api/v1/me", headers={"accept-language": "cy"})
    assert english.status_code == welsh.status_code == 401
    assert english.json()["code"] == welsh.json()["code"] == "not_authenticated"
    assert english.json()["detail"] == "Please sign in first."
    assert welsh.json()["detail"] == "Mewngofnodwch yn gyntaf, os gwelwch yn dda."
    assert welsh.json()["title"] != english.json()["title"]


async def test_registering_stores_the_language_in_use(town: Town) -> None:
    client = town.client
    body = {
        "email": "gwen@example.org",
        "password": "a long enough password",
        "display_name": "Gwen",
        "community": "riverside",
    }
    response = await client.post(
        "/api/v1/auth/register", json=body, headers={"accept-language": "cy"}
    )
    assert response.status_code == 201, response.text
    token = await client.post(
        "/api/v1/auth/token", json={"email": body["email"], "password": body["password"]}
    )
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['token']}"}
    )
    assert me.json()["language"] == "cy"

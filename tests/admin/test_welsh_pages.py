"""The staff and member pages of issue 20 item 3 in Welsh: once a member has chosen
Cymraeg with the chooser, the admin console, the audit log, the ledger, the council
reports, the desk, messages and the neighbours' directory show their Welsh words and not
the English ones, on both engines.
"""

from __future__ import annotations

import httpx

from service.i18n import LANGUAGE_COOKIE
from tests.admin.support import page_session
from tests.support.pages import post_form
from tests.support.people import PASSWORD, Town

# path -> (Welsh the page must show, English it must not show)
ADMIN_PAGES = {
    "/admin": (
        ("Consol gweinyddu", "Cymunedau ac ardaloedd"),
        ("Admin console", "Communities and areas"),
    ),
    "/admin/members": (("Pob aelod, yn ôl enw", "Ymunodd"), ("Every member, by name", "Joined")),
    "/admin/audit": (
        ("Clirio'r hidlwyr", "Pwy wnaeth (cyfeiriad e-bost)"),
        ("Clear the filters", "Who did it (email address)"),
    ),
    "/admin/ledger": (("Mantolen brawf", "Rhedeg y gwiriad"), ("Trial balance", "Run the check")),
    "/reports": (
        ("Adroddiadau'r cyngor", "Dewiswch y cyfnod a'r cymunedau", "Prif ffigurau"),
        ("Council reports", "Choose the period and communities", "Headline figures"),
    ),
    "/reports/impact": (
        ("Adroddiad effaith", "Dewiswch y cyfnod a'r cymunedau", "Llesiant dros amser"),
        ("Impact report", "Choose the period and communities", "Wellbeing over time"),
    ),
}
MEMBER_PAGES = {
    "/members": (
        ("Dod o hyd i gymydog", "Pawb, yn ôl enw"),
        ("Find a neighbour", "Everyone, by name"),
    ),
    "/messages": (("Aelodau wedi'u rhwystro",), ("Blocked members",)),
    "/settings/blocked": (
        ("Dydych chi ddim wedi rhwystro neb.",),
        ("You have not blocked anyone.",),
    ),
    "/concerns": (
        ("Pryderon rydych chi wedi rhoi gwybod amdanyn nhw",),
        ("Concerns you have reported",),
    ),
}
COORDINATOR_PAGES = {
    "/coordinator/members": (
        ("Yn aros am gymeradwyaeth", "Dod o hyd i aelod"),
        ("Waiting for approval", "Find a member"),
    ),
}


async def _shows_welsh(
    client: httpx.AsyncClient, pages: dict[str, tuple[tuple[str, ...], ...]]
) -> None:
    for path, (welsh, english) in pages.items():
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        for words in welsh:
            assert words in response.text, (path, words)
        for words in english:
            assert words not in response.text, (path, words)


async def _sign_in_in_welsh(client: httpx.AsyncClient, email: str) -> None:
    """Sign in, then choose Cymraeg with the chooser: the member's choice is stored."""
    await page_session(client, email, PASSWORD)
    chosen = await post_form(client, "/language", {"lang": "cy", "next": "/dashboard"})
    assert chosen.status_code == 303, chosen.text


async def test_the_admin_reports_desk_and_member_pages_speak_welsh(town: Town) -> None:
    try:
        await _sign_in_in_welsh(town.client, "admin@example.org")
        await _shows_welsh(town.client, ADMIN_PAGES)
        await _sign_in_in_welsh(town.client, town.coordinator.email)
        await _shows_welsh(town.client, COORDINATOR_PAGES)
        await _sign_in_in_welsh(town.client, town.alice.email)
        await _shows_welsh(town.client, MEMBER_PAGES)
    finally:
        town.client.cookies.delete(LANGUAGE_COOKIE)


async def test_without_the_cookie_the_same_pages_stay_english(town: Town) -> None:
    await page_session(town.client, "admin@example.org", PASSWORD)
    for path, (welsh, english) in ADMIN_PAGES.items():
        response = await town.client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        for words in english:
            assert words in response.text, (path, words)
        for words in welsh:
            assert words not in response.text, (path, words)

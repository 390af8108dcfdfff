"""Item 4 in a real browser: the "personal" checkbox by keyboard, and a visitor's summary.

Set up as an operator would: `timebank create-admin` (which makes the "home"
time bank), a second time bank through the admin API, members registered
through the JSON API. axe-core runs on the form and on both views of the listing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.browser import assert_no_axe_violations
from tests.support.server import LiveServer

PASSWORD = "a long browser password"
OWNER = "olive@example.org"
VISITOR = "victor@example.org"
PERSONAL = "Since my hip operation I cannot carry shopping home."


async def _json(
    http: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await http.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
async def people(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", "admin@example.org", "--name", "Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        token = await _json(
            http, "/api/v1/auth/token", {"email": "admin@example.org", "password": PASSWORD}
        )
        admin = {"Authorization": f"Bearer {token['token']}"}
        await _json(http, "/api/v1/admin/areas", {"name": "Away", "slug": "away"}, headers=admin)
        await _json(
            http,
            "/api/v1/admin/communities",
            {"name": "Elsewhere", "slug": "elsewhere", "area": "away"},
            headers=admin,
        )
        for email, name, community in (
            (OWNER, "Olive Owner", "home"),
            (VISITOR, "Victor Visitor", "elsewhere"),
        ):
            member = await _json(
                http,
                "/api/v1/auth/register",
                {
                    "email": email,
                    "password": PASSWORD,
                    "display_name": name,
                    "community": community,
                },
            )
            if member["status"] == "pending":
                await _json(
                    http, f"/api/v1/coordinator/members/{member['id']}/approve", {}, headers=admin
                )


async def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")


@pytest.mark.usefixtures("people")
async def test_a_personal_listing_is_marked_by_keyboard_and_withheld_from_visitors(
    live_server: LiveServer, page: Page
) -> None:
    await sign_in(page, live_server, OWNER)
    await page.goto(live_server.base_url + "/listings/new")
    await page.get_by_label("I would like some help").check()
    await page.get_by_label("Title").fill("Help carrying shopping")
    await page.get_by_label("Description").fill(PERSONAL)
    await page.get_by_label("Category").select_option(label="Shopping and errands")
    personal = page.get_by_label("This says something personal about me")
    await personal.focus()
    await page.keyboard.press("Space")
    await expect(personal).to_be_checked()
    await assert_no_axe_violations(page)
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_url("**/listings/*?done=created")
    listing_url = page.url.split("?", 1)[0]
    await expect(page.get_by_text(PERSONAL)).to_be_visible()
    await expect(page.get_by_text("You marked this as personal")).to_be_visible()
    await assert_no_axe_violations(page)

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, live_server, VISITOR)
    await page.goto(listing_url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help carrying shopping")
    await expect(page.get_by_text("Only approved members of home")).to_be_visible()
    await expect(page.get_by_text(PERSONAL)).to_have_count(0)
    await expect(page.get_by_text("Olive Owner")).to_have_count(0)
    await assert_no_axe_violations(page)

"""Listings in a real browser: publish an offer through the form, then find it by searching.

Data is set up the way an operator would: `timebank create-admin` (which also
makes the "home" time bank), a member registered through the live server's JSON
API, then the sign-in page. axe-core runs on the browse, new-listing (also with
errors showing) and detail pages.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer

PASSWORD = "a long browser password"
MEMBER_EMAIL = "maggie@example.org"


@pytest.fixture
async def member(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", "admin@example.org", "--name", "Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={
                "email": MEMBER_EMAIL,
                "password": PASSWORD,
                "display_name": "Maggie Hughes",
                "community": "home",
                "ward": "Mill Lane",
            },
        )
    assert response.status_code == 201, response.text
    return MEMBER_EMAIL


async def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")


async def test_member_publishes_an_offer_and_finds_it_by_searching(
    live_server: LiveServer, member: str, page: Page
) -> None:
    await sign_in(page, live_server, member)
    await page.get_by_role("link", name="Listings").click()
    await page.wait_for_url("**/listings")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Offers and requests")
    await expect(page.get_by_text("There are no listings yet.")).to_be_visible()
    await assert_no_axe_violations(page)

    await page.get_by_role("link", name="Publish an offer or a request").click()
    await page.wait_for_url("**/listings/new")
    await expect(page.get_by_label("Neighbourhood or ward (optional)")).to_have_value("Mill Lane")
    await assert_no_axe_violations(page)

    # A first try without a title or a category: both are flagged, the rest is kept.
    await page.get_by_label("I can offer help").check()
    await page.get_by_label("Description").fill("Weeding, mowing and pruning, with my own tools.")
    await page.get_by_role("button", name="Publish").click()
    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("link")).to_have_count(2)
    await expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Description")).to_have_value(
        "Weeding, mowing and pruning, with my own tools."
    )
    assert (await page.title()).startswith("Error: ")
    await assert_no_axe_violations(page)

    await page.get_by_label("Title").fill("Help in your garden")
    await page.get_by_label("Category").select_option(label="Gardening")
    await page.get_by_label("When (optional)").fill("Saturday mornings")
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_url("**/listings/*?done=created")
    await expect(page.get_by_role("status")).to_contain_text("Your listing is published.")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help in your garden")
    await expect(page.get_by_text("Saturday mornings")).to_be_visible()
    await assert_no_axe_violations(page)
    await save_screenshot(page, "listing-detail")
    detail_url = page.url.split("?", 1)[0]

    await page.get_by_role("link", name="Listings").click()
    await page.get_by_label("Words to search for").fill("gardening tools")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/listings?q=gardening+tools*")
    await expect(page.get_by_role("heading", name="Best matches")).to_be_visible()
    await expect(page.get_by_label("Words to search for")).to_have_value("gardening tools")
    result = page.get_by_role("link", name="Help in your garden")
    await expect(result).to_be_visible()
    await assert_no_axe_violations(page)
    await save_screenshot(page, "listings-search")

    await page.get_by_label("Words to search for").fill("piano")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text("Nothing matches your search.")).to_be_visible()

    await page.get_by_label("Words to search for").fill("garden")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Help in your garden").click()
    await page.wait_for_url(detail_url)
    await expect(page.get_by_role("link", name="Change this listing")).to_be_visible()

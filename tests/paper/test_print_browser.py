"""In Chromium, on both engines: the helper marks the help done on the exchange page, the
recipient's page asks them to confirm, and the helper's printable statement shows the
exchange (print media hides the navigation); axe finds nothing on any of these pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ASKER_EMAIL,
    PASSWORD,
    PROVIDER_EMAIL,
    assert_no_axe_violations,
    save_screenshot,
    signed_in_page,
)
from tests.support.server import LiveServer


@pytest.fixture
def members(journey_members: None) -> None:
    """The journeys' admin and two members (tests/support/browser.py)."""
    del journey_members


async def bearer(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def accepted_exchange(live_server: LiveServer) -> str:
    """Bert asks Maggie (yesterday, 1 hour 30 minutes); Maggie accepts, through the API."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        maggie = await bearer(http, PROVIDER_EMAIL)
        bert = await bearer(http, ASKER_EMAIL)
        me = await http.get("/api/v1/me", headers=maggie)
        proposed = await http.post(
            "/api/v1/exchanges",
            headers=bert,
            json={
                "provider_id": me.json()["id"],
                "recipient_id": (await http.get("/api/v1/me", headers=bert)).json()["id"],
                "minutes": 90,
                "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "description": "Tidied the back garden",
            },
        )
        assert proposed.status_code == 201, proposed.text
        exchange_id: str = proposed.json()["id"]
        accepted = await http.post(f"/api/v1/exchanges/{exchange_id}/accept", headers=maggie)
        assert accepted.status_code == 200, accepted.text
        return exchange_id


@pytest.mark.usefixtures("members")
async def test_mark_done_confirm_and_print_the_statement(
    live_server: LiveServer, chromium: Browser
) -> None:
    exchange_id = await accepted_exchange(live_server)
    maggie = await signed_in_page(chromium, live_server, PROVIDER_EMAIL)
    await maggie.goto(f"{live_server.base_url}/exchanges/{exchange_id}")
    await assert_no_axe_violations(maggie)
    await maggie.get_by_role("button", name="Mark the help as done").click()
    await expect(maggie.get_by_role("status").first).to_contain_text("asked the other member")
    await expect(maggie.get_by_text("You have marked this help as done")).to_be_visible()
    await assert_no_axe_violations(maggie)

    bert = await signed_in_page(chromium, live_server, ASKER_EMAIL)
    await expect(bert.get_by_text("Marked done by Maggie Hughes, please confirm")).to_be_visible()
    await bert.goto(f"{live_server.base_url}/exchanges/{exchange_id}")
    await expect(
        bert.get_by_text("Maggie Hughes has marked this help as done: please confirm.")
    ).to_be_visible()
    await assert_no_axe_violations(bert)
    await bert.get_by_role("button", name="Confirm the help happened").click()
    await expect(bert.get_by_role("status").first).to_contain_text("Thank you for confirming")

    await print_view(maggie, live_server)


async def print_view(page: Page, live_server: LiveServer) -> None:
    await page.goto(f"{live_server.base_url}/statement")
    await page.get_by_role("link", name="Statement to print").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Statement for Maggie Hughes")
    row = page.get_by_role("row").filter(has_text="Tidied the back garden")
    await expect(row).to_contain_text("1 hour 30 minutes (1:30)")
    await expect(row).to_contain_text("Bert Price")
    await expect(page.get_by_text("Balance at the end of")).to_be_visible()
    await assert_no_axe_violations(page)
    # On paper: the table stays, the navigation and the period form go.
    await page.emulate_media(media="print")
    await expect(page.locator(".site-header")).to_be_hidden()
    await expect(page.get_by_role("button", name="Show this period")).to_be_hidden()
    await expect(row).to_be_visible()
    await save_screenshot(page, "statement-print")
    await page.emulate_media(media="screen")
    await page.goto(f"{live_server.base_url}/listings/print")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Offers and requests in")
    await assert_no_axe_violations(page)

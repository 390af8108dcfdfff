"""A coordinator adds Doreen (no email), acts for her and leaves acting mode, in Chromium,
on both engines (issue 16, ADR 0031).

The banner naming Doreen is on every page while acting, its button ends the mode,
and the listing posted for her is hers; the audit log names both people.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    PASSWORD,
    assert_no_axe_violations,
    save_screenshot,
    signed_in_page,
)
from tests.support.server import LiveServer

COORDINATOR_EMAIL = "david@example.org"


@pytest.fixture
async def coordinator(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """David Okafor, coordinator of "home" (made by `timebank create-admin`)."""
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        registered = await http.post(
            "/api/v1/auth/register",
            json={
                "email": COORDINATOR_EMAIL,
                "password": PASSWORD,
                "display_name": "David Okafor",
                "community": "home",
            },
        )
        assert registered.status_code == 201, registered.text
        admin = await admin_headers(http)
        granted = await http.post(
            f"/api/v1/admin/members/{registered.json()['id']}/roles",
            headers=admin,
            json={"action": "grant", "role": "coordinator", "community": "home", "reason": "ok"},
        )
        assert granted.status_code == 200, granted.text
    return COORDINATOR_EMAIL


async def admin_headers(http: httpx.AsyncClient) -> dict[str, str]:
    token = await http.post("/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


async def add_doreen(page: Page, live_server: LiveServer) -> None:
    """Through the form, a bad phone number first; ends on Doreen's act-for page."""
    await page.goto(live_server.base_url + "/coordinator/members")
    await page.get_by_role("link", name="Add a member who is not online").first.click()
    await page.wait_for_url("**/coordinator/members/new")
    await assert_no_axe_violations(page)
    # A first try with a bad phone number: flagged, the rest kept.
    await page.get_by_label("Their name").fill("Doreen Walsh")
    await page.get_by_label("Phone number (optional)").fill("ring me <please>")
    await page.get_by_role("button", name="Add this member").click()
    await expect(page.get_by_role("alert")).to_contain_text("phone number")
    await expect(page.get_by_label("Their name")).to_have_value("Doreen Walsh")
    await assert_no_axe_violations(page)
    await page.get_by_label("Phone number (optional)").fill("01632 960 123")
    await page.get_by_label("Neighbourhood or ward (optional)").fill("Mill Lane")
    await page.get_by_role("button", name="Add this member").click()
    await page.wait_for_url("**/coordinator/members/*/act?done=created")
    await expect(page.get_by_role("status")).to_contain_text("The member has been added")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Doreen Walsh")
    await expect(page.get_by_text("No: you act for them")).to_be_visible()
    await assert_no_axe_violations(page)


async def post_offer_for_her(page: Page) -> None:
    """From the dashboard while acting: the banner stays on every page."""
    banner = page.get_by_role("region", name="Acting for a member")
    await page.get_by_role("link", name="Listings").click()
    await expect(banner).to_be_visible()
    await page.get_by_role("link", name="Publish an offer or a request").click()
    await page.wait_for_url("**/listings/new")
    await expect(banner).to_be_visible()
    await page.get_by_label("I can offer help").check()
    await page.get_by_label("Title").fill("Knitting lessons at my kitchen table")
    await page.get_by_label("Description").fill("I can teach you to knit, any afternoon.")
    await page.get_by_label("Category").select_option(label="Learning and skills")
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_url("**/listings/*?done=created")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Knitting lessons at my kitchen table"
    )
    await expect(banner).to_contain_text("Doreen Walsh")
    await expect(page.get_by_role("link", name="Change this listing")).to_be_visible()
    await assert_no_axe_violations(page)


async def test_coordinator_adds_doreen_acts_for_her_and_stops(
    live_server: LiveServer, coordinator: str, browser: Browser
) -> None:
    # Every control here is a plain link or form (no script is needed); axe needs a
    # script, so the context runs one.
    page = await signed_in_page(browser, live_server, coordinator)
    banner = page.get_by_role("region", name="Acting for a member")
    await expect(banner).to_have_count(0)

    await add_doreen(page, live_server)
    act_url = page.url.split("?", 1)[0]

    await page.get_by_role("button", name="Act for this member").click()
    await page.wait_for_url("**/dashboard")
    await expect(banner).to_contain_text("You are acting for Doreen Walsh")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "acting-for-dashboard")

    await post_offer_for_her(page)
    listing_url = page.url.split("?", 1)[0]

    # One click out, back to Doreen's coordinator page.
    await banner.get_by_role("button", name="Stop acting for Doreen Walsh").click()
    await page.wait_for_url(f"{act_url}?done=stopped")
    await expect(banner).to_have_count(0)
    await expect(page.get_by_role("status")).to_contain_text("stopped acting")
    # David is himself again: the listing is not his to change.
    await page.goto(listing_url)
    await expect(page.get_by_role("link", name="Change this listing")).to_have_count(0)

    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        admin = await admin_headers(http)
        audit = await http.get(
            "/api/v1/admin/audit", headers=admin, params={"action": "acting.request"}
        )
    [entry] = [e for e in audit.json()["items"] if e["after"]["path"] == "/listings/new"]
    assert entry["actor_name"] == "David Okafor"
    assert entry["reason"] == "recorded by David Okafor for Doreen Walsh"
    await page.context.close()

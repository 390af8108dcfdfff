"""A coordinator adds Doreen (no email), acts for her and leaves acting mode, in Chromium,
on both engines (issue 16, ADR 0031).

The banner naming Doreen is on every page while acting, its button ends the mode,
and the listing posted for her is hers; the audit log names both people.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


MO_EMAIL = "mo@example.org"
SHOPPING = "Help with the weekly shopping"


async def online_neighbour_proposes(live_server: LiveServer, doreen_id: str) -> None:
    """Mo, a member who is online, offers Doreen an hour of help with her shopping."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        registered = await http.post(
            "/api/v1/auth/register",
            json={
                "email": MO_EMAIL,
                "password": PASSWORD,
                "display_name": "Mo Ahmed",
                "community": "home",
            },
        )
        assert registered.status_code == 201, registered.text
        token = await http.post(
            "/api/v1/auth/token", json={"email": MO_EMAIL, "password": PASSWORD}
        )
        mo = {"Authorization": f"Bearer {token.json()['token']}"}
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        proposed = await http.post(
            "/api/v1/exchanges",
            headers=mo,
            json={
                "provider_id": registered.json()["id"],
                "recipient_id": doreen_id,
                "minutes": 60,
                "service_date": yesterday,
                "description": SHOPPING,
            },
        )
        assert proposed.status_code == 201, proposed.text


async def accept_and_confirm_for_her(page: Page) -> None:
    """Acting for Doreen: her dashboard lists the proposal; accept it, then confirm it."""
    banner = page.get_by_role("region", name="Acting for a member")
    await page.get_by_role("link", name="Exchanges").first.click()
    await page.get_by_role("link", name=SHOPPING).click()
    await expect(banner).to_contain_text("Doreen Walsh")
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await page.get_by_role("button", name="Confirm the help happened").click()
    await expect(page.get_by_role("status")).to_contain_text("The hours have moved")
    await expect(
        page.get_by_text("recorded by David Okafor for Doreen Walsh").first
    ).to_be_visible()
    await assert_no_axe_violations(page)


async def print_her_statement(page: Page, live_server: LiveServer, doreen_id: str) -> None:
    await page.goto(f"{live_server.base_url}/coordinator/members/{doreen_id}/statement/print")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Doreen Walsh")
    await expect(page.get_by_role("table").first).to_contain_text(SHOPPING)
    await page.emulate_media(media="print")
    await expect(page.get_by_role("region", name="Acting for a member")).to_have_count(0)
    await expect(page.get_by_role("table").first).to_contain_text("1 hour")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "doreen-statement-print")
    await page.emulate_media(media="screen")


async def find_her_by_phone(page: Page, live_server: LiveServer) -> None:
    await page.goto(live_server.base_url + "/coordinator/members")
    box = page.get_by_role("search").get_by_label("Name, phone number or neighbourhood")
    await box.fill("01632960123")
    await box.press("Enter")
    results = page.get_by_role("table", name="Members who match your search, by name")
    await expect(results.get_by_role("rowheader")).to_have_count(1)
    await expect(results.get_by_role("link", name="Doreen Walsh")).to_be_visible()
    await assert_no_axe_violations(page)


async def test_doreen_is_helped_through_her_coordinator_from_start_to_paper(
    live_server: LiveServer, coordinator: str, browser: Browser
) -> None:
    """Issue 16's journey: add Doreen (no email), post an offer for her, accept and confirm
    an exchange with Mo (online) for her, print her statement, find her by phone; the
    audit log names both the coordinator and Doreen for every step taken for her."""
    page = await signed_in_page(browser, live_server, coordinator)
    await add_doreen(page, live_server)
    act_url = page.url.split("?", 1)[0]
    doreen_id = act_url.rstrip("/").split("/")[-2]
    await online_neighbour_proposes(live_server, doreen_id)

    await page.get_by_role("button", name="Act for this member").click()
    await page.wait_for_url("**/dashboard")
    await post_offer_for_her(page)
    await accept_and_confirm_for_her(page)
    banner = page.get_by_role("region", name="Acting for a member")
    await banner.get_by_role("button", name="Stop acting for Doreen Walsh").click()
    await page.wait_for_url(f"{act_url}?done=stopped")

    await print_her_statement(page, live_server, doreen_id)
    await find_her_by_phone(page, live_server)

    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        admin = await admin_headers(http)
        audit = await http.get(
            "/api/v1/admin/audit", headers=admin, params={"action": "acting.request"}
        )
    steps = {entry["after"]["path"].rsplit("/", 1)[-1] for entry in audit.json()["items"]}
    assert {"new", "accept", "complete"} <= steps
    for entry in audit.json()["items"]:
        assert entry["actor_name"] == "David Okafor"
        assert entry["reason"] == "recorded by David Okafor for Doreen Walsh"
    await page.context.close()

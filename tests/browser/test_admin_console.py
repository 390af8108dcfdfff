"""The admin console in a real browser: find a member, suspend and reinstate them,
change their credit limits, read the audit log, and check the ledger's health.

The admin is made by `timebank create-admin`; the member joins through the live
server's JSON API. axe-core runs on every admin page, in its normal and error states.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer

ADMIN_EMAIL = "admin@example.org"
MEMBER_EMAIL = "bob@example.org"
PASSWORD = "a long browser password"
ZOOMED_WIDTH_PX = 640  # a 1280 px window at 200% zoom


@pytest.fixture
def admin(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The first admin, made by the real command (it also makes the "home" time bank)."""
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    return ADMIN_EMAIL


async def api_register(live_server: LiveServer, email: str, name: str) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": name, "community": "home"},
        )
    assert response.status_code == 201, response.text


async def api_token_status(live_server: LiveServer, email: str) -> int:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post(
            "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        )
    return response.status_code


async def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")


async def no_sideways_scroll(page: Page) -> bool:
    overflow: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow <= 0


async def find_bob(page: Page) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Admin console")
    await assert_no_axe_violations(page)
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Members").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    await assert_no_axe_violations(page)
    await page.get_by_label("Name, email address or id").fill("bob")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/admin/members?q=bob*")
    await expect(page.get_by_role("cell", name=MEMBER_EMAIL)).to_be_visible()
    await page.get_by_role("link", name="Bob Builder").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bob Builder")
    await expect(page.get_by_text("May owe up to 10 hours")).to_be_visible()
    await assert_no_axe_violations(page)


async def suspend_and_reinstate_bob(page: Page, live_server: LiveServer) -> None:
    # Without a reason the form says what is missing.
    await page.get_by_role("button", name="Suspend Bob Builder").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter the reason")
    await expect(page.get_by_role("alert")).to_contain_text("Tick the box to confirm")
    await assert_no_axe_violations(page)
    await page.get_by_role("textbox", name="Reason", exact=True).fill("Reported by two neighbours")
    await page.get_by_label("Yes, suspend Bob Builder").check()
    await page.get_by_role("button", name="Suspend Bob Builder").click()
    await page.wait_for_url("**?done=suspended")
    await expect(page.get_by_role("status")).to_contain_text("The member has been suspended.")
    await expect(page.get_by_text("Suspended", exact=True)).to_be_visible()
    await assert_no_axe_violations(page)
    await save_screenshot(page, "admin-member-suspended")
    assert await api_token_status(live_server, MEMBER_EMAIL) == 403

    await page.get_by_role("textbox", name="Reason", exact=True).fill("Talked it through")
    await page.get_by_role("button", name="Lift the suspension").click()
    await page.wait_for_url("**?done=reinstated")
    await expect(page.get_by_role("status")).to_contain_text("The suspension has been lifted.")
    await expect(page.get_by_text("Active", exact=True)).to_be_visible()
    assert await api_token_status(live_server, MEMBER_EMAIL) == 201


async def change_bobs_limits(page: Page) -> None:
    limits = page.get_by_role("region", name="Credit limits")
    owe = limits.get_by_role("group", name="How much they may owe")
    await owe.get_by_label("Hours").fill("lots")
    await limits.get_by_label("Reason for the change").fill("Agreed at the committee")
    await limits.get_by_role("button", name="Save the limits").click()
    await expect(page.get_by_role("alert")).to_contain_text("whole hours")
    await assert_no_axe_violations(page)
    limits = page.get_by_role("region", name="Credit limits")
    await limits.get_by_role("group", name="How much they may owe").get_by_label("Hours").fill("5")
    ceiling = limits.get_by_role("group", name="Highest balance")
    await ceiling.get_by_label("Hours").fill("40")
    await limits.get_by_label("Reason for the change").fill("Agreed at the committee")
    await limits.get_by_role("button", name="Save the limits").click()
    await page.wait_for_url("**?done=limits-saved")
    await expect(page.get_by_role("status")).to_contain_text("The credit limits have been saved.")
    await expect(page.get_by_text("May owe up to 5 hours")).to_be_visible()
    await assert_no_axe_violations(page)


async def read_the_audit_log(page: Page) -> None:
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    await assert_no_axe_violations(page)
    await page.get_by_label("What was done").select_option("member.suspend")
    await page.get_by_role("button", name="Show entries").click()
    await page.wait_for_url("**/admin/audit?*action=member.suspend*")
    table = page.get_by_role("table")
    await expect(table.get_by_role("cell", name="Suspended a member")).to_be_visible()
    await expect(table.get_by_text("Status: was active, now suspended")).to_be_visible()
    await expect(table.get_by_role("cell", name="Changed credit limits")).to_have_count(0)
    await assert_no_axe_violations(page)
    await page.get_by_label("Who did it (email address)").fill("nobody@example.org")
    await page.get_by_role("button", name="Show entries").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter the email address or id")
    await assert_no_axe_violations(page)


async def check_the_ledger(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Admin")
    await nav.get_by_role("link", name="Ledger health").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ledger health")
    await expect(page.get_by_text("Balanced: the", exact=False).first).to_be_visible()
    await assert_no_axe_violations(page)
    await page.get_by_role("button", name="Run the check").click()
    await page.wait_for_url("**/admin/ledger/verify*")
    await expect(page.get_by_role("status")).to_contain_text("The ledger checked out clean.")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "admin-ledger-health")


async def test_an_admin_finds_suspends_reinstates_and_limits_a_member(
    live_server: LiveServer, admin: str, page: Page
) -> None:
    await api_register(live_server, MEMBER_EMAIL, "Bob Builder")
    await sign_in(page, live_server, admin)
    await find_bob(page)
    member_path = urlsplit(page.url).path
    await suspend_and_reinstate_bob(page, live_server)
    await change_bobs_limits(page)
    await read_the_audit_log(page)
    await check_the_ledger(page)

    # At 200% zoom nothing scrolls sideways (wide tables scroll inside their own region).
    await page.set_viewport_size({"width": ZOOMED_WIDTH_PX, "height": 900})
    for path in ("/admin", "/admin/members", member_path, "/admin/audit", "/admin/ledger"):
        await page.goto(live_server.base_url + path)
        assert await no_sideways_scroll(page), path

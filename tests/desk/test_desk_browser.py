"""The desk in Chromium: a coordinator finds a member by phone number with JavaScript
turned off (the search is a plain GET form), then the same pages pass axe-core."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    ASKER_EMAIL,
    PASSWORD,
    assert_no_axe_violations,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

PHONE = "07700 900 456"


async def give_phone(server: LiveServer, email: str, phone: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        token = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        response = await http.patch("/api/v1/me", headers=headers, json={"phone": phone})
        assert response.status_code == 200, response.text


async def sign_in(page: Page, server: LiveServer, email: str) -> None:
    await page.goto(server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").press("Enter")
    await page.wait_for_url("**/dashboard")


async def find_by_phone(page: Page, server: LiveServer) -> None:
    await page.goto(server.base_url + "/coordinator/members")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Coordinator's desk")
    search = page.get_by_role("search")
    box = search.get_by_label("Name, phone number or neighbourhood")
    await box.fill("07700900456")
    await box.press("Enter")
    await page.wait_for_url("**/coordinator/members?*q=07700900456*")
    results = page.get_by_role("table", name="Members who match your search, by name")
    await expect(results.get_by_role("rowheader")).to_have_count(1)
    await expect(results.get_by_role("link", name="Bert Price")).to_be_visible()


async def test_a_coordinator_finds_a_member_by_phone_without_javascript(
    live_server: LiveServer,
    journey_members: None,
    browser: Browser,
) -> None:
    await give_phone(live_server, ASKER_EMAIL, PHONE)
    plain = await browser.new_context(java_script_enabled=False)
    page = await plain.new_page()
    await sign_in(page, live_server, ADMIN_EMAIL)
    await find_by_phone(page, live_server)
    await page.get_by_role("link", name="Bert Price").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bert Price")
    await expect(page.get_by_text(PHONE)).to_be_visible()
    # A member picker works the same way: search, then choose a match (a link).
    await page.goto(live_server.base_url + "/coordinator/grant")
    finder = page.get_by_role("search", name="Find: Who receives the hours?")
    await finder.get_by_role("searchbox").fill("bert")
    await finder.get_by_role("searchbox").press("Enter")
    await page.get_by_role("link", name="Choose Bert Price").click()
    await expect(page.get_by_text("Chosen: Bert Price")).to_be_visible()
    hidden = page.locator('form[aria-label="The grant"] input[name="member"]')
    await expect(hidden).to_have_count(1)

    scripted = await browser.new_context(java_script_enabled=True)
    checked = await scripted.new_page()
    await sign_in(checked, live_server, ADMIN_EMAIL)
    await find_by_phone(checked, live_server)
    await assert_no_axe_violations(checked)
    await checked.get_by_role("link", name="Bert Price").click()
    await expect(checked.get_by_role("heading", level=1)).to_have_text("Bert Price")
    await assert_no_axe_violations(checked)


async def test_the_settings_page_from_the_desk_menu(
    live_server: LiveServer,
    journey_members: None,
    browser: Browser,
) -> None:
    scripted = await browser.new_context(java_script_enabled=True)
    page = await scripted.new_page()
    await sign_in(page, live_server, ADMIN_EMAIL)
    await page.goto(live_server.base_url + "/coordinator/members")
    await (
        page.get_by_role("navigation", name="Coordinator")
        .get_by_role("link", name="Settings")
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Settings of")
    await assert_no_axe_violations(page)
    await page.get_by_label("Days a listing stays up").fill("3")
    await page.get_by_role("button", name="Save the settings").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter a number of days from 7")
    await assert_no_axe_violations(page)
    await page.get_by_label("Days a listing stays up").fill("60")
    await page.get_by_role("button", name="Save the settings").click()
    await expect(page.get_by_role("status")).to_contain_text("The settings are saved")
    await expect(page.get_by_label("Days a listing stays up")).to_have_value("60")
    await assert_no_axe_violations(page)

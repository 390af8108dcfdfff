"""An exchange in a real browser: an offer is found, asked for, accepted and confirmed.

Data is set up the way an operator would: `timebank create-admin` (which also
makes the "home" time bank, with 2 hours of welcome credit), two members
registered through the live server's JSON API, then the sign-in page. Each
member has a browser context of their own. axe-core runs on every page of the
exchanges and giving features, in their normal and error states.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    ASKER_EMAIL,
    PROVIDER_EMAIL,
    assert_no_axe_violations,
    main_nav,
    save_screenshot,
    signed_in_page,
)
from tests.support.server import LiveServer


@pytest.fixture
def members(journey_members: None) -> None:
    """The journeys' admin and two members (tests/support/browser.py)."""
    del journey_members


async def publish_offer(page: Page) -> None:
    await main_nav(page).get_by_role("link", name="Listings").click()
    await page.get_by_role("link", name="Publish an offer or a request").click()
    await page.get_by_label("I can offer help").check()
    await page.get_by_label("Title").fill("Help in your garden")
    await page.get_by_label("Description").fill("Weeding, mowing and pruning, with my own tools.")
    await page.get_by_label("Category").select_option(label="Gardening")
    await page.get_by_role("button", name="Publish").click()
    await page.wait_for_url("**/listings/*?done=created")


async def ask_for_the_offer(page: Page) -> None:
    await main_nav(page).get_by_role("link", name="Listings").click()
    await page.get_by_label("Words to search for").fill("garden")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Help in your garden").click()
    await page.get_by_role("link", name="Ask for this").click()
    await page.wait_for_url("**/exchanges/new?listing=*")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Propose an exchange")
    await expect(page.get_by_text("Maggie Hughes will help you")).to_be_visible()
    await assert_no_axe_violations(page)

    # A first try with a bad time: the error is shown and what was typed stays.
    await page.get_by_label("Hours").fill("0")
    await page.get_by_label("Minutes").fill("0")
    await page.get_by_label("What the help is").fill("Weeding the front garden")
    await page.get_by_role("button", name="Send the proposal").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter how long the help takes")
    await expect(page.get_by_label("What the help is")).to_have_value("Weeding the front garden")
    assert (await page.title()).startswith("Error: ")
    await assert_no_axe_violations(page)

    await page.get_by_label("Hours").fill("1")
    await page.get_by_label("Minutes").fill("30")
    await page.get_by_role("button", name="Send the proposal").click()
    await page.wait_for_url("**/exchanges/*?done=proposed")
    await expect(page.get_by_role("status")).to_contain_text("Your proposal has been sent.")
    await expect(page.get_by_text("Waiting for Maggie Hughes to accept.")).to_be_visible()
    await assert_no_axe_violations(page)


async def accept_from_the_dashboard(page: Page) -> None:
    await main_nav(page).get_by_role("link", name="Dashboard").click()
    await expect(main_nav(page).get_by_role("link", name="Exchanges (1)")).to_be_visible()
    notices = page.get_by_role("region", name="Waiting for you (1)")
    await expect(notices).to_be_visible()
    await assert_no_axe_violations(page)
    await notices.get_by_role("link", name="Accept or decline: Weeding the front garden").click()
    await page.get_by_role("button", name="Accept").click()
    await page.wait_for_url("**/exchanges/*?done=accepted")
    await expect(page.get_by_role("status")).to_contain_text("You have accepted this exchange.")
    await assert_no_axe_violations(page)


async def confirm_from_the_list(page: Page) -> None:
    await page.goto(page.url.split("/exchanges", 1)[0] + "/dashboard")
    await main_nav(page).get_by_role("link", name="Exchanges (1)").click()
    await page.wait_for_url("**/exchanges")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your exchanges")
    await assert_no_axe_violations(page)
    await page.get_by_role("link", name="Weeding the front garden").click()
    await page.get_by_role("button", name="Confirm the help happened").click()
    await page.wait_for_url("**/exchanges/*?done=completed")
    await expect(page.get_by_role("status")).to_contain_text("The hours have moved.")
    await expect(page.locator(".listing-kind")).to_have_text("Completed")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "exchange-completed")


async def check_balance_and_statement(page: Page, balance: str, line: str) -> None:
    await main_nav(page).get_by_role("link", name="Dashboard").click()
    await expect(page.locator(".balance")).to_have_text(
        f"{balance}. You can go down to minus 10 hours."
    )
    await expect(main_nav(page).get_by_role("link", name="Exchanges", exact=True)).to_be_visible()
    await main_nav(page).get_by_role("link", name="Statement").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your statement")
    row = page.get_by_role("row").filter(has_text=line)
    await expect(row).to_contain_text(": Weeding the front garden")
    await expect(row).to_contain_text("Help given" if line.startswith("+") else "Help received")
    await assert_no_axe_violations(page)


async def test_an_offer_is_asked_for_accepted_and_confirmed(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    provider = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    asker = await signed_in_page(browser, live_server, ASKER_EMAIL)

    await publish_offer(provider)
    await ask_for_the_offer(asker)
    await accept_from_the_dashboard(provider)
    await confirm_from_the_list(asker)

    await check_balance_and_statement(provider, "You have 3 hours 30 minutes", "+1 hour 30 minutes")
    await check_balance_and_statement(asker, "You have 30 minutes", "-1 hour 30 minutes")
    await save_screenshot(asker, "statement")
    async with asker.expect_download() as download_info:
        await asker.get_by_role("link", name="Download CSV").click()
    assert (await download_info.value).suggested_filename == "statement.csv"

    # Giving: a mistake first, then a gift to the pool.
    await asker.goto(live_server.base_url + "/give")
    await assert_no_axe_violations(asker)
    await asker.get_by_label("A member").check()
    await asker.get_by_label("Minutes").fill("15")
    await asker.get_by_role("button", name="Give the hours").click()
    await expect(asker.get_by_role("alert")).to_contain_text("Choose a member")
    await assert_no_axe_violations(asker)
    await asker.get_by_label("The community pool").check()
    await asker.get_by_label("Hours").fill("0")
    await asker.get_by_label("Yes, make this gift").check()
    await asker.get_by_role("button", name="Give the hours").click()
    await expect(asker.get_by_role("status")).to_contain_text("Your hours have been given.")


async def test_coordinator_pages_record_and_grant(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    admin = await signed_in_page(browser, live_server, ADMIN_EMAIL)
    await admin.goto(live_server.base_url + "/coordinator/record")
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Record an exchange")
    await assert_no_axe_violations(admin)
    # Each "choose a member" field is a search: type part of a name, choose a match.
    helped = admin.get_by_role("search", name="Find: Who helped")
    await helped.get_by_role("searchbox").fill("magg")
    await helped.get_by_role("searchbox").press("Enter")
    await admin.get_by_role("link", name="Choose Maggie Hughes for “Who helped”").click()
    await expect(admin.get_by_text("Chosen: Maggie Hughes")).to_be_visible()
    await (
        admin.get_by_role("search", name="Find: Who was helped")
        .get_by_role("searchbox")
        .fill("bert")
    )
    await admin.get_by_role("button", name="Search for “Who was helped”").click()
    await admin.get_by_role("link", name="Choose Bert Price for “Who was helped”").click()
    await expect(admin.get_by_text("Chosen: Bert Price")).to_be_visible()
    await expect(admin.get_by_text("Chosen: Maggie Hughes")).to_be_visible()
    await assert_no_axe_violations(admin)
    await admin.get_by_role("button", name="Record the exchange").click()
    await expect(admin.get_by_role("alert")).to_contain_text("Describe the help")
    await assert_no_axe_violations(admin)
    await admin.get_by_label("What the help was").fill("Shopping, told by phone")
    await admin.get_by_role("button", name="Record the exchange").click()
    await admin.wait_for_url("**/exchanges/*?done=recorded")
    await expect(admin.get_by_text("Recorded by Ada Admin, a coordinator")).to_be_visible()

    await admin.goto(live_server.base_url + "/coordinator/grant")
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Grant hours from the pool")
    await assert_no_axe_violations(admin)
    await admin.get_by_role("link", name="Choose Bert Price").click()
    await admin.get_by_label("Reason").fill("Winter fuel")
    await admin.get_by_role("button", name="Grant the hours").click()
    await expect(admin.get_by_role("alert")).to_contain_text("The pool has only")
    await assert_no_axe_violations(admin)

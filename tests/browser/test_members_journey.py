"""Members' journeys in a real browser: joining, signing in by keyboard, approval by a coordinator.

Data is set up the way an operator would: `timebank create-admin` on the
server's database, then the live server's own JSON API and pages. axe-core runs
on every page of the feature, in its normal and its error states.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer

ADMIN_EMAIL = "admin@example.org"
PASSWORD = "a long browser password"
TAB_PRESSES_MAX = 15


@pytest.fixture
def admin(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The first admin, made by the real command (it also makes the "home" time bank)."""
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    return ADMIN_EMAIL


async def api_register(live_server: LiveServer, email: str, name: str, community: str) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": name,
                "community": community,
            },
        )
    assert response.status_code == 201, response.text


async def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


async def no_sideways_scroll(page: Page) -> bool:
    overflow: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow <= 0


async def register_with_a_mistake_first(page: Page) -> None:
    """A first try with mistakes: every error is listed, and what was typed stays."""
    await page.get_by_label("Email address", exact=True).fill("nell@")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Your name", exact=True).fill("Nell Newcomer")
    await page.get_by_label("Neighbourhood or ward (optional)").fill("Riverside")
    await page.get_by_label("Year of birth (optional)").fill("1948")
    await page.get_by_role("button", name="Create my account").click()
    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    await expect(summary.get_by_role("link")).to_have_count(2)  # email and consent
    email = page.get_by_label("Email address", exact=True)
    await expect(email).to_have_value("nell@")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Your name", exact=True)).to_have_value("Nell Newcomer")
    await expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert (await page.title()).startswith("Error: ")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "members-register-errors")

    await email.fill("nell@example.org")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("I agree to the privacy notice").check()
    await page.get_by_role("button", name="Create my account").click()
    await page.wait_for_url("**/sign-in?done=registered")
    await expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    await assert_no_axe_violations(page)


async def edit_profile_download_data_and_close(page: Page, live_server: LiveServer) -> None:
    await main_nav(page).get_by_role("link", name="Profile").click()
    await expect(page.get_by_label("Neighbourhood or ward")).to_have_value("Riverside")
    await assert_no_axe_violations(page)
    await page.get_by_label("What you can help with").fill("Lifts to the surgery")
    await page.get_by_role("button", name="Save my profile").click()
    await expect(page.get_by_role("status")).to_have_text("Your profile has been saved.")
    await expect(page.get_by_label("What you can help with")).to_have_value("Lifts to the surgery")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download my data").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("timebank-my-data-")

    await page.goto(live_server.base_url + "/privacy")
    await assert_no_axe_violations(page)

    await page.goto(live_server.base_url + "/account/close")
    given = page.get_by_text("Your 2 hours will be given to the Home time bank pool")
    await expect(given).to_be_visible()
    await assert_no_axe_violations(page)
    await page.get_by_role("button", name="Close my account").click()
    await page.wait_for_url("**/account/closed")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account is closed")
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await assert_no_axe_violations(page)


async def test_a_newcomer_registers_signs_in_and_sees_the_welcome_credit(
    live_server: LiveServer, admin: str, page: Page
) -> None:
    del admin  # only needed for its "home" time bank
    await page.goto(live_server.base_url + "/")
    await main_nav(page).get_by_role("link", name="Register").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join your time bank")
    await assert_no_axe_violations(page)
    await register_with_a_mistake_first(page)

    await page.get_by_label("Email address", exact=True).fill("nell@example.org")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Nell Newcomer")
    await expect(page.locator(".balance")).to_contain_text("You have 2 hours. ")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "members-dashboard")

    await edit_profile_download_data_and_close(page, live_server)


async def test_the_sign_in_form_can_be_completed_with_the_keyboard_only(
    live_server: LiveServer, admin: str, page: Page
) -> None:
    await page.goto(live_server.base_url + "/sign-in")
    await assert_no_axe_violations(page)
    for _ in range(TAB_PRESSES_MAX):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "email":
            break
    else:
        pytest.fail("the email field is not reachable with the Tab key")
    await page.keyboard.type(admin)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "[document.activeElement.tagName, document.activeElement.textContent.trim(),"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused[:2] == ["BUTTON", "Sign in"]
    assert focused[2] != "none"  # the focus can be seen
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada Admin")

    # At 200% zoom (a 640 px wide window) nothing scrolls sideways.
    await page.set_viewport_size({"width": 640, "height": 900})
    for path in ("/dashboard", "/profile", "/admin/communities", "/admin/roles", "/register"):
        await page.goto(live_server.base_url + path)
        assert await no_sideways_scroll(page), path


async def admin_creates_oakfield_and_appoints_cora(page: Page) -> None:
    await main_nav(page).get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Admin console")
    admin_nav = page.get_by_role("navigation", name="Admin")
    await admin_nav.get_by_role("link", name="Communities and areas").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Communities and areas")
    await assert_no_axe_violations(page)
    form = page.locator("form[action='/admin/communities']")
    await form.get_by_label("Community name").fill("Oakfield")
    await form.get_by_label("Short name").fill("oakfield")
    await form.get_by_label("Council area").select_option("home")
    await form.get_by_label("New members need a coordinator's approval").check()
    await form.get_by_role("button", name="Create community").click()
    await expect(page.get_by_role("status")).to_contain_text("The community has been created")
    await expect(page.get_by_role("cell", name="Oakfield", exact=True)).to_be_visible()

    await page.get_by_role("link", name="Roles").click()
    # The new page first: axe run while the click's navigation is under way finds no
    # document (seen once in CI).
    await expect(page.get_by_role("heading", level=1)).to_have_text("Roles")
    await assert_no_axe_violations(page)
    await page.get_by_label("Member's email address or id").fill("cora@example.org")
    await page.get_by_label("Grant the role").check()
    await page.get_by_label("Role", exact=True).select_option("coordinator")
    await page.get_by_label("Community (for a coordinator)").select_option("oakfield")
    await page.get_by_label("Reason").fill("Runs the Oakfield coffee morning")
    await page.get_by_role("button", name="Save the change").click()
    await expect(page.get_by_role("status")).to_contain_text("The role has been granted")
    await expect(page.get_by_role("cell", name="cora@example.org")).to_be_visible()
    await assert_no_axe_violations(page)


async def cora_approves_pat(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context()
    try:
        cora = await context.new_page()
        await sign_in(cora, live_server, "cora@example.org")
        await main_nav(cora).get_by_role("link", name="Coordinator").click()
        await expect(cora.get_by_role("heading", level=2)).to_have_text("Oakfield")
        await expect(cora.get_by_role("cell", name="Pat Pending", exact=True)).to_be_visible()
        await assert_no_axe_violations(cora)
        await save_screenshot(cora, "members-coordinator-pending")
        await cora.get_by_role("button", name="Approve Pat Pending").click()
        await expect(cora.get_by_role("status")).to_contain_text("Approved.")
        nobody = cora.get_by_text("Nobody is waiting for approval in Oakfield.")
        await expect(nobody).to_be_visible()
        await assert_no_axe_violations(cora)
    finally:
        await context.close()


async def test_a_coordinator_approves_a_pending_member(
    live_server: LiveServer, admin: str, page: Page, browser: Browser
) -> None:
    await api_register(live_server, "cora@example.org", "Cora Coordinator", "home")
    await sign_in(page, live_server, admin)
    await admin_creates_oakfield_and_appoints_cora(page)

    # Pat joins Oakfield (the page the admin has open stays theirs) and waits.
    await api_register(live_server, "pat@example.org", "Pat Pending", "oakfield")
    pat_context = await browser.new_context()
    try:
        pat = await pat_context.new_page()
        await sign_in(pat, live_server, "pat@example.org")
        await expect(pat.get_by_text("Your membership is waiting for approval.")).to_be_visible()
        await expect(pat.locator(".balance")).to_contain_text("You have 0 hours. ")
        await assert_no_axe_violations(pat)
        await pat.goto(live_server.base_url + "/coordinator/members")
        forbidden = pat.get_by_role("heading", level=1)
        await expect(forbidden).to_have_text("You cannot open this page")
        await assert_no_axe_violations(pat)

        await cora_approves_pat(browser, live_server)

        await pat.goto(live_server.base_url + "/dashboard")
        await expect(pat.locator(".balance")).to_contain_text("You have 2 hours. ")
        await expect(pat.get_by_text("waiting for approval")).to_have_count(0)
        await pat.get_by_role("button", name="Sign out").click()
        await pat.wait_for_url("**/sign-in?done=signed-out")
        await expect(pat.get_by_role("status")).to_contain_text("You have signed out.")
        await assert_no_axe_violations(pat)
    finally:
        await pat_context.close()

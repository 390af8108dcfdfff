"""Recovery in a real browser, with mail going to a real SMTP server on loopback.

Forgot password -> the link arrives at the SMTP server -> follow it -> new
password -> signed in. Then the account settings and email preference pages, by
keyboard, and a coordinator's code. axe-core runs on every page.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import TestDatabase
from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer
from tests.support.smtp_peer import SmtpPeer

pytestmark = pytest.mark.browser

PASSWORD = "a long browser password"
NEW_PASSWORD = "a brand new browser password"
EMAIL = "nell@example.org"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def mailed_server(
    db: TestDatabase,
    smtp_peer: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> LiveServer:
    """`timebank serve` with SMTP_URL pointing at the test SMTP server, and a first admin."""
    del db  # named so that the test runs on both engines; live_server uses it
    monkeypatch.setenv("SMTP_URL", smtp_peer.url)
    monkeypatch.setenv("MAIL_FROM", "bank@example.org")
    server: LiveServer = request.getfixturevalue("live_server")
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    server.run_cli("create-admin", "--email", "admin@example.org", "--name", "Ada Admin")
    return server


async def register(server: LiveServer, email: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": name, "community": "home"},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def sign_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    await page.goto(server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_forgotten_password_mail_link_new_password_signed_in(
    mailed_server: LiveServer, smtp_peer: SmtpPeer, page: Page
) -> None:
    server = mailed_server
    await register(server, EMAIL, "Nell Newcomer")
    await page.goto(server.base_url + "/sign-in")
    await page.get_by_role("link", name="Forgotten your password?").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Forgotten your password?")
    await assert_no_axe_violations(page)
    await page.get_by_label("Email address", exact=True).fill(EMAIL)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    await assert_no_axe_violations(page)

    [mail] = await smtp_peer.catcher.wait_for(1)
    assert mail.recipients == [EMAIL]
    assert mail.message["Subject"] == "Set a new password"
    [link] = LINK.findall(mail.text())
    parts = urlsplit(link)
    assert parts.path == "/reset-password"
    # The server's PUBLIC_BASE_URL is not the test port: follow the path and query.
    await page.goto(f"{server.base_url}{parts.path}?{parts.query}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
    await assert_no_axe_violations(page)
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_role("button", name="Set my new password").click()
    await expect(page.get_by_role("alert")).to_contain_text("10 to 200 characters")
    await assert_no_axe_violations(page)
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set my new password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your new password is set")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "recovery-reset-done")

    await page.get_by_role("main").get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email address", exact=True).fill(EMAIL)
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Nell Newcomer")

    # The same link a second time is refused, and says what to do.
    await page.goto(f"{server.base_url}{parts.path}?{parts.query}")
    await page.get_by_label("New password", exact=True).fill("yet another long password")
    await page.get_by_role("button", name="Set my new password").click()
    await expect(page.get_by_role("alert")).to_contain_text("already been used")
    await assert_no_axe_violations(page)


async def test_account_settings_and_email_choice_by_keyboard(
    mailed_server: LiveServer, smtp_peer: SmtpPeer, page: Page
) -> None:
    server = mailed_server
    await register(server, EMAIL, "Nell Newcomer")
    await sign_in(page, server, EMAIL, PASSWORD)
    await page.wait_for_url("**/dashboard")
    await page.goto(server.base_url + "/profile")
    await page.get_by_role("link", name="Password, email address and emails from us").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Account settings")
    await assert_no_axe_violations(page)
    await page.get_by_label("Current password", exact=True).fill("not my password")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change my password").click()
    await expect(page.get_by_role("alert")).to_contain_text("is not your current password")
    await assert_no_axe_violations(page)
    await page.get_by_label("Current password", exact=True).fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change my password").click()
    await expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    [changed] = await smtp_peer.catcher.wait_for(1)
    assert changed.message["Subject"] == "Your password has been changed"

    await page.get_by_role("link", name="Choose how often we email you").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Emails from your time bank")
    await assert_no_axe_violations(page)
    weekly = page.get_by_label("Once a week", exact=False)
    await weekly.focus()
    await page.keyboard.press("Space")
    await expect(weekly).to_be_checked()
    await page.get_by_role("button", name="Save my choice").press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Your choice has been saved")
    await expect(page.get_by_label("Once a week", exact=False)).to_be_checked()
    await page.set_viewport_size({"width": 640, "height": 800})  # 200% zoom of 1280
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_a_coordinator_reads_out_a_code_that_resets_the_password(
    mailed_server: LiveServer, page: Page
) -> None:
    server = mailed_server
    member_id = await register(server, EMAIL, "Nell Newcomer")
    await sign_in(page, server, "admin@example.org", PASSWORD)  # an admin coordinates everywhere
    await page.wait_for_url("**/dashboard")
    await page.goto(f"{server.base_url}/coordinator/members/{member_id}/reset-code")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "A password code for Nell Newcomer"
    )
    await assert_no_axe_violations(page)
    await page.get_by_role("button", name="Make a code").click()
    code = await page.locator("strong.code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    await assert_no_axe_violations(page)
    await page.goto(server.base_url + "/admin/outbox")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Outgoing mail")
    await assert_no_axe_violations(page)

    await page.context.clear_cookies()
    await page.goto(server.base_url + "/reset-password")
    await page.get_by_label("Code", exact=True).fill(code.lower())
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set my new password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your new password is set")
    await sign_in(page, server, EMAIL, NEW_PASSWORD)
    await page.wait_for_url("**/dashboard")

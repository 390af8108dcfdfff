"""Giving money in a real browser: the donate form up to Stripe Checkout (a fake Stripe on
loopback), then the admins' donation figures. axe-core runs on every page, in its
normal and its error states.

The live server is the real `timebank serve` with Stripe keys and STRIPE_API_BASE
pointing at the fake Stripe this test process runs; webhooks reach the server
signed exactly as Stripe signs them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    LiveServer,
    _free_port,
    _server_env,
    _wait_until_listening,
    assert_no_axe_violations,
    save_screenshot,
)
from tests.conftest import TestDatabase
from tests.donations import stripe_events as ev
from tests.donations.fake_stripe import (
    CHECKOUT_PAGE_TITLE,
    SECRET_KEY,
    FakeStripe,
    FakeStripeServer,
)

ADMIN_EMAIL = "admin@example.org"
PASSWORD = "a long browser password"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripeServer() as fake:
        yield fake


@pytest.fixture
def stripe_server(
    db: TestDatabase, tmp_path: Path, fake_stripe: FakeStripe
) -> Iterator[LiveServer]:
    """`timebank serve` with donations switched on, its SDK pointed at the fake Stripe."""
    port = _free_port()
    data_dir = tmp_path / "server-data"
    env = {
        **_server_env(db.url, data_dir),
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": ev.WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake_stripe.base_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    drain: threading.Thread | None = None
    try:
        drain = _wait_until_listening(process, port)
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", db=db, data_dir=data_dir)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def admin(stripe_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The first admin, made by the real command (it also makes the "home" time bank)."""
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    stripe_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    return ADMIN_EMAIL


async def no_sideways_scroll(page: Page) -> bool:
    overflow: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow <= 0


async def a_first_try_with_mistakes(page: Page) -> None:
    await page.get_by_label("Amount, in pounds").fill("lots")
    await page.get_by_label("I am a UK taxpayer").check()
    await page.get_by_role("button", name="Continue to payment").click()
    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    await expect(summary.get_by_role("link")).to_have_count(4)  # amount, name, address, postcode
    amount = page.get_by_label("Amount, in pounds")
    await expect(amount).to_have_value("lots")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    assert (await page.title()).startswith("Error: ")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "donate-errors")


async def test_a_supporter_gives_monthly_and_reaches_stripe_checkout(
    stripe_server: LiveServer, admin: str, page: Page, fake_stripe: FakeStripe
) -> None:
    del admin  # only needed for its "home" time bank
    await page.goto(stripe_server.base_url + "/")
    await page.get_by_role("contentinfo").get_by_role("link", name="Give money").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Give money to your time bank")
    await assert_no_axe_violations(page)
    await a_first_try_with_mistakes(page)

    await page.get_by_label("Amount, in pounds").fill("15")
    await page.get_by_label("Every month").check()
    await page.get_by_label("Full name (for Gift Aid only)").fill("Nell Newcomer")
    await page.get_by_label("Home address (for Gift Aid only)").fill("12 Mill Lane, Riverside")
    await page.get_by_label("Postcode (for Gift Aid only)").fill("rv1 2ab")
    await page.get_by_role("button", name="Continue to payment").click()

    await page.wait_for_url(f"{fake_stripe.base_url}/pay/**")
    await expect(page).to_have_title(CHECKOUT_PAGE_TITLE)
    (call,) = fake_stripe.created_sessions()
    assert call.params["mode"] == "subscription"
    assert call.params["line_items[0][price_data][unit_amount]"] == "1500"
    session = fake_stripe.sessions[page.url.rsplit("/", 1)[-1]]
    assert session["client_reference_id"] == call.params["client_reference_id"]

    await page.goto(stripe_server.base_url + "/donate/thanks")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your gift")
    await assert_no_axe_violations(page)
    await page.goto(stripe_server.base_url + "/donate/cancelled")
    await assert_no_axe_violations(page)


async def deliver(server: LiveServer, payload: dict[str, object]) -> None:
    body, headers = ev.signed(payload)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_an_admin_reads_the_donation_figures(
    stripe_server: LiveServer, admin: str, page: Page, fake_stripe: FakeStripe
) -> None:
    async with httpx.AsyncClient(base_url=stripe_server.base_url) as http:
        opened = await http.post(
            "/api/v1/donations/checkout", json={"amount_pence": 2000, "community": "home"}
        )
    assert opened.status_code == 200, opened.text
    session_id = opened.json()["checkout_url"].rsplit("/", 1)[-1]
    fake_stripe.add_payment("pi_browser", fee_pence=50)
    await deliver(
        stripe_server,
        ev.session_completed(fake_stripe.sessions[session_id], payment_intent="pi_browser"),
    )
    stranger = {"id": "cs_test_stranger", "object": "checkout.session", "currency": "gbp"}
    await deliver(stripe_server, ev.session_completed(stranger))

    await page.goto(stripe_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(admin)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Donations").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Donations")
    months = page.get_by_role("table", name="Donations per time bank and month, newest month first")
    await expect(months.get_by_role("cell", name="£19.50")).to_be_visible()  # net of the 50p fee
    await expect(page.get_by_role("cell", name="cs_test_stranger")).to_be_visible()
    await assert_no_axe_violations(page)
    await save_screenshot(page, "donations-admin")

    # Reprocess the stranger's event with the keyboard: it still matches nothing, and says so.
    stranger_event = page.get_by_role("row").filter(has_text="cs_test_stranger")
    await stranger_event.get_by_role("button", name="Reprocess event").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/admin/donations?done=kept")
    await expect(page.get_by_role("status")).to_contain_text("still matches no gift")
    await expect(stranger_event).to_contain_text("tried 1 more time")
    await assert_no_axe_violations(page)

    # At 200% zoom (a 640 px wide window) nothing scrolls sideways.
    await page.set_viewport_size({"width": 640, "height": 900})
    for path in ("/donate", "/admin/donations"):
        await page.goto(stripe_server.base_url + path)
        assert await no_sideways_scroll(page), path

"""A dispute in a real browser: a member disputes an exchange, the other adds their
account, an admin resolves it as adjusted by 30 minutes, and both members see the
outcome and their corrected balances. axe-core runs on every dispute and admin page.

The exchange itself is set up through the live server's JSON API (the browser
journey of an exchange is tests/browser/test_exchange_journey.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    ASKER_EMAIL,
    PASSWORD,
    PROVIDER_EMAIL,
    assert_no_axe_violations,
    main_nav,
    save_screenshot,
    signed_in_page,
)
from tests.support.server import LiveServer


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def members(journey_members: None) -> None:
    """The journeys' admin and two members (tests/support/browser.py)."""
    del journey_members


@pytest.fixture
async def completed_exchange(live_server: LiveServer, members: None) -> str:
    """Bert asked Maggie for 1 hour 30 minutes of help; she accepted; he confirmed."""
    del members
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        maggie = await _token(http, PROVIDER_EMAIL)
        bert = await _token(http, ASKER_EMAIL)
        me = await http.get("/api/v1/me", headers=maggie)
        proposed = await http.post(
            "/api/v1/exchanges",
            headers=bert,
            json={
                "provider_id": me.json()["id"],
                "recipient_id": (await http.get("/api/v1/me", headers=bert)).json()["id"],
                "minutes": 90,
                "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "description": "Painting the back fence",
            },
        )
        assert proposed.status_code == 201, proposed.text
        exchange_id: str = proposed.json()["id"]
        accepted = await http.post(f"/api/v1/exchanges/{exchange_id}/accept", headers=maggie)
        assert accepted.status_code == 200, accepted.text
        done = await http.post(f"/api/v1/exchanges/{exchange_id}/complete", headers=bert)
        assert done.status_code == 200, done.text
    return exchange_id


async def bert_disputes(bert: Page, live_server: LiveServer, exchange_id: str) -> None:
    await bert.goto(f"{live_server.base_url}/exchanges/{exchange_id}")
    await bert.get_by_role("link", name="dispute it").click()
    await expect(bert.get_by_role("heading", level=1)).to_have_text("Dispute an exchange")
    await assert_no_axe_violations(bert)
    await bert.get_by_role("button", name="Send the dispute").click()
    await expect(bert.get_by_role("alert")).to_contain_text("What went wrong")
    await assert_no_axe_violations(bert)
    await bert.get_by_label("What went wrong").fill("It took one hour, not ninety minutes.")
    await bert.get_by_role("button", name="Send the dispute").click()
    await bert.wait_for_url("**/disputes/*?done=opened")
    await expect(bert.get_by_role("status")).to_contain_text("Your dispute has been sent.")
    await assert_no_axe_violations(bert)


async def maggie_answers(maggie: Page) -> None:
    disputes = maggie.get_by_role("region", name="Disputes")
    await disputes.get_by_role("link").first.click()
    story = maggie.get_by_role("textbox", name="Your account")
    await story.fill("The first coat needed longer to dry.")
    await maggie.get_by_role("button", name="Add your account").click()
    await maggie.wait_for_url("**/disputes/*?done=added")
    await assert_no_axe_violations(maggie)


async def admin_adjusts(admin: Page, live_server: LiveServer) -> None:
    await main_nav(admin).get_by_role("link", name="Admin").click()
    await admin.goto(live_server.base_url + "/admin/disputes")
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Disputes waiting")
    await assert_no_axe_violations(admin)
    await admin.get_by_role("link", name="Painting the back fence").click()
    await expect(admin.get_by_text("The first coat needed longer to dry.")).to_be_visible()
    await assert_no_axe_violations(admin)
    await admin.get_by_label("Adjust: give some of the minutes back").check()
    await admin.get_by_label("Minutes to give back").fill("120")
    await admin.get_by_label("Note to both members").fill("Half an hour goes back to Bert.")
    await admin.get_by_role("button", name="Record the decision").click()
    # Every error at once, and nothing decided without the ticked box.
    summary = admin.get_by_role("alert")
    await expect(summary).to_contain_text("between 1 and 90")
    await expect(summary).to_contain_text("Tick the box to confirm the decision")
    await expect(summary).to_be_focused()
    await expect(admin.get_by_role("heading", name="Decide")).to_be_visible()
    await assert_no_axe_violations(admin)
    await admin.get_by_label("Minutes to give back").fill("30")
    await admin.get_by_label("Yes, record this decision").check()
    await admin.get_by_role("button", name="Record the decision").click()
    await admin.wait_for_url("**/admin/disputes/*?done=resolved")
    await expect(admin.get_by_text("Adjusted: some of the hours went back")).to_be_visible()
    await assert_no_axe_violations(admin)
    await admin.goto(live_server.base_url + "/admin/disputes?status=resolved")
    await assert_no_axe_violations(admin)


async def sees_the_outcome(page: Page, balance: str) -> None:
    await main_nav(page).get_by_role("link", name="Dashboard").click()
    await expect(page.locator(".balance")).to_have_text(
        f"{balance}. You can go down to minus 10 hours."
    )
    await page.get_by_role("link", name="Dispute decided: some of the hours went back").click()
    await expect(page.get_by_text("Half an hour goes back to Bert.")).to_be_visible()
    await assert_no_axe_violations(page)
    await main_nav(page).get_by_role("link", name="Statement").click()
    row = page.get_by_role("row").filter(has_text="after a dispute about 'Painting the back fence'")
    await expect(row).to_contain_text("30 minutes")


async def test_a_dispute_is_resolved_as_adjusted_by_30_minutes(
    live_server: LiveServer, completed_exchange: str, browser: Browser
) -> None:
    bert = await signed_in_page(browser, live_server, ASKER_EMAIL)
    await bert_disputes(bert, live_server, completed_exchange)
    maggie = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await maggie_answers(maggie)
    admin = await signed_in_page(browser, live_server, ADMIN_EMAIL)
    await admin_adjusts(admin, live_server)
    # 2 hours of welcome credit each; 1 hour 30 minutes moved, 30 minutes went back.
    await sees_the_outcome(bert, "You have 1 hour")
    await sees_the_outcome(maggie, "You have 3 hours")
    await save_screenshot(bert, "dispute-resolved-statement")

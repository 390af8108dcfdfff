"""Safe actions in a real browser (issue 22): nothing irreversible happens in one click.

Cancel, decline, withdraw, give and suspend each ask for a ticked box that says the
consequence in words; without it the page comes back with the error and nothing is
done. A decline carries a reason the proposer reads. The coordinator's record form
shows every error at once. The main navigation keeps to one line at 1,280 px for a
member, a coordinator and an admin. axe-core runs on every page in each state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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
    signed_in_page,
)
from tests.support.server import LiveServer

WIDE_SCREEN = {"width": 1280, "height": 800}


@pytest.fixture
def members(journey_members: None) -> None:
    """The journeys' admin and two members (tests/support/browser.py)."""
    del journey_members


async def api(live_server: LiveServer, email: str, path: str, **body: Any) -> dict[str, Any]:
    """A POST through the JSON API as `email`; the created or changed thing."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        token = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        response = await http.post(path, headers=headers, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result


async def me(live_server: LiveServer, email: str) -> str:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        token = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        response = await http.get("/api/v1/me", headers=headers)
        assert response.status_code == 200, response.text
        member_id: str = response.json()["id"]
        return member_id


async def bert_asks_maggie(live_server: LiveServer, description: str) -> str:
    """Bert proposes that Maggie helps him for an hour; the exchange's id."""
    exchange = await api(
        live_server,
        ASKER_EMAIL,
        "/api/v1/exchanges",
        provider_id=await me(live_server, PROVIDER_EMAIL),
        recipient_id=await me(live_server, ASKER_EMAIL),
        minutes=60,
        service_date=datetime.now(UTC).isoformat(),
        description=description,
    )
    exchange_id: str = exchange["id"]
    return exchange_id


async def refused_without_the_box(page: Page, button: str, message: str) -> None:
    """Press `button` with the box unticked: the error summary (focused) and nothing done."""
    await page.get_by_role("button", name=button).click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text(message)
    await expect(summary).to_be_focused()
    assert (await page.title()).startswith("Error: ")
    await assert_no_axe_violations(page)


async def test_decline_with_a_reason_and_cancel_ask_first(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    declined_id = await bert_asks_maggie(live_server, "Lift to the optician")
    maggie = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await maggie.goto(f"{live_server.base_url}/exchanges/{declined_id}")
    await expect(maggie.get_by_role("heading", name="Or decline")).to_be_visible()
    await assert_no_axe_violations(maggie)
    await maggie.get_by_label("Why you decline (optional)").fill("I am away that week")
    await refused_without_the_box(
        maggie, "Decline", "Tick the box to confirm that you want to decline the exchange"
    )
    await expect(maggie.locator(".listing-kind")).to_have_text("Waiting for acceptance")
    await expect(maggie.get_by_label("Why you decline (optional)")).to_have_value(
        "I am away that week"
    )
    await maggie.get_by_label("Yes, decline this exchange").check()
    await maggie.get_by_role("button", name="Decline").click()
    await maggie.wait_for_url("**/exchanges/*?done=declined")
    await expect(maggie.get_by_role("status")).to_contain_text("You have declined this exchange.")
    await assert_no_axe_violations(maggie)

    # The proposer reads who declined, and why.
    bert = await signed_in_page(browser, live_server, ASKER_EMAIL)
    await bert.goto(f"{live_server.base_url}/exchanges/{declined_id}")
    await expect(bert.locator(".listing-kind")).to_have_text("Called off")
    history = bert.get_by_role("region", name="History")
    await expect(history).to_contain_text("Declined by Maggie Hughes (I am away that week)")
    await assert_no_axe_violations(bert)

    # Cancelling an agreed exchange says what the helper loses.
    cancelled_id = await bert_asks_maggie(live_server, "Shopping on Friday")
    await api(live_server, PROVIDER_EMAIL, f"/api/v1/exchanges/{cancelled_id}/accept")
    await bert.goto(f"{live_server.base_url}/exchanges/{cancelled_id}")
    await expect(
        bert.get_by_text("Maggie Hughes will not get the 1 hour on hold", exact=False)
    ).to_be_visible()
    await refused_without_the_box(
        bert,
        "Cancel the exchange",
        "Tick the box to confirm that you want to cancel the exchange",
    )
    await expect(bert.locator(".listing-kind")).to_have_text("Agreed, waiting for confirmation")
    await bert.get_by_label("Yes, cancel this exchange").check()
    await bert.get_by_role("button", name="Cancel the exchange").click()
    await bert.wait_for_url("**/exchanges/*?done=cancelled")
    await expect(bert.locator(".listing-kind")).to_have_text("Called off")


async def test_withdraw_and_give_ask_first(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    listing = await api(
        live_server,
        PROVIDER_EMAIL,
        "/api/v1/listings",
        kind="offer",
        title="Help in your garden",
        description="Weeding and mowing",
        category="gardening",
    )
    maggie = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await maggie.goto(f"{live_server.base_url}/listings/{listing['id']}")
    await assert_no_axe_violations(maggie)
    await refused_without_the_box(
        maggie, "Withdraw this listing", "Tick the box to confirm that you want to withdraw it"
    )
    await expect(maggie.locator(".listing-kind")).not_to_contain_text("withdrawn")
    await maggie.get_by_label("Yes, withdraw this listing").check()
    await maggie.get_by_role("button", name="Withdraw this listing").click()
    await maggie.wait_for_url("**/listings/*?done=withdrawn")
    await expect(maggie.locator(".listing-kind")).to_contain_text("withdrawn")

    await maggie.goto(live_server.base_url + "/give")
    await maggie.get_by_label("The community pool").check()
    await maggie.get_by_label("Hours").fill("0")
    await maggie.get_by_label("Minutes").fill("15")
    await refused_without_the_box(
        maggie, "Give the hours", "Tick the box to confirm that you want to give the hours"
    )
    await main_nav(maggie).get_by_role("link", name="Dashboard").click()
    await expect(maggie.locator(".balance")).to_contain_text("You have 2 hours.")  # nothing moved
    await maggie.goto(live_server.base_url + "/give")
    await maggie.get_by_label("The community pool").check()
    await maggie.get_by_label("Hours").fill("0")
    await maggie.get_by_label("Minutes").fill("15")
    await maggie.get_by_label("Yes, make this gift").check()
    await maggie.get_by_role("button", name="Give the hours").click()
    await expect(maggie.get_by_role("status")).to_contain_text("Your hours have been given.")


async def test_suspend_asks_first_and_record_shows_every_error(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    bert_id = await me(live_server, ASKER_EMAIL)
    admin = await signed_in_page(browser, live_server, ADMIN_EMAIL)
    await admin.goto(f"{live_server.base_url}/admin/members/{bert_id}")
    await assert_no_axe_violations(admin)
    await admin.get_by_label("Reason", exact=True).fill("Reported by two neighbours")
    await refused_without_the_box(
        admin, "Suspend Bert Price", "Tick the box to confirm the suspension"
    )
    await expect(admin.get_by_text("will be signed out at once", exact=False)).to_be_visible()
    await admin.goto(f"{live_server.base_url}/admin/members/{bert_id}")
    await expect(admin.get_by_role("heading", name="Suspend this member")).to_be_visible()
    await admin.get_by_label("Reason", exact=True).fill("Reported by two neighbours")
    await admin.get_by_label("Yes, suspend Bert Price").check()
    await admin.get_by_role("button", name="Suspend Bert Price").click()
    await admin.wait_for_url("**/admin/members/*?done=suspended")
    await expect(admin.get_by_role("heading", name="Lift the suspension")).to_be_visible()

    # The record form: the same member twice, a date ahead and no description, all at once.
    await admin.goto(live_server.base_url + "/coordinator/record")
    for field in ("Who helped", "Who was helped"):
        search = admin.get_by_role("search", name=f"Find: {field}")
        await search.get_by_role("searchbox").fill("magg")
        await search.get_by_role("searchbox").press("Enter")
        await admin.get_by_role("link", name=f"Choose Maggie Hughes for “{field}”").click()
    ahead = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    await admin.get_by_label("Date of the help").fill(ahead)
    await admin.get_by_role("button", name="Record the exchange").click()
    summary = admin.get_by_role("alert")
    await expect(summary).to_contain_text("Describe the help")
    await expect(summary).to_contain_text("the provider cannot also be the recipient")
    await expect(summary).to_contain_text("a recorded exchange cannot be in the future")
    await expect(summary).to_be_focused()
    await assert_no_axe_violations(admin)


async def nav_lines(page: Page) -> int:
    """How many lines the main navigation's items take."""
    tops: list[float] = await main_nav(page).evaluate(
        "nav => Array.from(nav.querySelectorAll('li')).map(li => li.getBoundingClientRect().top)"
    )
    return len({round(top) for top in tops})


async def test_the_navigation_keeps_to_one_line_for_every_role(
    live_server: LiveServer, members: None, browser: Browser
) -> None:
    del members
    await api(
        live_server,
        ADMIN_EMAIL,
        f"/api/v1/admin/members/{await me(live_server, PROVIDER_EMAIL)}/roles",
        action="grant",
        role="coordinator",
        community="home",
        reason="ok",
    )
    # Something waits for the coordinator, so "Exchanges (1)" is at its widest.
    await bert_asks_maggie(live_server, "Lift to the optician")
    for email, links in (
        (ASKER_EMAIL, ["Statement", "Profile"]),
        (PROVIDER_EMAIL, ["Exchanges (1)", "Coordinator"]),
        (ADMIN_EMAIL, ["Admin"]),
    ):
        page = await signed_in_page(browser, live_server, email)
        await page.set_viewport_size(WIDE_SCREEN)
        for name in links:
            await expect(main_nav(page).get_by_role("link", name=name)).to_be_visible()
        assert await nav_lines(page) == 1, email
        await page.context.close()
    # A coordinator reaches the reports from the desk's menu.
    coordinator = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await main_nav(coordinator).get_by_role("link", name="Coordinator").click()
    desk_menu = coordinator.get_by_role("navigation", name="Coordinator")
    await desk_menu.get_by_role("link", name="Reports").click()
    await expect(coordinator.get_by_role("heading", level=1)).to_have_text("Council reports")
    await coordinator.context.close()
    # An admin reaches the desk and the reports from the Admin page.
    admin = await signed_in_page(browser, live_server, ADMIN_EMAIL)
    await main_nav(admin).get_by_role("link", name="Admin").click()
    await expect(admin.get_by_role("link", name="Coordinator's desk")).to_be_visible()
    await expect(admin.get_by_role("link", name="Reports")).to_be_visible()
    # Donations are not set up here: nothing links to them.
    assert await admin.locator('a[href="/admin/donations"], a[href="/donate"]').count() == 0
    await assert_no_axe_violations(admin)

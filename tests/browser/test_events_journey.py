"""Events in a real browser (issue 19, "Done when"), on both engines: a coordinator makes a
weekly club with two places from the form, three members try to go (the third joins the
waiting list), the meeting happens, the coordinator ticks the register, and the host's
statement shows the hours for hosting once, even after the register is saved again.
axe-core runs on every events page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import ADMIN_EMAIL, assert_no_axe_violations, signed_in_page
from tests.support.events import meeting_held_yesterday
from tests.support.server import LiveServer

PASSWORD = "a long browser password"
COORDINATOR = "colin@example.org"
HOST = "hana@example.org"
MEMBERS = (("maggie@example.org", "Maggie Hughes"), ("bert@example.org", "Bert Price"))
WAITER = ("dora@example.org", "Dora Lane")


async def api(http: httpx.AsyncClient, method: str, url: str, status: int, **send: Any) -> Any:
    response = await http.request(method, url, **send)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def member(http: httpx.AsyncClient, email: str, name: str) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD, "display_name": name, "community": "home"}
    created = await api(http, "POST", "/api/v1/auth/register", 201, json=body)
    token = await api(
        http, "POST", "/api/v1/auth/token", 201, json={"email": email, "password": PASSWORD}
    )
    return {"id": created["id"], "Authorization": f"Bearer {token['token']}"}


@pytest.fixture
async def club_people(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        admin = await member_token(http, ADMIN_EMAIL)
        colin = await member(http, COORDINATOR, "Colin Ward")
        await member(http, HOST, "Hana Host")
        for email, name in (*MEMBERS, WAITER):
            await member(http, email, name)
        await api(
            http,
            "POST",
            f"/api/v1/admin/members/{colin['id']}/roles",
            200,
            headers=admin,
            json={"action": "grant", "role": "coordinator", "community": "home", "reason": "club"},
        )
        # The pool the host is credited from: a member gives it some of their hours.
        giver = await member_token(http, MEMBERS[0][0])
        await api(
            http,
            "POST",
            "/api/v1/transfers",
            201,
            headers=giver,
            json={"to": "pool", "minutes": 90},
        )


async def member_token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = await api(
        http, "POST", "/api/v1/auth/token", 201, json={"email": email, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {token['token']}"}


async def make_the_club(page: Page, base_url: str) -> str:
    await page.goto(base_url + "/events")
    await page.get_by_role("link", name="Make an event").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Make an event")
    await assert_no_axe_violations(page)
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    await page.get_by_label("Title").fill("Tuesday tea club")
    await page.get_by_label("What happens").fill("Tea, cake and a chat.")
    await page.get_by_label("Date of the first meeting").fill(day)
    await page.get_by_label("Starts at").fill("14:00")
    await page.get_by_label("Ends at").fill("16:00")
    await page.get_by_label("Place", exact=True).fill("Home community hall")
    await page.get_by_label("Step-free access").check()
    await page.get_by_label("Places").fill("2")
    hana = await page.locator("#host option", has_text="Hana Host").get_attribute("value")
    assert hana is not None
    await page.get_by_label("Host", exact=True).select_option(value=hana)
    await page.get_by_label("Minutes the host is credited").fill("60")
    await page.get_by_label("Every week").check()
    await page.get_by_label("Number of meetings").fill("4")
    await page.get_by_role("button", name="Make the event").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tuesday tea club")
    await expect(page.get_by_text("Your event is made")).to_be_visible()
    await expect(page.get_by_text("Every week: meeting 1 of 4")).to_be_visible()
    await assert_no_axe_violations(page)
    return page.url.split("/events/")[1].split("?")[0]


async def try_to_go(browser: Browser, live_server: LiveServer, email: str, event_id: str) -> Page:
    page = await signed_in_page(browser, live_server, email)
    await page.goto(live_server.base_url + "/events")
    await assert_no_axe_violations(page)
    await page.get_by_role("link", name="Tuesday tea club").first.click()
    assert event_id in page.url
    return page


async def test_a_weekly_club_fills_waits_and_credits_its_host_once(
    browser: Browser, live_server: LiveServer, club_people: None
) -> None:
    base = live_server.base_url
    colin = await signed_in_page(browser, live_server, COORDINATOR)
    event_id = await make_the_club(colin, base)

    for email, _name in MEMBERS:
        page = await try_to_go(browser, live_server, email, event_id)
        await page.get_by_role("button", name="I am going").click()
        await expect(page.get_by_text("You are going.").first).to_be_visible()
        await assert_no_axe_violations(page)

    dora = await try_to_go(browser, live_server, WAITER[0], event_id)
    await expect(dora.get_by_text("This event is full.")).to_be_visible()
    await expect(dora.get_by_role("button", name="I am going")).to_have_count(0)
    await dora.get_by_role("button", name="Join the waiting list").click()
    await expect(dora.get_by_text("you are on its waiting list")).to_be_visible()
    await assert_no_axe_violations(dora)

    await meeting_held_yesterday(live_server.db.url, uuid.UUID(event_id))

    await colin.goto(f"{base}/events/{event_id}")
    await colin.get_by_role("link", name="Take the register").click()
    await expect(colin.get_by_role("heading", level=1)).to_contain_text("Register:")
    await assert_no_axe_violations(colin)
    for _email, name in MEMBERS:
        box = colin.get_by_label(name)
        await box.check()
        size = await box.bounding_box()
        assert size is not None and size["height"] >= 30  # a finger's target on a tablet
    await colin.get_by_role("button", name="Save the register").click()
    await expect(colin.get_by_text("The register is saved")).to_be_visible()
    # Saved again (a second tap, a correction): the host is not credited twice.
    await colin.get_by_role("link", name="Take the register").click()
    await expect(colin.get_by_label(MEMBERS[0][1])).to_be_checked()
    await colin.get_by_role("button", name="Save the register").click()
    await expect(colin.get_by_text("The register is saved")).to_be_visible()

    hana = await signed_in_page(browser, live_server, HOST)
    await hana.goto(base + "/statement")
    await expect(hana.get_by_text("Hosting Tuesday tea club")).to_have_count(1)
    await assert_no_axe_violations(hana)

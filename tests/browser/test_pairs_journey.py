"""A friendship pair in a real browser, on both engines (ADR 0040): the coordinator
introduces Bert (who asked for company) and Maggie (who offered it) from the suggested
pairs, sets up Maggie's weekly visits on the Pairs page, records last visit, and
records it again by its date; Maggie's statement shows the visit once. axe-core runs
on every page of the journey."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from service import clock
from service.formatting import date_words
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

COORDINATOR_EMAIL = "david@example.org"
NAMES = "Bert Price and Maggie Hughes"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
async def suggested_pair(live_server: LiveServer, journey_members: None) -> None:
    """David coordinates "home"; Bert (born 1944) asked for company, Maggie (1999) offered it."""
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
        granted = await http.post(
            f"/api/v1/admin/members/{registered.json()['id']}/roles",
            headers=await _token(http, ADMIN_EMAIL),
            json={"action": "grant", "role": "coordinator", "community": "home", "reason": "ok"},
        )
        assert granted.status_code == 200, granted.text
        for email, year, kind in ((ASKER_EMAIL, 1944, "request"), (PROVIDER_EMAIL, 1999, "offer")):
            headers = await _token(http, email)
            profile = await http.patch(
                "/api/v1/me", headers=headers, json={"birth_year": year, "ward": "Mill End"}
            )
            assert profile.status_code == 200, profile.text
            company = await http.post(
                "/api/v1/listings",
                headers=headers,
                json={
                    "kind": kind,
                    "title": f"Company ({kind})",
                    "description": "A cup of tea and a chat once a week.",
                    "category": "companionship",
                },
            )
            assert company.status_code == 201, company.text


async def introduce_and_arrange(david: Page, live_server: LiveServer, visit_weekday: int) -> None:
    await david.goto(live_server.base_url + "/coordinator/pairing")
    await david.get_by_role("button", name=f"Introduce {NAMES}").click()
    await david.wait_for_url("**/coordinator/pairs?done=introduced")
    await expect(david.get_by_role("heading", level=1)).to_have_text("Pairs")
    await expect(david.get_by_role("status")).to_contain_text("You have introduced them")
    await expect(david.get_by_text("No regular visits are set up yet.")).to_be_visible()
    await assert_no_axe_violations(david)
    await david.get_by_role("button", name=f"Save the visits of {NAMES}").click()
    await expect(david.get_by_role("alert")).to_contain_text("Enter the minutes of one visit")
    await assert_no_axe_violations(david)
    await david.get_by_label("Minutes each visit").fill("60")
    await david.get_by_label("How often").select_option(label="Every week")
    await david.get_by_label("Day of the week").select_option(label=WEEKDAYS[visit_weekday])
    starts_on = clock.local_today() - timedelta(days=30)
    await david.get_by_label("From", exact=True).fill(starts_on.isoformat())
    await david.get_by_label("The visits are in the home of the member visited").uncheck()
    await david.get_by_role("button", name=f"Save the visits of {NAMES}").click()
    await david.wait_for_url("**/coordinator/pairs?done=arranged")
    await expect(david.get_by_text("Regular visits: 1 hour, every week")).to_be_visible()
    await assert_no_axe_violations(david)


async def record_twice(david: Page, visit_on_words: str, visit_on_iso: str) -> None:
    record = f"Record the visit of {visit_on_words} ({NAMES})"
    await david.get_by_role("button", name=record).click()
    await david.wait_for_url("**/coordinator/pairs?done=recorded")
    await expect(david.get_by_role("status")).to_contain_text("The visit is recorded")
    row = david.get_by_role("row").filter(has_text=visit_on_words)
    await expect(row).to_contain_text("Recorded")
    await assert_no_axe_violations(david)
    await save_screenshot(david, "pair-visit-recorded")
    # The same visit again, by its date: the same answer, and nothing moves twice.
    await david.get_by_label(f"Date of an earlier visit of {NAMES}").fill(visit_on_iso)
    await david.get_by_role("button", name="Record that visit").click()
    await david.wait_for_url("**/coordinator/pairs?done=recorded")
    await expect(david.get_by_role("row").filter(has_text=visit_on_words)).to_contain_text(
        "Recorded"
    )


async def statement_shows_it_once(maggie: Page) -> None:
    await main_nav(maggie).get_by_role("link", name="Statement").click()
    await expect(maggie.get_by_role("heading", level=1)).to_have_text("Your statement")
    visits = maggie.get_by_role("row").filter(has_text="Friendship visit")
    await expect(visits).to_have_count(1)
    await expect(visits).to_contain_text("+1 hour")
    await assert_no_axe_violations(maggie)


async def test_a_pair_is_introduced_and_a_visit_recorded_once(
    live_server: LiveServer, suggested_pair: None, browser: Browser
) -> None:
    del suggested_pair
    visit_on = clock.local_today() - timedelta(days=3)
    david = await signed_in_page(browser, live_server, COORDINATOR_EMAIL)
    await introduce_and_arrange(david, live_server, visit_on.weekday())
    await record_twice(david, date_words(visit_on), visit_on.isoformat())
    maggie = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await statement_shows_it_once(maggie)

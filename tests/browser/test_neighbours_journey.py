"""Neighbours in a real browser (issue 18): Aisha finds Tom in the directory by the skill
"tablets", messages him from his profile, he replies, they agree an exchange from the
conversation, he accepts and she confirms it, each thanks the other from the exchange
page, and the thanks show on their profiles. Tom keeps his listings on "my listings".
axe-core runs on every page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    assert_no_axe_violations,
    main_nav,
    save_screenshot,
    signed_in_page,
)
from tests.support.server import LiveServer

AISHA = "aisha@example.org"
TOM = "tom@example.org"
PASSWORD = "a long browser password"


async def api(http: httpx.AsyncClient, method: str, url: str, status: int, **send: Any) -> Any:
    response = await http.request(method, url, **send)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def member(http: httpx.AsyncClient, email: str, name: str, **profile: str) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD, "display_name": name, "community": "home"}
    await api(http, "POST", "/api/v1/auth/register", 201, json=body)
    token = await api(
        http, "POST", "/api/v1/auth/token", 201, json={"email": email, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token['token']}"}
    if profile:
        await api(http, "PATCH", "/api/v1/me", 200, headers=headers, json=profile)
    return headers


@pytest.fixture
async def people(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    live_server.run_cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        aisha = await member(
            http, AISHA, "Aisha Khan", help_wanted="Learning to video call my family"
        )
        tom = await member(
            http, TOM, "Tom Baker", skills="Setting up tablets and phones", ward="Riverside"
        )
        await member(http, "gardener@example.org", "Gina Green", skills="Gardening")
        me = await api(http, "GET", "/api/v1/me", 200, headers=tom)
        aisha_me = await api(http, "GET", "/api/v1/me", 200, headers=aisha)
        await api(
            http,
            "POST",
            "/api/v1/listings",
            201,
            headers=tom,
            json={
                "kind": "offer",
                "title": "Tablet help at your kitchen table",
                "description": "I can set up a tablet and show you video calls.",
                "category": "shopping",
            },
        )
    return {"aisha": aisha, "tom": tom, "tom_id": me["id"], "aisha_id": aisha_me["id"]}


async def completed_exchange(live_server: LiveServer, people: dict[str, Any]) -> str:
    """Aisha asks Tom for help, Tom accepts, Aisha confirms: the API, as in the pages."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        exchange = await api(
            http,
            "POST",
            "/api/v1/exchanges",
            201,
            headers=people["aisha"],
            json={
                "provider_id": people["tom_id"],
                "recipient_id": people["aisha_id"],
                "minutes": 60,
                "service_date": "2026-01-05T10:00:00+00:00",
                "description": "Setting up video calls on a tablet",
            },
        )
        url = f"/api/v1/exchanges/{exchange['id']}"
        await api(http, "POST", url + "/accept", 200, headers=people["tom"])
        await api(http, "POST", url + "/complete", 200, headers=people["aisha"])
    exchange_id: str = exchange["id"]
    return exchange_id


async def find_tom_by_skill(page: Page) -> None:
    await main_nav(page).get_by_role("link", name="Neighbours").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Neighbours")
    await assert_no_axe_violations(page)
    await page.get_by_label("What they can help with").fill("tablets")
    await page.get_by_role("button", name="Search").click()
    await expect(
        page.get_by_role("heading", name="Neighbours who match your search")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="Tom Baker")).to_be_visible()
    await expect(page.get_by_role("link", name="Gina Green")).to_have_count(0)
    await assert_no_axe_violations(page)
    await page.get_by_role("link", name="Tom Baker").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tom Baker")
    await expect(page.get_by_text("Setting up tablets and phones")).to_be_visible()
    await expect(page.get_by_text("No thank-you notes yet.")).to_be_visible()
    await expect(page.get_by_text("@example.org")).to_have_count(0)
    await assert_no_axe_violations(page)


def base_of(page: Page) -> str:
    scheme, _, host = page.url.split("/")[:3]
    return f"{scheme}//{host}"


async def thank_from_the_exchange(page: Page, exchange_id: str, note: str) -> None:
    await page.goto(base_of(page) + f"/exchanges/{exchange_id}")
    section = page.get_by_role("region", name="Say thank you")
    await expect(section).to_be_visible()
    await assert_no_axe_violations(page)
    await section.get_by_label("A short thank-you note, shown on their profile").fill(note)
    await section.get_by_role("button", name="Send my thanks").click()
    await page.wait_for_url(f"**/exchanges/{exchange_id}?done=thanked")
    await expect(page.get_by_role("status")).to_contain_text("Your thank-you note")
    await expect(page.get_by_text(f"You thanked them: “{note}”")).to_be_visible()
    await assert_no_axe_violations(page)


async def sees_thanks_on_profile(page: Page, base_url: str, member_id: str, note: str) -> None:
    await page.goto(f"{base_url}/members/{member_id}")
    thanks = page.get_by_role("region", name="Thanks received")
    await expect(thanks).to_contain_text(note)
    await assert_no_axe_violations(page)


async def message_tom_from_his_profile(aisha: Page, text: str) -> None:
    await aisha.get_by_role("link", name="Send Tom Baker a message").click()
    await expect(aisha.get_by_role("heading", level=1)).to_have_text("Message Tom Baker")
    await assert_no_axe_violations(aisha)
    await aisha.get_by_label("Your message").fill(text)
    await aisha.get_by_role("button", name="Send the message").click()
    await expect(aisha.get_by_role("heading", level=1)).to_have_text("Conversation with Tom Baker")
    await expect(aisha.get_by_text(text)).to_be_visible()


async def tom_replies(tom: Page, question: str, reply: str) -> None:
    await tom.reload()
    await main_nav(tom).get_by_role("link", name="Messages (1 unread)").click()
    await tom.get_by_role("link", name="Aisha Khan").click()
    await expect(tom.get_by_text(question)).to_be_visible()
    await assert_no_axe_violations(tom)
    await tom.get_by_label("Your message").fill(reply)
    await tom.get_by_role("button", name="Send the reply").click()
    await expect(tom.get_by_text(reply)).to_be_visible()
    # Read by opening it: the navigation no longer counts it.
    await expect(main_nav(tom).get_by_role("link", name="Messages", exact=True)).to_be_visible()


async def agree_an_exchange_from_the_conversation(aisha: Page, reply: str) -> str:
    await main_nav(aisha).get_by_role("link", name="Dashboard").click()
    await main_nav(aisha).get_by_role("link", name="Messages (1 unread)").click()
    await aisha.get_by_role("link", name="Tom Baker").click()
    await expect(aisha.get_by_text(reply)).to_be_visible()
    await aisha.get_by_role("link", name="Agree an exchange with Tom Baker").click()
    await expect(aisha.get_by_role("heading", level=1)).to_have_text("Propose an exchange")
    await expect(aisha.get_by_text("Tom Baker")).not_to_have_count(0)
    await assert_no_axe_violations(aisha)
    await aisha.get_by_label("They will help me").check()
    await aisha.get_by_label("Hours").fill("1")
    await aisha.get_by_label("Minutes").fill("0")
    await aisha.get_by_label("What the help is").fill("Setting up video calls on a tablet")
    await aisha.get_by_role("button", name="Send the proposal").click()
    await aisha.wait_for_url("**/exchanges/*")
    await expect(aisha.get_by_role("heading", level=1)).to_contain_text(
        "Setting up video calls on a tablet"
    )
    return aisha.url.split("/exchanges/")[1].split("?")[0]


async def tom_accepts_and_aisha_confirms(tom: Page, aisha: Page, exchange_id: str) -> None:
    await tom.goto(base_of(tom) + f"/exchanges/{exchange_id}")
    await tom.get_by_role("button", name="Accept").click()
    await expect(tom.get_by_role("status")).to_be_visible()
    await aisha.goto(base_of(aisha) + f"/exchanges/{exchange_id}")
    await aisha.get_by_role("button", name="Confirm the help happened").click()
    await expect(aisha.get_by_role("status")).to_be_visible()
    await assert_no_axe_violations(aisha)


async def test_neighbours_find_each_other_talk_agree_and_say_thank_you(
    live_server: LiveServer, people: dict[str, Any], browser: Browser
) -> None:
    aisha = await signed_in_page(browser, live_server, AISHA)
    tom = await signed_in_page(browser, live_server, TOM)
    await find_tom_by_skill(aisha)
    question = "Could you help me set up video calls with my grandchildren?"
    reply = "Of course. Would Tuesday morning suit you?"
    await message_tom_from_his_profile(aisha, question)
    await tom_replies(tom, question, reply)
    exchange_id = await agree_an_exchange_from_the_conversation(aisha, reply)
    await tom_accepts_and_aisha_confirms(tom, aisha, exchange_id)

    await thank_from_the_exchange(aisha, exchange_id, "Tom was so patient with me. Thank you!")
    await thank_from_the_exchange(tom, exchange_id, "Lovely to meet you, Aisha.")

    base = live_server.base_url
    await sees_thanks_on_profile(aisha, base, people["tom_id"], "Tom was so patient with me.")
    await sees_thanks_on_profile(tom, base, people["aisha_id"], "Lovely to meet you, Aisha.")
    # Tom's own profile: his thanks, and a way to hide each note.
    await sees_thanks_on_profile(tom, base, people["tom_id"], "Tom was so patient with me.")
    await tom.get_by_role("button", name="Hide from my profile").click()
    await expect(tom.get_by_role("status")).to_contain_text("hidden from your profile")
    await assert_no_axe_violations(tom)
    await aisha.goto(f"{base}/members/{people['tom_id']}")
    await expect(aisha.get_by_text("No thank-you notes yet.")).to_be_visible()
    await save_screenshot(tom, "neighbours-profile")


async def test_thanks_after_an_exchange_made_through_the_api(
    live_server: LiveServer, people: dict[str, Any], browser: Browser
) -> None:
    """The thank-you form works the same for an exchange agreed outside the pages."""
    aisha = await signed_in_page(browser, live_server, AISHA)
    exchange_id = await completed_exchange(live_server, people)
    await thank_from_the_exchange(aisha, exchange_id, "Thank you, Tom!")
    await sees_thanks_on_profile(aisha, live_server.base_url, people["tom_id"], "Thank you, Tom!")


async def test_my_listings_pause_and_renew(
    live_server: LiveServer, people: dict[str, Any], browser: Browser
) -> None:
    del people
    tom = await signed_in_page(browser, live_server, TOM)
    await tom.goto(live_server.base_url + "/my-listings")
    await expect(tom.get_by_role("heading", level=1)).to_have_text("My listings")
    await assert_no_axe_violations(tom)
    await tom.get_by_role("button", name="Pause Tablet help at your kitchen table").click()
    await expect(tom.get_by_role("status")).to_contain_text("Your listing is paused")
    await expect(tom.locator(".listing-meta")).to_contain_text("Paused")
    await assert_no_axe_violations(tom)
    await tom.get_by_role("button", name="Resume Tablet help at your kitchen table").click()
    await expect(tom.get_by_role("status")).to_contain_text("back in the search")
    await tom.get_by_role("button", name="Renew Tablet help at your kitchen table").click()
    await expect(tom.get_by_role("status")).to_contain_text("renewed")
    await assert_no_axe_violations(tom)

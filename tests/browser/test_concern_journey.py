"""Messages and a concern in a real browser, on both engines: Bert asks about Maggie's
listing with a message holding a <script> and a link, which Maggie sees as plain text;
she reports the worrying message; the coordinator reads it on the concern, closes it
with an outcome, and Maggie sees the notice and the outcome. She blocks Bert and
unblocks him from settings. The coordinator's suggested pairs show Bert (who asked
for company) with Maggie (who offered it). axe-core runs on every page of the journey.
"""

from __future__ import annotations

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

COORDINATOR_EMAIL = "david@example.org"
WORRYING = (
    'Send me your bank card <script>alert("x")</script> '
    '<a href="https://evil.example/">here</a> or at https://evil.example/pay'
)


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
async def listing_id(live_server: LiveServer, journey_members: None) -> str:
    """Maggie offers tablet lessons; David coordinates "home"."""
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
        created = await http.post(
            "/api/v1/listings",
            headers=await _token(http, PROVIDER_EMAIL),
            json={
                "kind": "offer",
                "title": "Tablet lessons",
                "description": "I can show you how to video call your family.",
                "category": "technology",
            },
        )
        assert created.status_code == 201, created.text
        new_id: str = created.json()["id"]
        # A pair for the coordinator's suggestions: Bert asked for company, Maggie offered it.
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
    return new_id


async def bert_asks(bert: Page, live_server: LiveServer, listing_id: str) -> None:
    await bert.goto(f"{live_server.base_url}/listings/{listing_id}")
    await bert.get_by_role("link", name="Ask a question").click()
    await expect(bert.get_by_role("heading", level=1)).to_have_text("Message Maggie Hughes")
    await assert_no_axe_violations(bert)
    await bert.get_by_role("button", name="Send the message").click()
    await expect(bert.get_by_role("alert")).to_contain_text("Your message")
    await assert_no_axe_violations(bert)
    await bert.get_by_label("Your message").fill(WORRYING)
    await bert.get_by_role("button", name="Send the message").click()
    await bert.wait_for_url("**/messages/*?done=sent")
    await assert_no_axe_violations(bert)


async def maggie_reads_and_reports(maggie: Page) -> None:
    dialogs: list[str] = []
    maggie.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await main_nav(maggie).get_by_role("link", name="Messages (1 unread)").click()
    await expect(maggie.get_by_role("heading", level=1)).to_have_text("Messages")
    await assert_no_axe_violations(maggie)
    await maggie.get_by_role("link", name="Bert Price").click()
    await expect(maggie.get_by_role("heading", level=1)).to_have_text(
        "Conversation with Bert Price"
    )
    # The message shows as the characters typed: no script ran, no link was made.
    await expect(maggie.locator(".message-body")).to_have_text(WORRYING)
    assert await maggie.locator("main a[href^='https://evil.example']").count() == 0
    assert await maggie.locator("main script").count() == 0
    assert dialogs == []
    await expect(main_nav(maggie).get_by_role("link", name="Messages", exact=True)).to_be_visible()
    await assert_no_axe_violations(maggie)
    await save_screenshot(maggie, "message-as-text")
    await maggie.get_by_role("link", name="Report a concern about this conversation").click()
    await expect(maggie.get_by_role("heading", level=1)).to_have_text("Report a concern")
    await assert_no_axe_violations(maggie)
    await maggie.get_by_label("What worries you").fill("Bert asked for my bank card.")
    await maggie.get_by_role("button", name="Send to the coordinators").click()
    await maggie.wait_for_url("**/concerns?done=reported")
    await expect(maggie.get_by_role("status")).to_contain_text("Your concern has gone")
    await assert_no_axe_violations(maggie)


async def coordinator_closes(david: Page, live_server: LiveServer) -> None:
    await david.goto(live_server.base_url + "/coordinator/concerns")
    await expect(david.get_by_role("heading", level=1)).to_have_text("Concerns")
    await assert_no_axe_violations(david)
    await david.get_by_role("link", name="Bert asked for my bank card.").click()
    await expect(david.locator(".message-thread .message-body")).to_have_text(WORRYING)
    await assert_no_axe_violations(david)
    await david.get_by_role("button", name="Close the concern").click()
    await expect(david.get_by_role("alert")).to_contain_text("Outcome")
    await assert_no_axe_violations(david)
    await david.get_by_label("Outcome").fill("I called Bert; he will not ask again.")
    await david.get_by_role("button", name="Close the concern").click()
    await david.wait_for_url("**/coordinator/concerns/*?done=closed")
    await expect(david.get_by_role("status")).to_contain_text("The concern is closed")
    await assert_no_axe_violations(david)
    await david.goto(live_server.base_url + "/coordinator/concerns?status=closed")
    await assert_no_axe_violations(david)
    await david.goto(live_server.base_url + "/coordinator/pairing")
    await expect(david.get_by_role("heading", level=1)).to_have_text("Suggested pairs")
    await expect(
        david.get_by_role("button", name="Introduce Bert Price and Maggie Hughes")
    ).to_be_visible()
    await expect(david.get_by_role("row").filter(has_text="Mill End").first).to_contain_text(
        "The same ward"
    )
    await assert_no_axe_violations(david)


async def maggie_sees_the_outcome_and_blocks(maggie: Page) -> None:
    await main_nav(maggie).get_by_role("link", name="Dashboard").click()
    await maggie.get_by_role("link", name="The concern you reported has been looked at").click()
    await expect(
        maggie.get_by_text("Outcome: I called Bert; he will not ask again.")
    ).to_be_visible()
    await assert_no_axe_violations(maggie)
    await main_nav(maggie).get_by_role("link", name="Messages", exact=True).click()
    await maggie.get_by_role("link", name="Bert Price").click()
    await maggie.get_by_role("button", name="Block Bert Price").click()
    await maggie.wait_for_url("**/settings/blocked?done=blocked")
    await assert_no_axe_violations(maggie)
    await maggie.get_by_role("button", name="Unblock Bert Price").click()
    await maggie.wait_for_url("**/settings/blocked?done=unblocked")
    await expect(maggie.get_by_text("You have not blocked anyone.")).to_be_visible()


async def test_a_worrying_message_is_reported_and_the_concern_closed(
    live_server: LiveServer, listing_id: str, browser: Browser
) -> None:
    bert = await signed_in_page(browser, live_server, ASKER_EMAIL)
    await bert_asks(bert, live_server, listing_id)
    maggie = await signed_in_page(browser, live_server, PROVIDER_EMAIL)
    await maggie_reads_and_reports(maggie)
    david = await signed_in_page(browser, live_server, COORDINATOR_EMAIL)
    await coordinator_closes(david, live_server)
    await maggie_sees_the_outcome_and_blocks(maggie)

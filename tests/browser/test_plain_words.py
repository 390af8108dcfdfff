"""Issue 22, items 1, 2, 3 and the admin half of 6, walked in a real browser.

- Pages speak in words: no ISO date, no uuid, no JSON on the exchange history, the
  statement, the dispute pages and the audit log.
- The statement: movements only (never an "(on hold) - no change yet" line, least of all
  on the helper's), holds as a separate note, both dates labelled, a running balance,
  and a correction in plain words.
- Every balance with its room; a new member is led to a first step.
- An admin corrects a member's details and keeps a private note; both are audited, and
  the member never sees the note.

The exchanges are set up through the live server's JSON API; axe runs on every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    signed_in_page,
)
from tests.support.server import LiveServer

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def assert_plain(page: Page) -> None:
    """What a person reads on the page: no ISO date, no uuid, no JSON."""
    text = await page.locator("main").inner_text()
    assert not ISO_DATE.search(text), ISO_DATE.search(text)
    assert not UUID_TEXT.search(text), UUID_TEXT.search(text)
    assert "{" not in text, text
    await assert_no_axe_violations(page)


@dataclass(frozen=True)
class Story:
    """Bert was helped by Maggie (1 hour 30 minutes, disputed, 30 minutes went back),
    then agreed a second exchange with her (1 hour on hold on Bert's side); a
    coordinator recorded a third."""

    disputed_exchange_id: str
    dispute_id: str
    held_exchange_id: str
    recorded_exchange_id: str
    maggie_id: str


@pytest.fixture
async def story(live_server: LiveServer, journey_members: None) -> Story:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        maggie = await _token(http, PROVIDER_EMAIL)
        bert = await _token(http, ASKER_EMAIL)
        admin = await _token(http, ADMIN_EMAIL)
        maggie_id = (await http.get("/api/v1/me", headers=maggie)).json()["id"]
        bert_id = (await http.get("/api/v1/me", headers=bert)).json()["id"]

        async def proposed(minutes: int, description: str) -> str:
            response = await http.post(
                "/api/v1/exchanges",
                headers=bert,
                json={
                    "provider_id": maggie_id,
                    "recipient_id": bert_id,
                    "minutes": minutes,
                    "service_date": yesterday,
                    "description": description,
                },
            )
            assert response.status_code == 201, response.text
            exchange_id: str = response.json()["id"]
            accepted = await http.post(f"/api/v1/exchanges/{exchange_id}/accept", headers=maggie)
            assert accepted.status_code == 200, accepted.text
            return exchange_id

        disputed = await proposed(90, "Lift to the optician")
        done = await http.post(f"/api/v1/exchanges/{disputed}/complete", headers=bert)
        assert done.status_code == 200, done.text
        opened = await http.post(
            f"/api/v1/exchanges/{disputed}/dispute",
            headers=bert,
            json={"reason": "It took one hour, not ninety minutes."},
        )
        assert opened.status_code == 201, opened.text
        dispute_id: str = opened.json()["id"]
        resolved = await http.post(
            f"/api/v1/admin/disputes/{dispute_id}/resolve",
            headers=admin,
            json={"outcome": "adjusted", "minutes": 30, "note": "Half an hour goes back."},
        )
        assert resolved.status_code == 200, resolved.text
        held = await proposed(60, "Help with a form")
        recorded = await http.post(
            "/api/v1/coordinator/exchanges",
            headers=admin,
            json={
                "provider_id": bert_id,
                "recipient_id": maggie_id,
                "minutes": 30,
                "service_date": yesterday,
                "description": "Watered the plants",
            },
        )
        assert recorded.status_code == 201, recorded.text
    return Story(disputed, dispute_id, held, recorded.json()["id"], maggie_id)


async def test_exchange_history_and_dispute_pages_speak_in_words(
    chromium: Browser, live_server: LiveServer, story: Story
) -> None:
    bert = await signed_in_page(chromium, live_server, ASKER_EMAIL)
    await bert.goto(f"{live_server.base_url}/exchanges/{story.held_exchange_id}")
    history = bert.locator(".history")
    await expect(history).to_contain_text("Accepted by Maggie Hughes (the hours are on hold until")
    await expect(bert.get_by_text("The hours have not moved yet.")).to_be_visible()
    await assert_plain(bert)

    await bert.goto(f"{live_server.base_url}/exchanges/{story.recorded_exchange_id}")
    await expect(bert.locator(".history")).to_contain_text(
        "Recorded by Ada Admin, a coordinator (the help happened on "
    )
    await assert_plain(bert)

    await bert.goto(f"{live_server.base_url}/disputes/{story.dispute_id}")
    await assert_plain(bert)
    await bert.goto(f"{live_server.base_url}/disputes")
    await assert_plain(bert)

    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    await admin.goto(f"{live_server.base_url}/admin/disputes/{story.dispute_id}")
    exchange_history = admin.get_by_role("region", name="The exchange's history").or_(
        admin.locator("section", has=admin.get_by_role("heading", name="The exchange's history"))
    )
    await expect(exchange_history).to_contain_text("Proposed by Bert Price")
    await expect(exchange_history).to_contain_text("Confirmed the help happened by Bert Price")
    await expect(exchange_history).not_to_contain_text("propose by")
    await assert_plain(admin)


async def test_the_helpers_statement_has_movements_a_running_balance_and_plain_corrections(
    chromium: Browser, live_server: LiveServer, story: Story
) -> None:
    maggie = await signed_in_page(chromium, live_server, PROVIDER_EMAIL)
    await maggie.goto(f"{live_server.base_url}/statement")
    table = maggie.get_by_role("table")
    await expect(table.get_by_role("caption")).to_have_text(
        "Hours in and out of your account, newest first by the date recorded"
    )
    for heading in ("Recorded on", "The help happened on", "Change", "Balance after"):
        await expect(table.get_by_role("columnheader", name=heading)).to_be_visible()
    main_text = await maggie.locator("main").inner_text()
    assert "on hold" not in main_text.lower()  # Maggie's hours were never on hold
    assert "no change yet" not in main_text
    # Welcome 2 hours, +1:30 help given, -30 taken back, -30 help received: newest first.
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.nth(0)).to_contain_text("Help received: Watered the plants")
    await expect(rows.nth(0)).to_contain_text("2 hours 30 minutes")
    await expect(rows.nth(1)).to_contain_text(
        "30 minutes taken back after a dispute about 'Lift to the optician'"
    )
    await expect(rows.nth(1)).to_contain_text("3 hours")
    await expect(rows.nth(2)).to_contain_text("Help given: Lift to the optician")
    await expect(rows.nth(2)).to_contain_text("3 hours 30 minutes")
    await expect(rows.nth(3)).to_contain_text("Welcome hours")
    await expect(maggie.locator("p.balance")).to_have_text(
        "You have 2 hours 30 minutes. You can go down to minus 10 hours."
    )
    await assert_plain(maggie)

    bert = await signed_in_page(chromium, live_server, ASKER_EMAIL)
    await bert.goto(f"{live_server.base_url}/statement")
    holds = bert.get_by_role("region", name="On hold").or_(
        bert.locator("section", has=bert.get_by_role("heading", name="On hold"))
    )
    await expect(holds).to_contain_text("1 hour for Help with a form (help from Maggie Hughes)")
    await expect(bert.get_by_role("table")).not_to_contain_text("Help with a form")
    await expect(bert.get_by_role("table")).to_contain_text(
        "30 minutes given back after a dispute about 'Lift to the optician'"
    )
    await assert_plain(bert)

    # The coordinator's view of Maggie: the same lines, her balance with its room.
    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    await admin.goto(f"{live_server.base_url}/coordinator/members/{story.maggie_id}")
    await expect(admin.get_by_text("They can go down to minus 10 hours.")).to_be_visible()
    desk_rows = admin.get_by_role("table").locator("tbody tr")
    await expect(desk_rows).to_have_count(4)
    await expect(desk_rows.nth(1)).to_contain_text(
        "30 minutes taken back after a dispute about 'Lift to the optician'"
    )
    assert "on hold" not in (await admin.locator("main").inner_text()).lower()
    await assert_plain(admin)


async def test_a_new_member_sees_the_next_steps_and_a_balance_with_its_room(
    chromium: Browser,
    live_server: LiveServer,
    journey_members: None,
) -> None:
    maggie = await signed_in_page(chromium, live_server, PROVIDER_EMAIL)
    next_steps = maggie.locator(
        "section", has=maggie.get_by_role("heading", name="What to do next")
    )
    await expect(next_steps.get_by_role("link", name="Find help")).to_be_visible()
    await expect(next_steps.get_by_role("link", name="Offer help")).to_be_visible()
    # The next steps come before the figures.
    headings = await maggie.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("What to do next") < headings.index("Your hours"), headings
    await expect(maggie.locator("p.balance")).to_have_text(
        "You have 2 hours. You can go down to minus 10 hours."
    )
    await assert_plain(maggie)
    await next_steps.get_by_role("link", name="How the time bank works").click()
    await expect(maggie.get_by_role("heading", level=1)).to_have_text("How the time bank works")
    await expect(
        maggie.get_by_role("heading", name="Your first exchange, step by step")
    ).to_be_visible()
    await assert_plain(maggie)


async def test_the_audit_log_names_people_and_things(
    chromium: Browser, live_server: LiveServer, story: Story
) -> None:
    del story
    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    await admin.goto(f"{live_server.base_url}/admin/audit")
    table = admin.get_by_role("table")
    resolved = table.get_by_role("row").filter(has_text="Resolved a dispute")
    await expect(resolved).to_contain_text("the dispute about 'Lift to the optician'")
    await expect(resolved).to_contain_text("Ada Admin")
    recorded = table.get_by_role("row").filter(has_text="Recorded an exchange")
    await expect(recorded).to_contain_text("Watered the plants")
    await assert_plain(admin)


async def test_an_admin_corrects_a_members_details_and_keeps_a_private_note(
    chromium: Browser,
    live_server: LiveServer,
    journey_members: None,
) -> None:
    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    await admin.goto(f"{live_server.base_url}/admin/members?q=Maggie")
    await admin.get_by_role("link", name="Maggie Hughes").click()
    details = admin.locator("form", has=admin.get_by_role("button", name="Save their details"))
    await details.get_by_label("Phone").fill("not a phone")
    await details.get_by_label("Name", exact=True).fill("")
    await details.get_by_role("button", name="Save their details").click()
    summary = admin.get_by_role("alert")
    await expect(summary).to_contain_text("Enter their name")
    await expect(summary).to_contain_text("Enter a phone number")
    await assert_no_axe_violations(admin)

    await details.get_by_label("Name", exact=True).fill("Maggie Hughes-Jones")
    await details.get_by_label("Phone").fill("01632 960 123")
    await details.get_by_label("Neighbourhood or ward").fill("Northside")
    await details.get_by_label("Why (optional)").fill("She asked by phone.")
    await details.get_by_role("button", name="Save their details").click()
    await expect(admin.get_by_role("status").first).to_contain_text("Their details have been saved")
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Maggie Hughes-Jones")

    await admin.get_by_label("Add a note").fill("Prefers a phone call after 10 am.")
    await admin.get_by_role("button", name="Add the note").click()
    await expect(admin.get_by_role("status").first).to_contain_text("Your note has been added")
    notes = admin.locator("section", has=admin.get_by_role("heading", name="Private notes"))
    await expect(notes).to_contain_text("Prefers a phone call after 10 am.")
    await expect(notes).to_contain_text("Ada Admin")
    await assert_plain(admin)

    await admin.goto(f"{live_server.base_url}/admin/audit")
    table = admin.get_by_role("table")
    changed = table.get_by_role("row").filter(has_text="Changed a member's details")
    await expect(changed).to_contain_text("Maggie Hughes-Jones")
    await expect(changed).to_contain_text("was Maggie Hughes, now Maggie Hughes-Jones")
    await expect(changed).to_contain_text("She asked by phone.")
    await expect(changed).not_to_contain_text("01632")
    noted = table.get_by_role("row").filter(has_text="Added a private note on a member")
    await expect(noted).not_to_contain_text("Prefers a phone call")
    await assert_plain(admin)

    # The member never sees the note: not on her pages, not in her data.
    maggie = await signed_in_page(chromium, live_server, PROVIDER_EMAIL)
    for path in ("/dashboard", "/profile"):
        await maggie.goto(live_server.base_url + path)
        await expect(maggie.locator("main")).not_to_contain_text("Prefers a phone call")
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        export = await http.get("/api/v1/me/export", headers=await _token(http, PROVIDER_EMAIL))
        assert export.status_code == 200, export.text
        assert "Prefers a phone call" not in export.text
        assert "Northside" in export.text

"""Issue 20, item 1: every page on a 390 px and a 320 px phone, and the navigation at 1,280 px.

On each page, as the role that may see it (nobody, a member, the admin, who is also the
coordinator and may see the reports): no sideways scrolling, every table stacked into
cards with each value after its column's name (and still a table, headers and all, to a
screen reader), and axe finds nothing. The town has a statement line, an exchange, a
dispute and a listing whose title is one long word, so the tables have rows and the
listings page has something to wrap. At 1,280 px the main navigation is one line for
each role (it differs only by role, so one page a role is enough), and on a phone the
menu button opens without JavaScript.

One test, so the town is built once an engine. Cost (measured on a 2-core machine,
one Chromium per session): 46 s on SQLite and 58 s on PostgreSQL, plus about 15 s of
set-up each; axe is about two thirds of it.
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
    main_nav,
    signed_in_page,
)
from tests.support.server import LiveServer

PHONE_WIDTHS_PX = (390, 320)
WIDE_PX = 1280
HEIGHT_PX = 800
STACKED_BELOW_PX = 640  # 40em: site.css stacks tables under this width
LONG_WORD = "Gardening" + "andhedgetrimmingandlawnmowing" * 3  # no space to break at

PUBLIC_PAGES = (
    "/",
    "/how-it-works",
    "/privacy",
    "/register",
    "/sign-in",
    "/forgot-password",
    "/account/closed",
    "/static/offline.html",
)
MEMBER_PAGES = (
    "/dashboard",
    "/profile",
    "/account",
    "/account/close",
    "/account/notifications",
    "/listings",
    "/listings/new",
    "/my-listings",
    "/listings/{listing}",
    "/listings/print",
    "/exchanges",
    "/exchanges/new",
    "/exchanges/{exchange}",
    "/give",
    "/statement",
    "/statement/print",
    "/disputes",
    "/disputes/{dispute}",
    "/messages",
    "/concerns",
    "/concerns/new",
    "/members",
    "/settings/blocked",
    "/events",
)
ADMIN_PAGES = (
    "/admin",
    "/admin/members",
    "/admin/members/{bert}",
    "/admin/roles",
    "/admin/communities",
    "/admin/disputes",
    "/admin/disputes/{dispute}",
    "/admin/audit",
    "/admin/ledger",
    "/admin/outbox",
    "/coordinator/members",
    "/coordinator/members/new",
    "/coordinator/members/{bert}",
    "/coordinator/record",
    "/coordinator/grant",
    "/coordinator/settings",
    "/coordinator/concerns",
    "/coordinator/pairing",
    "/coordinator/pairs",
    "/events/new",
    "/reports",
)

# For each table in <main>: its column names, and for each body or footer row the
# cells' labels, what ::before shows, and whether the cell has anything in it.
TABLES_SCRIPT = """
() => [...document.querySelectorAll("main table")].map((table) => {
  const head = table.tHead ? table.tHead.rows[0] : null;
  const columns = head ? [...head.cells].map((cell) => cell.textContent.trim()) : [];
  const rows = [...table.tBodies].flatMap((body) => [...body.rows]);
  if (table.tFoot) rows.push(...table.tFoot.rows);
  return {
    stacked: table.classList.contains("stack"),
    columns,
    rows: rows.map((row) => [...row.cells].map((cell) => ({
      tag: cell.tagName,
      label: cell.dataset.label ?? null,
      before: getComputedStyle(cell, "::before").content,
      filled: cell.textContent.trim() !== "",
      display: getComputedStyle(cell).display,
    }))),
  };
})
"""


@dataclass(frozen=True)
class Story:
    listing_id: str
    exchange_id: str
    dispute_id: str
    bert_id: str

    def fill(self, path: str) -> str:
        return path.format(
            listing=self.listing_id,
            exchange=self.exchange_id,
            dispute=self.dispute_id,
            bert=self.bert_id,
        )


async def _bearer(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
async def story(live_server: LiveServer, journey_members: None) -> Story:
    """Maggie offers help under a one-word title; she helped Bert, who disputes the time."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        maggie = await _bearer(http, PROVIDER_EMAIL)
        bert = await _bearer(http, ASKER_EMAIL)
        maggie_id = (await http.get("/api/v1/me", headers=maggie)).json()["id"]
        bert_id = (await http.get("/api/v1/me", headers=bert)).json()["id"]
        listing = await http.post(
            "/api/v1/listings",
            headers=maggie,
            json={
                "kind": "offer",
                "title": LONG_WORD,
                "description": LONG_WORD,
                "category": "gardening",
            },
        )
        assert listing.status_code == 201, listing.text
        proposed = await http.post(
            "/api/v1/exchanges",
            headers=bert,
            json={
                "provider_id": maggie_id,
                "recipient_id": bert_id,
                "minutes": 90,
                "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "description": "Lift to the optician " + LONG_WORD,
            },
        )
        assert proposed.status_code == 201, proposed.text
        exchange_id: str = proposed.json()["id"]
        for path, who in (("accept", maggie), ("complete", bert)):
            moved = await http.post(f"/api/v1/exchanges/{exchange_id}/{path}", headers=who)
            assert moved.status_code == 200, moved.text
        opened = await http.post(
            f"/api/v1/exchanges/{exchange_id}/dispute",
            headers=bert,
            json={"reason": "It took one hour, not ninety minutes."},
        )
        assert opened.status_code == 201, opened.text
    return Story(listing.json()["id"], exchange_id, opened.json()["id"], bert_id)


async def assert_fits(page: Page, where: str) -> None:
    widths = await page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    scroll_width, inner_width = widths
    assert scroll_width <= inner_width, f"{where}: {scroll_width} px wide in {inner_width} px"


async def assert_tables_keep_their_meaning(page: Page, where: str) -> int:
    """Every stacked row shows each filled cell after its own column's name, and each row
    has a cell for every column; the table is still a table with column headers to
    assistive technology. Returns how many rows were checked."""
    rows_checked = 0
    tables = await page.evaluate(TABLES_SCRIPT)
    for index, table in enumerate(tables):
        assert table["stacked"], f"{where}: table {index} is not a stacked table"
        columns = table["columns"]
        for row in table["rows"]:
            assert len(row) == len(columns), f"{where}: {len(row)} cells for {columns}"
            for column, cell in zip(columns, row, strict=True):
                if cell["tag"] == "TH":
                    continue  # the row's own name: the card's heading
                assert cell["label"] == column, f"{where}: {cell['label']!r} under {column!r}"
                if cell["filled"]:
                    assert cell["display"] != "none", f"{where}: {column} hidden"
                    assert column in cell["before"], f"{where}: {column} not shown"
            rows_checked += 1
    for table in await page.locator("main table").all():
        tree = await table.aria_snapshot()
        assert re.match(r"- '?table\b", tree), f"{where}: not a table to a screen reader:\n{tree}"
        assert "- columnheader" in tree or "- rowheader" in tree, f"{where}:\n{tree}"
    return rows_checked


async def walk(page: Page, base_url: str, paths: list[str], who: str) -> int:
    rows_checked = 0
    for width in PHONE_WIDTHS_PX:
        await page.set_viewport_size({"width": width, "height": HEIGHT_PX})
        for path in paths:
            where = f"{path} as {who} at {width} px"
            response = await page.goto(base_url + path)
            assert response is not None, where
            assert response.status == 200, f"{where}: {response.status}"
            await assert_fits(page, where)
            rows_checked += await assert_tables_keep_their_meaning(page, where)
            await assert_no_axe_violations(page)
    return rows_checked


async def test_every_page_at_phone_widths_and_the_navigation_wide(
    chromium: Browser, live_server: LiveServer, story: Story
) -> None:
    base_url = live_server.base_url
    anonymous = await (await chromium.new_context()).new_page()
    await walk(anonymous, base_url, list(PUBLIC_PAGES), "nobody")
    bert = await signed_in_page(chromium, live_server, ASKER_EMAIL)
    member_rows = await walk(bert, base_url, [story.fill(p) for p in MEMBER_PAGES], "Bert")
    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    admin_rows = await walk(admin, base_url, [story.fill(p) for p in ADMIN_PAGES], "the admin")
    # The statement, exchanges and disputes had rows to stack, and so had the admin's tables.
    assert member_rows >= 2 * len(PHONE_WIDTHS_PX), member_rows
    assert admin_rows >= 2 * len(PHONE_WIDTHS_PX), admin_rows
    # In the same test: the town is built once (about 15 s an engine).
    await assert_navigation_one_line_wide_and_a_menu_on_a_phone(
        chromium, live_server, anonymous, bert, admin
    )


async def assert_navigation_one_line_wide_and_a_menu_on_a_phone(
    chromium: Browser, live_server: LiveServer, anonymous: Page, bert: Page, admin: Page
) -> None:
    for page, path in ((anonymous, "/"), (bert, "/dashboard"), (admin, "/admin")):
        await page.set_viewport_size({"width": WIDE_PX, "height": HEIGHT_PX})
        await page.goto(live_server.base_url + path)
        await assert_fits(page, f"{path} at {WIDE_PX} px")
        tops = (
            await main_nav(page)
            .locator("li")
            .evaluate_all(
                "(items) => items.map((item) => Math.round(item.getBoundingClientRect().top))"
            )
        )
        assert len(tops) >= 3 and len(set(tops)) == 1, f"{path}: the navigation wraps: {tops}"
        await expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
        await assert_no_axe_violations(page)

    # The admin's phone, with JavaScript off: the menu button opens the links.
    context = await chromium.new_context(
        java_script_enabled=False, viewport={"width": 320, "height": HEIGHT_PX}
    )
    phone = await context.new_page()
    await phone.goto(live_server.base_url + "/sign-in")
    await phone.get_by_label("Email address", exact=True).fill(ADMIN_EMAIL)
    await phone.get_by_label("Password", exact=True).fill(PASSWORD)
    await phone.get_by_role("button", name="Sign in").click()
    await phone.wait_for_url("**/dashboard")
    await expect(main_nav(phone)).to_be_hidden()
    await phone.get_by_text("Menu", exact=True).click()
    await expect(main_nav(phone).get_by_role("link", name="Statement")).to_be_visible()
    await assert_fits(phone, "the open menu at 320 px")
    await main_nav(phone).get_by_role("link", name="Admin").click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Admin console")

    # axe needs script: the open menu is checked on the admin's page that has it.
    await admin.set_viewport_size({"width": 320, "height": HEIGHT_PX})
    await admin.get_by_text("Menu", exact=True).click()
    await expect(main_nav(admin).get_by_role("link", name="Admin")).to_be_visible()
    await assert_no_axe_violations(admin)

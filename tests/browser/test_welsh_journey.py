"""The Welsh journey (issue 20 item 3): choose Cymraeg, register, propose an exchange.

On every page the journey visits, the visible text (document.body.innerText, cut into
lines and sentences) must hold no English message of the catalog whose Welsh is
different: an English msgid on a Welsh page is a string someone marked but that was
shown untranslated, or a template that bypassed gettext. Member content (names, the
listing, the exchange's words) is never compared: only catalog msgids are. As a second
net, lines are searched for common English words once the journey's own member
content (written in Welsh here, or names) is taken out, so a string nobody marked
shows too.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.async_api import Browser, Page, expect

from tests.support.browser import PASSWORD, save_screenshot
from tests.support.server import LiveServer

LOCALE_DIR = Path(__file__).resolve().parents[2] / "service" / "locale"
PROVIDER_EMAIL = "maggie@example.org"
WELSH_EMAIL = "gwen@example.org"
WELSH_NAME = "Gwen Morgan"
LISTING_TITLE = "Garddio gyda Maggie"
EXCHANGE_WORDS = "Chwynnu\u2019r ardd flaen"
# What members or the operator wrote (names, the time bank), never translated.
MEMBER_CONTENT = (
    "Maggie Hughes",
    "Bert Price",
    WELSH_NAME,
    LISTING_TITLE,
    EXCHANGE_WORDS,
    "Chwynnu, torri gwair a thocio, gyda fy offer fy hun.",
    "Home time bank",
    "Home area",
)
LITERAL_LETTERS_MIN = 8  # a pattern with fewer fixed letters would match Welsh lines too
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
# Quantities in English words, from formatting.py's messages.
ENGLISH_QUANTITY = re.compile(r"\b\d+ (?:hours?|minutes?)\b|\bminus \d")
ENGLISH_WORDS = re.compile(
    r"\b(?:the|and|your|you|with|this|that|have|please|here|there)\b", re.IGNORECASE
)


def _visible(message_id: str) -> str:
    """A msgid as a page shows it: markup dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", message_id)).strip()


@cache
def english_patterns() -> tuple[re.Pattern[str], ...]:
    """A whole-phrase pattern per English message whose Welsh differs (placeholders: any text)."""
    with (LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file, locale="cy")
    patterns = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for message_id in ids:
            if message_id in strings:
                continue  # the same in both languages ("Cymraeg", a code)
            shown = _visible(message_id)
            literal = PLACEHOLDER.sub("", shown)
            if sum(char.isalpha() for char in literal) < (
                LITERAL_LETTERS_MIN if PLACEHOLDER.search(shown) else 2
            ):
                continue
            parts = [re.escape(part) for part in PLACEHOLDER.split(shown)]
            patterns.append(re.compile(".+?".join(parts)))
    assert len(patterns) > 100, "the Welsh catalog looks empty"
    return tuple(patterns)


def phrases_of(text: str) -> set[str]:
    """Lines, and the sentences and " · " parts of lines, stripped."""
    found: set[str] = set()
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        found.add(line)
        for part in re.split(r"(?<=[.!?:])\s+| · ", line):
            if part.strip():
                found.add(part.strip())
    return found


async def english_left(page: Page) -> list[str]:
    """What on this page is still English: catalog messages, then English words."""
    assert await page.locator("html").get_attribute("lang") == "cy", page.url
    text = await page.title() + "\n" + await page.evaluate("document.body.innerText")
    left = sorted(
        phrase
        for phrase in phrases_of(text)
        if any(pattern.fullmatch(phrase) for pattern in english_patterns())
    )
    for line in text.splitlines():
        without_content = line
        for content in MEMBER_CONTENT:
            without_content = without_content.replace(content, "")
        if ENGLISH_QUANTITY.search(without_content) or ENGLISH_WORDS.search(without_content):
            left.append(line.strip())
    return left


async def all_welsh(page: Page, where: str) -> None:
    left = await english_left(page)
    if left:
        await save_screenshot(page, f"welsh-journey-{where}")
    assert not left, f"English on the {where} page ({page.url}): {left}"


@pytest.fixture
async def offer(live_server: LiveServer, journey_members: None) -> None:
    """The admin, Maggie and Bert (English speakers), and Maggie's offer, made through the API."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        token = await http.post(
            "/api/v1/auth/token", json={"email": PROVIDER_EMAIL, "password": PASSWORD}
        )
        assert token.status_code == 201, token.text
        response = await http.post(
            "/api/v1/listings",
            headers={"Authorization": f"Bearer {token.json()['token']}"},
            json={
                "kind": "offer",
                "title": LISTING_TITLE,
                "description": "Chwynnu, torri gwair a thocio, gyda fy offer fy hun.",
                "category": "gardening",
            },
        )
        assert response.status_code == 201, response.text


async def test_a_welsh_journey_shows_no_english(
    live_server: LiveServer, offer: None, browser: Browser
) -> None:
    del offer
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    await choose_welsh_and_register(page, live_server)
    await find_the_offer(page)
    await propose_an_exchange(page)


async def choose_welsh_and_register(page: Page, live_server: LiveServer) -> None:
    # An English browser: the home page is English until Cymraeg is chosen.
    await page.goto(live_server.base_url + "/")
    assert await page.locator("html").get_attribute("lang") == "en-GB"
    async with page.expect_navigation():
        await page.locator('form[action="/language"] button[value="cy"]').click()
    await all_welsh(page, "home")

    # Registering: once with the privacy box left unticked, then properly.
    await page.locator('nav.nav-wide a[href="/register"]').click()
    await page.wait_for_url("**/register")
    await all_welsh(page, "register")
    await page.locator('input[name="email"]').fill(WELSH_EMAIL)
    await page.locator('input[name="password"]').fill(PASSWORD)
    await page.locator('input[name="display_name"]').fill(WELSH_NAME)
    await page.locator('form[action="/register"] button[type="submit"]').click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await all_welsh(page, "register-error")
    await page.locator('input[name="password"]').fill(PASSWORD)
    await page.locator('input[name="consent"]').check()
    await page.locator('form[action="/register"] button[type="submit"]').click()
    await page.wait_for_url("**/sign-in?done=registered")
    await all_welsh(page, "sign-in")

    # Signing in: the stored choice is Welsh from now on, whatever the cookie says.
    await page.locator('input[name="email"]').fill(WELSH_EMAIL)
    await page.locator('input[name="password"]').fill(PASSWORD)
    await page.locator('form[action="/sign-in"] button[type="submit"]').click()
    await page.wait_for_url("**/dashboard")
    await all_welsh(page, "dashboard")


async def find_the_offer(page: Page) -> None:
    await page.locator('nav.nav-wide a[href="/listings"]').click()
    await page.wait_for_url("**/listings")
    await all_welsh(page, "listings")
    await page.locator('input[name="q"]').fill("Garddio")
    await page.locator("form.search-form button[type=submit]").click()
    await page.wait_for_url("**/listings?*")
    await all_welsh(page, "search")
    await page.get_by_role("link", name=LISTING_TITLE).click()
    await page.wait_for_url("**/listings/*")
    await all_welsh(page, "listing")


async def propose_an_exchange(page: Page) -> None:
    """A mistake first, then the proposal."""
    await page.locator('a[href^="/exchanges/new?listing="]').click()
    await page.wait_for_url("**/exchanges/new?listing=*")
    await all_welsh(page, "propose")
    await page.locator('input[name="hours"]').fill("0")
    await page.locator('input[name="minutes"]').fill("0")
    await page.locator('textarea[name="description"]').fill(EXCHANGE_WORDS)
    await page.locator('form[action="/exchanges/new"] button[type="submit"]').click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await all_welsh(page, "propose-error")
    await page.locator('input[name="hours"]').fill("1")
    await page.locator('input[name="minutes"]').fill("30")
    await page.locator('form[action="/exchanges/new"] button[type="submit"]').click()
    await page.wait_for_url("**/exchanges/*?done=proposed")
    await expect(page.get_by_role("status")).to_contain_text(
        "Mae\u2019ch cynnig wedi\u2019i anfon."
    )
    await expect(page.get_by_text("1 awr 30 munud").first).to_be_visible()
    await all_welsh(page, "exchange")
    await save_screenshot(page, "welsh-journey-exchange")

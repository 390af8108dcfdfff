"""Issue 20, items 2 and 4, in Chromium: the site installs, works offline, and prints.

- The manifest a page links to parses, has what an install needs (name, start_url,
  display standalone, theme colour, icons) and each icon loads as what it says it is.
- After the service worker is active (its `ready` promise, never a sleep), the browser
  goes offline and a page it then opens is the offline page.
- Printed (print media), a page has no navigation, black text on white, and each
  link's address after it: the statement, the listings and the reports.
"""

from __future__ import annotations

import json
import struct

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import (
    ADMIN_EMAIL,
    ASKER_EMAIL,
    assert_no_axe_violations,
    main_nav,
    signed_in_page,
)
from tests.support.server import LiveServer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REQUIRED_MANIFEST_FIELDS = ("name", "short_name", "start_url", "display", "theme_color", "icons")
ICON_SIZES_PX = (192, 512)
# The worker's `ready` promise, then its own statechange event: activated, never a sleep.
WORKER_READY = """
async () => {
  const worker = (await navigator.serviceWorker.ready).active;
  if (worker.state !== "activated") {
    await new Promise((resolve) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve();
    }));
  }
  return worker.state;
}
"""


@pytest.fixture
def members(journey_members: None) -> None:
    """The journeys' admin and two members (tests/support/browser.py)."""
    del journey_members


async def test_the_manifest_and_its_icons(chromium: Browser, live_server: LiveServer) -> None:
    page = await (await chromium.new_context()).new_page()
    await page.goto(live_server.base_url + "/")
    href = await page.locator('link[rel="manifest"]').get_attribute("href")
    assert href
    response = await page.request.get(live_server.base_url + href)
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(await response.text())
    for field in REQUIRED_MANIFEST_FIELDS:
        assert manifest.get(field), f"the manifest has no {field}"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == await page.locator('meta[name="theme-color"]').get_attribute(
        "content"
    )
    start = await page.request.get(live_server.base_url + manifest["start_url"])
    assert start.ok, start.status
    png_sizes: set[int] = set()
    for icon in manifest["icons"]:
        loaded = await page.request.get(live_server.base_url + icon["src"])
        assert loaded.ok, icon
        assert loaded.headers["content-type"] == icon["type"], icon
        assert "immutable" in loaded.headers["cache-control"], icon
        body = await loaded.body()
        if icon["type"] == "image/png":
            assert body.startswith(PNG_SIGNATURE), icon
            width, height = struct.unpack(">II", body[16:24])  # from the IHDR chunk
            assert icon["sizes"] == f"{width}x{height}", icon
            png_sizes.add(width)
        else:
            assert body.startswith(b"<svg"), icon
    assert png_sizes >= set(ICON_SIZES_PX), png_sizes


async def test_offline_a_page_is_the_offline_page(
    chromium: Browser, live_server: LiveServer
) -> None:
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(live_server.base_url + "/")
    assert await page.evaluate(WORKER_READY) == "activated"
    online = await page.goto(live_server.base_url + "/how-it-works")
    assert online is not None and online.ok
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("You are offline")

    await context.set_offline(True)
    await page.goto(live_server.base_url + "/privacy")
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    # Drawn with the site's own (cached) stylesheet, and accessible.
    header_colour = await page.locator(".site-header").evaluate(
        "(header) => getComputedStyle(header).backgroundColor"
    )
    assert header_colour == "rgb(29, 92, 77)", header_colour
    await assert_no_axe_violations(page)

    await context.set_offline(False)
    await page.goto(live_server.base_url + "/privacy")
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("You are offline")


async def assert_printed(page: Page, where: str, *, links_expected: bool) -> None:
    await page.emulate_media(media="print")
    await expect(page.locator(".site-header")).to_be_hidden()
    await expect(main_nav(page)).to_have_count(0)  # no navigation shown at all
    colours = await page.evaluate(
        "() => [document.body, document.body, document.documentElement].map("
        "(element, index) => index ? getComputedStyle(element).backgroundColor"
        " : getComputedStyle(element).color)"
    )
    assert colours[0] == "rgb(0, 0, 0)", (where, colours)
    assert "rgb(255, 255, 255)" in colours[1:], (where, colours)
    links = page.locator("main a[href]:not([href^='#']):not([download])")
    shown = await links.evaluate_all(
        "(links) => links.filter((a) => a.checkVisibility()).map((a) => "
        "[a.getAttribute('href'), getComputedStyle(a, '::after').content])"
    )
    # The reports link only within the page and to downloads: no addresses to show.
    assert bool(shown) == links_expected, f"{where}: printed links {shown}"
    for href, after in shown:
        assert href in after, f"{where}: {href} printed without its address ({after})"
    await page.emulate_media(media="screen")
    await expect(main_nav(page)).to_be_visible()


@pytest.mark.usefixtures("members")
async def test_printed_pages_have_no_navigation_and_show_link_addresses(
    chromium: Browser, live_server: LiveServer
) -> None:
    bert = await signed_in_page(chromium, live_server, ASKER_EMAIL)
    admin = await signed_in_page(chromium, live_server, ADMIN_EMAIL)
    printed = ((bert, "/statement", True), (bert, "/listings", True), (admin, "/reports", False))
    for page, path, links_expected in printed:
        await page.goto(live_server.base_url + path)
        await assert_printed(page, path, links_expected=links_expected)
    # Section links and downloads print without an address.
    section_link = admin.locator("main a[href^='#']").first
    download = admin.locator("main a[download]").first
    await admin.emulate_media(media="print")
    for link in (section_link, download):
        after = await link.evaluate("(a) => getComputedStyle(a, '::after').content")
        assert after in ("none", "normal"), after

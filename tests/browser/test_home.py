from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer


async def test_home_page_loads_and_is_accessible(live_server: LiveServer, page: Page) -> None:
    response = await page.goto(live_server.base_url + "/")
    assert response is not None
    assert response.status == 200
    assert await page.title() == "Welcome · Timebank"
    heading = page.get_by_role("heading", level=1)
    assert await heading.inner_text() == "Neighbours helping neighbours"
    await assert_no_axe_violations(page)
    await save_screenshot(page, "home")


async def test_skip_link_is_first_in_tab_order_and_moves_focus(
    live_server: LiveServer, page: Page
) -> None:
    await page.goto(live_server.base_url + "/")
    await page.keyboard.press("Tab")
    # expect() retries until the browser has moved focus (no fixed waits).
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()


async def test_home_page_at_200_percent_zoom_has_no_sideways_scroll(
    live_server: LiveServer, page: Page
) -> None:
    # 200% zoom of a 1280px window is a 640 CSS px viewport.
    await page.set_viewport_size({"width": 640, "height": 900})
    await page.goto(live_server.base_url + "/")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await assert_no_axe_violations(page)


async def test_unknown_address_shows_the_site_404_page(live_server: LiveServer, page: Page) -> None:
    response = await page.goto(live_server.base_url + "/no-such-page")
    assert response is not None
    assert response.status == 404
    assert await page.title() == "Page not found · Timebank"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    await assert_no_axe_violations(page)
    await page.get_by_role("main").get_by_role("link", name="Go to the home page").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Neighbours helping neighbours")

"""The council dashboard in a real browser, on the data `timebank demo` loads.

`timebank demo --exchanges 2000` adds recorded exchanges between synthetic
members, enough for most figures to pass the privacy threshold. The council
viewer from the demo signs in, opens Reports, sees every chart drawn (a
screenshot is kept in test-artifacts/), narrows the period, downloads a CSV and
meets no axe violation.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, expect

from service.demo.commands import DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV
from tests.browser.conftest import LiveServer, assert_no_axe_violations, save_screenshot

COUNCIL_EMAIL = "council@demo.example"
VOLUME_EXCHANGES = "2000"
CHARTS = 5


@pytest.fixture
def demo(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.delenv(DEMO_PASSWORD_ENV, raising=False)
    live_server.run_cli("demo", "--exchanges", VOLUME_EXCHANGES)
    return live_server


def months_ago(count: int) -> datetime:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_key(instant: datetime) -> str:
    return f"{instant:%Y-%m}"


async def council_page(browser: Browser, live_server: LiveServer) -> Page:
    context = await browser.new_context(java_script_enabled=True, accept_downloads=True)
    page = await context.new_page()
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(COUNCIL_EMAIL)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD_DEFAULT)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    return page


async def test_council_viewer_reads_the_dashboard_and_downloads_csv(
    demo: LiveServer, browser: Browser
) -> None:
    page = await council_page(browser, demo)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    await page.wait_for_url("**/reports")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Council reports")

    # Every chart is drawn: an SVG image with a name, a real size and marks in it.
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(CHARTS)
    for index in range(CHARTS):
        chart = charts.nth(index)
        await chart.scroll_into_view_if_needed()
        await expect(chart).to_be_visible()
        box = await chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert await chart.locator("rect").count() > 3
    months_chart = page.get_by_role("img", name="Hours exchanged each month")
    await expect(months_chart).to_be_visible()
    # The headline figures pass the threshold with this much volume.
    hours = page.locator("dt", has_text="Hours exchanged").locator("xpath=following-sibling::dd")
    await expect(hours).not_to_have_text("hidden")
    await assert_no_axe_violations(page)
    await save_screenshot(page, "reports-dashboard")

    # Narrow the period with the form (a plain GET form): six months to last month.
    first, last = months_ago(6), months_ago(1)
    await page.get_by_label("From month").fill(month_key(first))
    await page.get_by_label("To month").fill(month_key(last))
    await page.get_by_role("button", name="Show figures").click()
    await page.wait_for_url(f"**/reports?from={month_key(first)}&to={month_key(last)}*")
    await expect(page.locator(".lead")).to_contain_text(f"{first:%B %Y} to {last:%B %Y}")
    await assert_no_axe_violations(page)

    async with page.expect_download() as download_info:
        await page.get_by_role(
            "link", name=re.compile(r"^Download these figures as CSV\W+Hours exchanged each month$")
        ).click()
    download = await download_info.value
    assert download.suggested_filename == (
        f"flows-month-{month_key(first)}-to-{month_key(last)}.csv"
    )
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [row["row"] for row in rows] == [
        *(month_key(months_ago(back)) for back in range(6, 0, -1)),
        "total",
    ]
    assert all(row["suppressed"] in ("yes", "no") for row in rows)
    assert rows[-1]["minutes"].isdigit()

"""The impact page and a wellbeing check-in in a real browser, on the data `timebank demo` loads.

The council viewer opens the impact report from the council dashboard, sees a
chart for every figure with its table and the method, and meets no axe
violation. A member sees the check-in offered on their dashboard, answers it
(with consent), finds it listed and deletes it, all without an axe violation.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from service.demo.commands import DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV
from service.reports.impact import FIGURES
from service.wellbeing.services import ONS_QUESTIONS, UCLA_QUESTIONS
from tests.support.browser import assert_no_axe_violations, save_screenshot
from tests.support.server import LiveServer

COUNCIL_EMAIL = "council@demo.example"
MEMBER_EMAIL = "tom@demo.example"
VOLUME_EXCHANGES = "300"


@pytest.fixture
def demo(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.delenv(DEMO_PASSWORD_ENV, raising=False)
    live_server.run_cli("demo", "--exchanges", VOLUME_EXCHANGES)
    return live_server


async def signed_in(browser: Browser, live_server: LiveServer, email: str) -> Page:
    context = await browser.new_context(java_script_enabled=True)
    page = await context.new_page()
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD_DEFAULT)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    return page


async def test_council_viewer_reads_the_impact_page(demo: LiveServer, browser: Browser) -> None:
    page = await signed_in(browser, demo, COUNCIL_EMAIL)
    await page.goto(demo.base_url + "/reports")
    await page.get_by_role("link", name="See the impact report").click()
    await page.wait_for_url("**/reports/impact")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Impact report")
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(len(FIGURES))
    for spec in FIGURES:
        await expect(page.get_by_role("img", name=f"{spec.label} each month")).to_be_visible()
        table = page.get_by_role("table", name=f"{spec.label}: the figure for each month")
        await expect(table).to_be_visible()
    exchanges = page.locator("dt", has_text="Exchanges completed").locator(
        "xpath=following-sibling::dd"
    )
    await expect(exchanges).not_to_have_text("hidden")
    await expect(
        page.get_by_role("heading", name="How these figures are worked out")
    ).to_be_visible()
    await assert_no_axe_violations(page)
    await save_screenshot(page, "impact-report")


async def test_a_member_answers_sees_and_deletes_a_check_in(
    demo: LiveServer, browser: Browser
) -> None:
    page = await signed_in(browser, demo, MEMBER_EMAIL)
    prompt = page.get_by_role("region", name="How are you doing?")
    await expect(prompt).to_be_visible()
    await assert_no_axe_violations(page)
    await prompt.get_by_role("link", name="Answer the check-in").click()
    await page.wait_for_url("**/wellbeing")
    await assert_no_axe_violations(page)

    # Without consent nothing is kept: the form comes back with the reason.
    await (
        page.get_by_role("group", name="Overall, how happy did you feel yesterday?")
        .get_by_label("7", exact=True)
        .check()
    )
    await page.get_by_role("button", name="Save my answers").click()
    await expect(page.locator(".error-summary, [role=alert]").first).to_be_visible()
    await assert_no_axe_violations(page)

    chosen = {
        "life_satisfaction": "6", "worthwhile": "8", "happy_yesterday": "7",
        "anxious_yesterday": "2", "lack_companionship": "Some of the time",
        "left_out": "Hardly ever", "isolated": "Often",
    }  # fmt: skip
    questions = {**ONS_QUESTIONS, **UCLA_QUESTIONS}
    for name, answer in chosen.items():
        question = questions[name]
        await page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    await page.get_by_label("You may keep these answers").check()
    await page.get_by_role("button", name="Save my answers").click()
    await page.wait_for_url("**/wellbeing?done=saved")
    await expect(page.get_by_text("Your answers are saved")).to_be_visible()
    await expect(page.get_by_text("6 out of 10")).to_be_visible()
    await assert_no_axe_violations(page)

    await page.get_by_role("button", name="Delete the check-in of").click()
    await page.wait_for_url("**/wellbeing?done=deleted")
    await expect(page.get_by_text("You have no check-ins saved.")).to_be_visible()
    await page.goto(demo.base_url + "/dashboard")
    await expect(page.get_by_role("region", name="How are you doing?")).to_be_visible()

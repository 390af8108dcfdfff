"""Debian's Chromium through Playwright: launch flags, axe-core, screenshots, signed-in pages,
and the members the browser journeys start from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Locator, Page

from service.app import create_app
from service.settings import Settings
from tests.conftest import _run_in_own_loop
from tests.support.app import running
from tests.support.server import (
    COMMAND_TIMEOUT_SECONDS,
    ROOT,
    LiveServer,
    timebank_env,
)

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"

# The journeys' people: an admin (home community) and two members of it.
PASSWORD = "a long browser password"
ADMIN_EMAIL = "admin@example.org"
PROVIDER_EMAIL = "maggie@example.org"
ASKER_EMAIL = "bert@example.org"


async def assert_no_axe_violations(page: Page) -> None:
    """Run axe-core (served from the installed package, no network) on the page."""
    results = await Axe().run(page)
    violations = results.response.get("violations", [])
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert not violations, "axe violations:\n" + "\n".join(summary)


async def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


CREATE_ADMIN_ARGS = ("create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin")
JOURNEY_MEMBERS = ((PROVIDER_EMAIL, "Maggie Hughes"), (ASKER_EMAIL, "Bert Price"))


def build_journey_members_into(settings: Settings) -> None:
    """The admin (made by a real `timebank create-admin`) and two members of "home",
    registered through the API, on `settings.database_url`: built once a session and
    engine into a template that the `journey_members` fixture's tests copy."""
    env = timebank_env(
        settings.database_url,
        Path(settings.data_dir),
        LOG_LEVEL="WARNING",
        TIMEBANK_ADMIN_PASSWORD=PASSWORD,
    )
    made = subprocess.run(
        [sys.executable, "-m", "service.cli", *CREATE_ADMIN_ARGS],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    _run_in_own_loop(lambda: _register_journey_members(settings))
    data_dir = Path(settings.data_dir)
    written = sorted(str(path) for path in data_dir.rglob("*") if path.is_file())
    assert not written, f"the journey members' build wrote files a copy would not have: {written}"


async def _register_journey_members(settings: Settings) -> None:
    async with running(create_app(settings)) as client:
        for email, name in JOURNEY_MEMBERS:
            response = await client.post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "display_name": name,
                    "community": "home",
                },
            )
            assert response.status_code == 201, response.text


async def signed_in_page(browser: Browser, live_server: LiveServer, email: str) -> Page:
    """A page in a context of its own, signed in as `email` through the /sign-in form."""
    context = await browser.new_context(java_script_enabled=True, accept_downloads=True)
    page = await context.new_page()
    await page.goto(live_server.base_url + "/sign-in")
    await page.get_by_label("Email address", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    return page


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")

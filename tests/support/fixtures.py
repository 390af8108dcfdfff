"""The shared pytest fixtures, registered for every folder by tests/conftest.py.

- `client`, `admin_client`, `town`: the app in-process on the test's loop
  (tests.support.app.running); the town's people come from tests.support.people.
- `live_server`: one `timebank serve` subprocess on the test's database.
- `chromium` (one per session), `browser` (that Chromium; the test's contexts are
  closed after it) and `page` (a fresh context and page per test). Browser tests
  run on the session's event loop, where Playwright's connection lives
  (tests/browser/conftest.py marks them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import TestDatabase
from tests.support.app import AppClient, running
from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.support.people import Town, bootstrap_admin, build_town
from tests.support.server import LiveServer, live_server_on


@pytest.fixture
async def client(app: Litestar, db: TestDatabase) -> AsyncIterator[AppClient]:
    """A client for the app, running on the test's loop; redirects are followed, as a
    browser (and Litestar's test client) would."""
    del db  # the app's settings name the database; asked for so that it exists
    async with running(app, follow_redirects=True) as test_client:
        yield test_client


@pytest.fixture
async def admin_client(client: AppClient) -> AppClient:
    """The `client`, for an app whose first admin exists (made like `timebank create-admin`)."""
    await bootstrap_admin(client.app)
    return client


@pytest.fixture
async def town(client: AppClient) -> Town:
    """Areas, communities and a member of each role, on an app running on the test's loop."""
    return await build_town(client.app, client)


@pytest.fixture
def live_server(db: TestDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server_on(db, tmp_path / "server-data") as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """The one Chromium of the test session."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The session's Chromium; every context the test opened is closed after it."""
    yield chromium
    for context in list(chromium.contexts):
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> Page:
    context = await browser.new_context(java_script_enabled=True)
    return await context.new_page()

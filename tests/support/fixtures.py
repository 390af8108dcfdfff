"""The shared pytest fixtures, registered for every folder by tests/conftest.py.

- `client`, `admin_client`, `town`: the app in-process on the test's loop
  (tests.support.app.running); the town's people come from tests.support.people.
- `sqlite_town_template`, `postgres_town_template` (one per session): the town,
  built once into a template database; the `db` of a test that asks for `town`
  is a copy of it (tests/support/town.py, ADR 0038).
- `sqlite_journey_template`, `postgres_journey_template` (one per session): the browser
  journeys' admin and two members, built once into a template database; the `db` of a
  test that asks for `journey_members` is a copy of it.
- `live_server`: one `timebank serve` subprocess on the test's database.
- `smtp_peer`: a real SMTP server on loopback that keeps what it receives
  (tests/support/smtp_peer.py).
- `chromium` (one per session), `browser` (that Chromium; the test's contexts are
  closed after it) and `page` (a fresh context and page per test). Browser tests
  run on the session's event loop, where Playwright's connection lives
  (tests/browser/conftest.py marks them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import (
    TestDatabase,
    _run_in_own_loop,
    admin_execute,
    postgres_url,
    settings_for_tests,
)
from tests.support.app import AppClient, running
from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH, build_journey_members_into
from tests.support.people import Town, bootstrap_admin, build_town
from tests.support.postgres_copies import PostgresCopies
from tests.support.server import LiveServer, live_server_on
from tests.support.smtp_peer import MailCatcher, SmtpPeer
from tests.support.town import TownTemplate, build_town_into, sqlite_file_settled


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
async def town(client: AppClient, db: TestDatabase) -> Town:
    """Areas, communities and a member of each role, on an app running on the test's loop.

    The test's database is a copy of the session's town template (`db` sees that the
    test asks for `town`); only a test that asks for it late (getfixturevalue) builds it.
    """
    if db.town is None:
        return await build_town(client.app, client)
    return await db.town.town(client)


@pytest.fixture(scope="session")
def sqlite_town_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> TownTemplate:
    folder = tmp_path_factory.mktemp("town-template")
    path = folder / "town.sqlite3"
    shutil.copyfile(sqlite_template, path)
    settings = settings_for_tests(f"sqlite:///{path}", folder / "data")
    snapshot = _run_in_own_loop(lambda: build_town_into(settings))
    sqlite_file_settled(path)
    return TownTemplate(source=str(path), snapshot=snapshot)


def _fresh_copy_of(template: str, name: str) -> str:
    """Database `name` made anew from `template` (a leftover of that name dropped first);
    returns the statement that drops it, for the fixture's teardown."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _run_in_own_loop(lambda: admin_execute(drop))
    _run_in_own_loop(lambda: admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return drop


@pytest.fixture(scope="session")
def postgres_town_template(
    postgres_template: str,
    postgres_copies: PostgresCopies,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TownTemplate]:
    name = f"timebank_town_template_{os.getpid()}"
    drop = _fresh_copy_of(postgres_template, name)
    data_dir = tmp_path_factory.mktemp("town-template") / "data"
    settings = settings_for_tests(postgres_url(name), data_dir)
    snapshot = _run_in_own_loop(lambda: build_town_into(settings))
    yield TownTemplate(source=name, snapshot=snapshot)
    postgres_copies.retire(name)  # no copy of it may still be on its way
    _run_in_own_loop(lambda: admin_execute(drop))


@pytest.fixture(scope="session")
def sqlite_journey_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("journey-template")
    path = folder / "journey.sqlite3"
    shutil.copyfile(sqlite_template, path)
    build_journey_members_into(settings_for_tests(f"sqlite:///{path}", folder / "data"))
    sqlite_file_settled(path)
    return path


@pytest.fixture(scope="session")
def postgres_journey_template(
    postgres_template: str,
    postgres_copies: PostgresCopies,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    name = f"timebank_journey_template_{os.getpid()}"
    drop = _fresh_copy_of(postgres_template, name)
    data_dir = tmp_path_factory.mktemp("journey-template") / "data"
    build_journey_members_into(settings_for_tests(postgres_url(name), data_dir))
    yield name
    postgres_copies.retire(name)  # no copy of it may still be on its way
    _run_in_own_loop(lambda: admin_execute(drop))


@pytest.fixture
def journey_members(db: TestDatabase) -> None:
    """The admin, Maggie and Bert (tests/support/browser.py) are in the test's database:
    `db` copied it from the journey template, because the test asked for this fixture."""
    assert db.template == "journey_members", "db did not start from the journey template"


@pytest.fixture
def live_server(db: TestDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server_on(db, tmp_path / "server-data") as server:
        yield server


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(MailCatcher())
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


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

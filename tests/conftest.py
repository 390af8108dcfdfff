"""Fixtures shared by every test.

Each database test runs twice: once on SQLite and once on PostgreSQL. Every
test gets a fresh, fully migrated database cloned from a template made once per
session (a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL),
so tests never see each other's rows and cost milliseconds to set up. A test
that asks for `town` gets a copy of a second template that already holds the
town (tests/support/town.py, ADR 0038), instead of building it through the API;
a browser journey that asks for `journey_members` gets a copy of a third, holding
the journeys' admin and two members (tests/support/browser.py).
PostgreSQL copies are made ahead and dropped behind on a thread of their own
(tests/support/postgres_copies.py), so the test waits for neither.

TIMEBANK_TEST_ENGINES (default "sqlite,postgres") narrows the engines for a
local run; CI always runs both and fails if the PostgreSQL run is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar import Litestar
from piccolo.engine.base import Engine

from service import database
from service.app import create_app
from service.settings import Settings
from tests.support.app import app_for
from tests.support.postgres_copies import PostgresCopies

if TYPE_CHECKING:
    from tests.support.town import TownSnapshot, TownTemplate

# The shared fixtures (`town`, `admin_client`, `live_server`, `browser`, `page`);
# the helpers they are built from live beside them in tests/support/.
pytest_plugins = ["tests.support.fixtures"]

POSTGRES_ADMIN_URL = os.environ.get(
    "TIMEBANK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES_ALL = ("sqlite", "postgres")
# Cheap argon2 for processes the tests start (the service reads these at start-up).
FAST_PASSWORD_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"}
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
T = TypeVar("T")


def engines_requested() -> tuple[str, ...]:
    raw = os.environ.get("TIMEBANK_TEST_ENGINES", ",".join(ENGINES_ALL))
    kinds = tuple(kind.strip() for kind in raw.split(",") if kind.strip())
    unknown = set(kinds) - set(ENGINES_ALL)
    if unknown:
        raise pytest.UsageError(f"TIMEBANK_TEST_ENGINES names unknown engines: {sorted(unknown)}")
    return kinds


def _uses_database(fixturenames: list[str]) -> bool:
    return "db_kind" in fixturenames


BROWSER_FIXTURES = frozenset({"chromium", "browser", "page"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive Chromium run on the session's loop, where Playwright's one
    connection lives (tests/support/fixtures.py), wherever their folder is."""
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(session_loop, append=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not _uses_database(metafunc.fixturenames):
        return
    kinds = engines_requested()
    if metafunc.definition.get_closest_marker("postgres_only"):
        kinds = tuple(kind for kind in kinds if kind == "postgres")
    if metafunc.definition.get_closest_marker("sqlite_only"):
        kinds = tuple(kind for kind in kinds if kind == "sqlite")
    metafunc.parametrize("db_kind", kinds, ids=list(kinds))


@dataclass
class TestDatabase:
    """A fresh migrated database for one test."""

    __test__ = False  # not a test class, despite the name

    kind: str
    url: str
    engine: Engine[Any]
    # The town this database was copied with (a test that asks for `town`), else None.
    town: TownSnapshot | None = None
    # "journey_members" when copied from the browser journeys' template, else None.
    template: str | None = None


def _run_in_own_loop(make_coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private event loop in another thread.

    Session templates are created lazily from inside function-scoped async
    fixtures, where an event loop is already running.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def postgres_url(database_name: str) -> str:
    parts = urlsplit(POSTGRES_ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{database_name}"))


async def _migrate_url(url: str) -> None:
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    try:
        await database.migrate(engine)
    finally:
        await database.release(engine)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _run_in_own_loop(lambda: _migrate_url(f"sqlite:///{path}"))
    return path


async def admin_execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"timebank_template_{os.getpid()}"
    _run_in_own_loop(lambda: admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _run_in_own_loop(lambda: admin_execute(f'CREATE DATABASE "{name}"'))
    _run_in_own_loop(lambda: _migrate_url(postgres_url(name)))
    yield name
    _run_in_own_loop(lambda: admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_copies(postgres_template: str) -> Iterator[PostgresCopies]:
    """Test databases made ahead and dropped behind on a thread of their own
    (tests/support/postgres_copies.py); set up after the template, so closed before it."""
    del postgres_template
    copies = PostgresCopies(POSTGRES_ADMIN_URL, f"timebank_test_{os.getpid()}")
    yield copies
    copies.close()


@pytest.fixture
async def db(
    db_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TestDatabase]:
    # A test that asks for `town` (directly or through a fixture) starts from the
    # template that holds it; the `town` fixture then only hands the people out.
    town_template: TownTemplate | None = None
    if "town" in request.fixturenames:
        town_template = request.getfixturevalue(f"{db_kind}_town_template")
    town = town_template.snapshot if town_template else None
    # A browser journey that asks for `journey_members` starts from the template that
    # holds the admin and two members (tests/support/browser.py).
    journey = "journey_members" in request.fixturenames and town_template is None
    if db_kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        if town_template:
            template = Path(town_template.source)
        elif journey:
            template = request.getfixturevalue("sqlite_journey_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        drop_afterwards: Callable[[], None] | None = None
    else:
        template_name: str = request.getfixturevalue("postgres_template")
        if town_template:
            template_name = town_template.source
        elif journey:
            template_name = request.getfixturevalue("postgres_journey_template")
        copies: PostgresCopies = request.getfixturevalue("postgres_copies")
        name = await copies.take(template_name)
        url = postgres_url(name)
        drop_afterwards = partial(copies.give_back, name)
    engine = database.engine_from_url(url)
    database.activate(engine)
    await database.prepare(engine)
    try:
        template_kind = "journey_members" if journey else None
        yield TestDatabase(kind=db_kind, url=url, engine=engine, town=town, template=template_kind)
    finally:
        await database.release(engine)
        if drop_afterwards is not None:
            drop_afterwards()


def settings_for_tests(database_url: str, data_dir: Path) -> Settings:
    """What the `settings` fixture gives (the town templates are built with these too)."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=str(data_dir),
        log_level="WARNING",
        # Cheap argon2 for speed; test_passwords covers the production cost.
        password_time_cost=1,
        password_memory_kib=1024,
    )


@pytest.fixture
def settings(db: TestDatabase, tmp_path: Path) -> Settings:
    return settings_for_tests(db.url, tmp_path / "data")


@pytest.fixture
def app(settings: Settings, request: pytest.FixtureRequest) -> Litestar:
    if request.node.get_closest_marker("fresh_app"):
        return create_app(settings)
    return app_for(settings)

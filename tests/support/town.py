"""The town, built once per session and engine into a template database (ADR 0038).

Building the town through the API (the first admin, two areas, three
communities, six registrations, two grants, seven sign-ins) cost about 1.4 s a
test on PostgreSQL, and most API tests start from it. So the first test on an
engine that asks for `town` builds it, exactly as `build_town` always has, into
a copy of the migrated template; every test that asks for `town` then gets its
own copy of that database (a file copy, `CREATE DATABASE ... TEMPLATE`), and the
`town` fixture hands out the same people with the same bearer tokens, whose
digests are in the copied rows.

What a live build leaves outside the database is carried over too: the
registrations' rate-limit hits live in the app's memory, so the test's app
replays them. A build that queued mail or wrote files would leave state a copy
cannot carry; the build checks it did neither.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgspec
from litestar import Litestar

from service.app import create_app
from service.http.ratelimit import RateLimiter
from service.mail.tables import MailMessage
from service.settings import MailSettings, Settings
from tests.support.app import AppClient, running
from tests.support.people import Town, TownPeople, build_town_people


@dataclass(frozen=True)
class TownSnapshot:
    """What a test needs besides the copied rows to stand where a live build would leave it."""

    people: TownPeople
    # (key, window_seconds) of every rate-limit hit the build made, in order.
    rate_limit_hits: tuple[tuple[str, int], ...]
    # (time_cost, memory_kib) the people's password hashes were made with.
    password_costs: tuple[int, int]

    async def town(self, client: AppClient) -> Town:
        """The town on the test's own app: its limiter counts the build's hits."""
        app: Litestar = client.app
        settings: Settings = app.state.settings
        costs = (settings.password_time_cost, settings.password_memory_kib)
        assert costs == self.password_costs, (
            f"this test's settings hash passwords with {costs}, the town template with "
            f"{self.password_costs}: give the town template the same costs (tests/support/town.py)"
        )
        limiter: RateLimiter = app.state.rate_limiter
        for key, window_seconds in self.rate_limit_hits:
            await limiter.hit(key, window_seconds=window_seconds)
        return self.people.town(client)


@dataclass(frozen=True)
class TownTemplate:
    """A template database holding the town: a file path (SQLite) or a database name."""

    source: str
    snapshot: TownSnapshot


class RecordingLimiter:
    """The app's own limiter, noting each hit so that a copy's app can replay it."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.hits: list[tuple[str, int]] = []

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        self.hits.append((key, window_seconds))
        return await self.inner.hit(key, window_seconds=window_seconds)

    async def close(self) -> None:
        await self.inner.close()


async def build_town_into(settings: Settings) -> TownSnapshot:
    """Build the town on `settings.database_url` through the API, as the `town` fixture
    once did on every test's own database."""
    # No mail worker: the build must queue nothing (checked below), and a pass
    # must not race the check.
    settings = msgspec.structs.replace(settings, mail=MailSettings(worker_enabled=False))
    app = create_app(settings)
    recorder = RecordingLimiter(app.state.rate_limiter)
    app.state.rate_limiter = recorder
    async with running(app, follow_redirects=True) as client:
        people = await build_town_people(app, client)
        queued = await MailMessage.count().run()
        assert queued == 0, f"building the town queued {queued} mail: a copy could not send it"
    data_dir = Path(settings.data_dir)
    written = sorted(str(path) for path in data_dir.rglob("*") if path.is_file())
    assert not written, f"building the town wrote files a copy would not have: {written}"
    return TownSnapshot(
        people=people,
        rate_limit_hits=tuple(recorder.hits),
        password_costs=(settings.password_time_cost, settings.password_memory_kib),
    )


def sqlite_file_settled(path: Path) -> None:
    """Fold the write-ahead log into the file, so that copying the file copies every row."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} still holds rows"

"""The flows and impact reports (the admin's over every community too) read from a real
streaming replica, and fall back to the primary when it is down or lags beyond the
bound (ADR 0047). PostgreSQL only: a primary and replica pair of its own, made once a
session (tests/support/replica.py)."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings, SettingsError
from tests.conftest import TEST_SECRET_KEY
from tests.reports import fixture
from tests.reports.fixture import Fixture
from tests.support.app import app_for, running
from tests.support.people import Person, build_town
from tests.support.replica import ReplicaPair, primary_execute, replica_pair

# What the north council sees of tests/reports/fixture.py for its period (hand-computed there).
NORTH_TOTAL = (635, 13)
# A report's figures_as_of is at most this far behind when the replica had caught up.
CAUGHT_UP_AS_OF_SECONDS_MAX = 60


@pytest.fixture(scope="session")
def pair() -> Iterator[ReplicaPair]:
    with replica_pair() as made:
        yield made


async def _world(
    pair: ReplicaPair, tmp_path: Path, *, lag_seconds_max: int, pause_replay: bool = False
) -> AsyncIterator[Fixture]:
    name = await pair.new_database()
    settings = Settings(
        database_url=pair.primary.url(name),
        database_replica_url=pair.replica.url(name),
        replica_lag_seconds_max=lag_seconds_max,
        secret_key=TEST_SECRET_KEY,
        data_dir=str(tmp_path),
        log_level="WARNING",
        password_time_cost=1,
        password_memory_kib=1024,
    )
    # Paused: from here on, nothing written reaches the replica's tables.
    async with (
        pair.replay_paused() if pause_replay else contextlib.nullcontext(),
        running(app_for(settings)) as client,
    ):
        yield await fixture.build(await build_town(client.app, client))


@pytest.fixture
async def world(pair: ReplicaPair, tmp_path: Path) -> AsyncIterator[Fixture]:
    async for made in _world(pair, tmp_path, lag_seconds_max=30):
        yield made


@pytest.fixture
async def paused_world(pair: ReplicaPair, tmp_path: Path) -> AsyncIterator[Fixture]:
    async for made in _world(pair, tmp_path, lag_seconds_max=1, pause_replay=True):
        yield made


async def _flows(world: Fixture, path: str = "/api/v1/reports/flows") -> httpx.Response:
    response = await world.town.client.get(
        path, headers=world.town.council.headers, params={**world.period, "by": "month"}
    )
    assert response.status_code == 200, response.text
    return response


def world_database(world: Fixture) -> str:
    settings: Settings = world.town.app.state.settings
    return settings.database_url.rsplit("/", 1)[1]


def _total(body: dict[str, Any]) -> tuple[int, int]:
    return body["total"]["minutes"], body["total"]["exchanges"]


@pytest.mark.postgres_only
async def test_a_caught_up_replica_answers_the_reports_and_says_so(
    db_kind: str, pair: ReplicaPair, world: Fixture
) -> None:
    assert db_kind == "postgres"
    await pair.caught_up()
    # Then the primary's cells go, unseen by the paused replica (well within 30 s of
    # lag): figures that are still there came from the copy.
    async with pair.replay_paused():
        await primary_execute(pair, "DELETE FROM reports_cell", database_name=world_database(world))
        body = (await _flows(world)).json()
    assert body["figures_from"] == "replica"
    assert _total(body) == NORTH_TOTAL
    as_of = datetime.fromisoformat(body["figures_as_of"])
    assert datetime.now(UTC) - as_of < timedelta(seconds=CAUGHT_UP_AS_OF_SECONDS_MAX)
    csv_answer = await _flows(world, "/api/v1/reports/flows.csv")
    assert csv_answer.headers["X-Figures-From"] == "replica"
    page = await world.town.client.get("/reports", headers=world.town.council.headers)
    assert page.status_code == 200
    assert "from a copy of the database" in page.text


@pytest.mark.postgres_only
async def test_with_the_replica_stopped_reports_come_from_the_primary(
    db_kind: str, pair: ReplicaPair, world: Fixture
) -> None:
    assert db_kind == "postgres"
    async with pair.replica_stopped():
        body = (await _flows(world)).json()
        page = await world.town.client.get("/reports", headers=world.town.council.headers)
    assert body["figures_from"] == "primary"
    assert _total(body) == NORTH_TOTAL
    assert page.status_code == 200
    assert "Figures up to the moment." in page.text


@pytest.mark.postgres_only
async def test_a_replica_lagging_beyond_the_bound_is_passed_over(
    db_kind: str, pair: ReplicaPair, paused_world: Fixture
) -> None:
    assert db_kind == "postgres"
    # Replay paused before the town was written: the replica has none of it, and its
    # last replayed transaction ages past the bound of 1 second.
    await pair.replica_until(
        "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() "
        "AND now() - pg_last_xact_replay_timestamp() > interval '1 second'"
    )
    body = (await _flows(paused_world)).json()
    assert body["figures_from"] == "primary"
    assert _total(body) == NORTH_TOTAL


def test_a_replica_needs_postgresql() -> None:
    with pytest.raises(SettingsError, match="DATABASE_REPLICA_URL needs PostgreSQL"):
        Settings(
            database_url="sqlite:///x.sqlite3",
            database_replica_url="postgresql://127.0.0.1/x",
            secret_key=TEST_SECRET_KEY,
        )
    environment = {
        "DATABASE_URL": "postgresql://127.0.0.1/x",
        "DATABASE_REPLICA_URL": "postgresql://127.0.0.1:5433/x",
        "REPLICA_LAG_SECONDS_MAX": "5",
        "SECRET_KEY": TEST_SECRET_KEY,
    }
    settings = Settings.from_env(environment)
    assert settings.database_replica_url == "postgresql://127.0.0.1:5433/x"
    assert settings.replica_lag_seconds_max == 5


# The impact report and the admin's reports over every community (ADR 0047) -------------

IMPACT = "/api/v1/reports/impact"
# What the north council sees of the fixture's impact (tests/reports/test_impact_api.py).
NORTH_IMPACT = {"exchanges": 13, "hours_minutes": 635, "people_connected": 14}


async def _get(world: Fixture, who: Person, path: str, **query: Any) -> httpx.Response:
    response = await world.town.client.get(
        path, headers=who.headers, params={**world.period, **query}
    )
    assert response.status_code == 200, response.text
    return response


def _csv_total(text: str, figure: str) -> str:
    [row] = [
        row
        for row in csv.DictReader(io.StringIO(text))
        if row["figure"] == figure and row["month"] == "total"
    ]
    return row["value"]


def _impact_figures(body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in NORTH_IMPACT}


async def _admin_answers(world: Fixture) -> tuple[dict[str, Any], dict[str, Any]]:
    """The admin's flows and impact over every community (no community named)."""
    admin = world.town.admin
    flows = (await _get(world, admin, "/api/v1/reports/flows", by="community")).json()
    impact = (await _get(world, admin, IMPACT)).json()
    return flows, impact


@pytest.mark.postgres_only
async def test_a_caught_up_replica_answers_the_impact_and_admin_reports(
    db_kind: str, pair: ReplicaPair, world: Fixture
) -> None:
    assert db_kind == "postgres"
    await pair.caught_up()
    # Both of the admin's answers are read from the paused copy, so a write the app
    # makes on the primary meanwhile (a due sweep) cannot fall between them.
    async with pair.replay_paused():
        admin_flows, admin_impact = await _admin_answers(world)
        assert admin_impact["exchanges"] > 0
        # Then every exchange is cancelled on the primary, unseen by the paused replica:
        # exchanges still counted came from the copy.
        await primary_execute(
            pair,
            "UPDATE market_exchange SET status = 'cancelled'; DELETE FROM reports_cell",
            database_name=world_database(world),
        )
        council = world.town.council
        body = (await _get(world, council, IMPACT)).json()
        csv_answer = await _get(world, council, IMPACT + ".csv")
        page = await world.town.client.get("/reports/impact", headers=council.headers)
        admin_flows_after, admin_impact_after = await _admin_answers(world)
    assert body["figures_from"] == "replica"
    assert _impact_figures(body) == NORTH_IMPACT
    as_of = datetime.fromisoformat(body["figures_as_of"])
    assert datetime.now(UTC) - as_of < timedelta(seconds=CAUGHT_UP_AS_OF_SECONDS_MAX)
    assert csv_answer.headers["X-Figures-From"] == "replica"
    assert datetime.fromisoformat(csv_answer.headers["X-Figures-As-Of"]) == as_of
    assert _csv_total(csv_answer.text, "exchanges") == str(NORTH_IMPACT["exchanges"])
    assert page.status_code == 200
    assert "from a copy of the database" in page.text
    for before, after in ((admin_flows, admin_flows_after), (admin_impact, admin_impact_after)):
        assert before["figures_from"] == after["figures_from"] == "replica"
        del before["figures_from"], before["figures_as_of"]
        del after["figures_from"], after["figures_as_of"]
        assert after == before


@pytest.mark.postgres_only
async def test_with_the_replica_stopped_the_impact_report_comes_from_the_primary(
    db_kind: str, pair: ReplicaPair, world: Fixture
) -> None:
    assert db_kind == "postgres"
    async with pair.replica_stopped():
        body = (await _get(world, world.town.council, IMPACT)).json()
        csv_answer = await _get(world, world.town.council, IMPACT + ".csv")
        page = await world.town.client.get("/reports/impact", headers=world.town.council.headers)
        _, admin_impact = await _admin_answers(world)
    assert body["figures_from"] == "primary"
    assert _impact_figures(body) == NORTH_IMPACT
    assert csv_answer.headers["X-Figures-From"] == "primary"
    assert page.status_code == 200
    assert "Figures up to the moment." in page.text
    assert admin_impact["figures_from"] == "primary"


@pytest.mark.postgres_only
async def test_a_replica_lagging_beyond_the_bound_is_passed_over_by_the_impact_report(
    db_kind: str, pair: ReplicaPair, paused_world: Fixture
) -> None:
    assert db_kind == "postgres"
    await pair.replica_until(
        "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() "
        "AND now() - pg_last_xact_replay_timestamp() > interval '1 second'"
    )
    body = (await _get(paused_world, paused_world.town.council, IMPACT)).json()
    assert body["figures_from"] == "primary"
    assert _impact_figures(body) == NORTH_IMPACT
    _, admin_impact = await _admin_answers(paused_world)
    assert admin_impact["figures_from"] == "primary"

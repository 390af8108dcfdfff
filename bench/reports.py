"""Council report latency at 10^4, 10^5 and 10^6 exchanges, on PostgreSQL and SQLite.

Run with one command:

    .venv/bin/python bench/reports.py --engine postgres|sqlite|both [--quick] [--sizes 10000,...]
        [--event-attendances-per-exchange 0.1]

Each size gets a fresh database, migrated by service.database, holding an
installation that grows the way time banks grow: more communities (about 250
members each, five to a council area) and, as they mature, more exchanges per
member, over three years of history. The exchanges come from
service/reports/volume.py's seeded plan and are written straight into the
reports tables (reports_flow and the rollups) in bulk, month by month; the
ledger is left out because reports never read it. At the smallest size
`rollups_verify` checks that this bulk loading gives exactly the rollups the
one-by-one path keeps.

Timed, in-process (service/reports/figures.py `report_build`, what the page and
the API call), median of repeated runs after a warm-up:

* council dashboard: one area (5 communities), the last 12 months, every breakdown;
* council API: the same area and period, one breakdown (by month);
* admin dashboard: every community, the whole 36 months, every breakdown;
* naive scan (not a product path): the council's monthly totals and active
  members computed from the per-flow table instead of the rollups;
* impact report (service/reports/impact.py `impact_build`, ADR 0042): the
  council's area over 12 months, and every community over 36 months. Its
  exchange figures read the rollups' impact cells (ADR 0051); whether new
  members are still active months later reads the exchanges themselves
  (market_exchange and its recipients, written here as completed exchanges
  beside the rollups).
  Event attendances (10^5 at 10^6 exchanges: `--event-attendances-per-exchange`,
  default EVENT_ATTENDANCES_PER_EXCHANGE) are loaded by `load_event_attendances`:
  a weekly club in every community for the whole history, registers taken.

References, measured in the same run on the same machine (quality.md): a
primary-key SELECT, i.e. pgbench's select-only script at -c 1 on PostgreSQL
(bench/pgbench_reference.py, before and after), and raw sqlite3 on one open
connection on SQLite. Ratios are report latency / one reference SELECT.
Nothing here asserts on time; docs/performance.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.append(str(BENCH_DIR))  # after the project: only for pgbench_reference

import asyncpg  # noqa: E402
import pgbench_reference  # noqa: E402
from piccolo.engine.base import Engine  # noqa: E402

from ledger.sql import Connection  # noqa: E402
from ledger.transactions import read_connection, write_transaction  # noqa: E402
from service import database  # noqa: E402
from service.demo import volume_plan as volume  # noqa: E402
from service.principal import Grant, Principal  # noqa: E402
from service.reports.figures import BREAKDOWNS, report_build  # noqa: E402
from service.reports.impact import impact_build  # noqa: E402
from service.reports.period import Period, period_parse  # noqa: E402
from service.rollups import flows  # noqa: E402
from service.rollups import services as rollups  # noqa: E402
from service.rollups.verify import rollups_verify  # noqa: E402

ADMIN_URL = os.environ.get(
    "TIMEBANK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MEMBERS_PER_COMMUNITY = 250
COMMUNITIES_PER_AREA = 5
HISTORY_MONTHS = 36
EXCHANGES_PER_COMMUNITY_FULL = 10_000  # a mature community over three years
SEED = "bench"
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # fixed: the same plan on every run
WARMUP_RUNS = 2
# Events (issue 19): attendances per exchange loaded beside them, 10^5 at 10^6 exchanges.
EVENT_ATTENDANCES_PER_EXCHANGE = 0.1
CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class Shape:
    exchanges: int
    communities: int

    @staticmethod
    def of(exchanges: int) -> Shape:
        """Communities grow with volume: 4 at 10^4, 10 at 10^5, 100 at 10^6."""
        communities = max(4, exchanges // EXCHANGES_PER_COMMUNITY_FULL)
        return Shape(exchanges=exchanges, communities=communities)

    @property
    def members(self) -> int:
        return self.communities * MEMBERS_PER_COMMUNITY


@dataclass
class Timing:
    name: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.seconds)

    @property
    def p90_ms(self) -> float:
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


@dataclass
class SizeResult:
    shape: Shape
    load_seconds: float
    rows: dict[str, int]
    timings: dict[str, Timing]


@dataclass
class EngineResult:
    engine: str
    reference_ms: list[float] = field(default_factory=list)  # one primary-key SELECT
    sizes: list[SizeResult] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


# The installation ---------------------------------------------------------------------


def _community_id(index: int) -> uuid.UUID:
    return uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:community:{index}")


def _area_id(index: int) -> uuid.UUID:
    return uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:area:{index}")


def _people(shape: Shape) -> list[volume.Person]:
    rng = random.Random(f"{SEED}:people")
    people = []
    for community in range(shape.communities):
        for index in range(MEMBERS_PER_COMMUNITY):
            age = rng.randint(18, 95)
            people.append(
                volume.Person(
                    id=uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:{community}:{index}"),
                    community_id=_community_id(community),
                    area=community // COMMUNITIES_PER_AREA,
                    ward=volume.WARDS[rng.randrange(len(volume.WARDS))],
                    birth_year=None if rng.random() < 0.1 else NOW.year - age,
                    joined_at=NOW - timedelta(days=rng.uniform(1, HISTORY_MONTHS * 30.4)),
                )
            )
    return people


async def _insert_installation(
    connection: Connection, shape: Shape, people: Sequence[volume.Person]
) -> None:
    areas = range((shape.communities - 1) // COMMUNITIES_PER_AREA + 1)
    await connection.execute_many(
        "INSERT INTO member_area (id, name, slug, created_at) VALUES ($1, $2, $3, $4)",
        [(_area_id(a), f"Area {a}", f"area-{a}", NOW) for a in areas],
    )
    await connection.execute_many(
        "INSERT INTO member_community (id, name, slug, area, requires_approval, "
        "welcome_credit_minutes, member_floor_minutes, dispute_window_days, small_cell_k, "
        "issuance_account_id, pool_account_id, stripe_clearing_account_id, "
        "donations_account_id, fees_account_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, 120, -600, 30, 5, $6, $7, $8, $9, $10, $11)",
        [
            (
                _community_id(c),
                f"Community {c:03d}",
                f"community-{c}",
                _area_id(c // COMMUNITIES_PER_AREA),
                False,
                *(uuid.uuid5(_community_id(c), purpose) for purpose in ("i", "p", "s", "d", "f")),
                NOW - timedelta(days=HISTORY_MONTHS * 31),
            )
            for c in range(shape.communities)
        ],
    )
    rows = [
        (
            person.id,
            f"m{index}@bench.example",
            f"Member {index}",
            person.community_id,
            person.ward,
            person.birth_year,
            uuid.uuid5(person.id, "hours"),
            person.joined_at,
        )
        for index, person in enumerate(people)
    ]
    for start in range(0, len(rows), CHUNK_ROWS):
        await connection.execute_many(
            "INSERT INTO member_member (id, email, password_hash, display_name, community, "
            "ward, birth_year, skills, status, hour_account_id, created_at, approved_at) "
            "VALUES ($1, $2, 'x', $3, $4, $5, $6, '', 'active', $7, $8, $8)",
            rows[start : start + CHUNK_ROWS],
        )


Masks = dict[tuple[uuid.UUID, int, uuid.UUID], list[int]]


async def _load_month(
    connection: Connection,
    month_flows: list[tuple[rollups.Flow, int]],
    recorded_at: datetime,
    masks: Masks,
) -> None:
    """One month of flows: every key contains the month, so these rows are all new."""
    cells: dict[rollups.CellKey, list[int]] = defaultdict(lambda: [0, 0])
    members: dict[tuple[rollups.CellKey, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for flow, minutes in month_flows:
        roles = flows.member_roles(flow)  # the same rule as the live path
        for key in rollups.cell_keys(flow):
            cells[key][0] += minutes
            cells[key][1] += 1
            for pseudonym, gave, received in roles:
                counts = members[(key, pseudonym)]
                counts[0] += gave
                counts[1] += received
    distinct: dict[rollups.CellKey, int] = defaultdict(int)
    for key, _ in members:
        distinct[key] += 1
    await _insert_rows(
        connection,
        f"INSERT INTO reports_flow ({flows.FLOW_COLUMNS}, minutes_net, created_at) VALUES ("
        + ", ".join(f"${n}" for n in range(1, flows.FLOW_COLUMN_COUNT + 3))
        + ")",
        [(*flows.flow_values(flow), minutes, recorded_at) for flow, minutes in month_flows],
    )
    await _insert_rows(
        connection,
        f"INSERT INTO reports_cell ({rollups.CELL_COLUMNS}, minutes, exchanges, members) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [(*key, m, e, distinct[key]) for key, (m, e) in cells.items()],
    )
    await _insert_rows(
        connection,
        f"INSERT INTO reports_cell_member ({rollups.CELL_COLUMNS}, member_key, gave, received) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [(*key, who, gave, got) for (key, who), (gave, got) in members.items()],
    )
    months = rollups.member_month_deltas(
        [rollups.FlowDelta(flow, minutes, 1) for flow, minutes in month_flows]
    )
    await _insert_rows(
        connection,
        "INSERT INTO reports_member_month (community, member_key, month, gave, received) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(*key, gave, got) for key, (gave, got) in months.items()],
    )
    for (community, who, month), (gave, got) in months.items():
        mask = masks.setdefault((community, month // 100, who), [0, 0])
        mask[0] |= (1 << (month % 100 - 1)) if gave else 0
        mask[1] |= (1 << (month % 100 - 1)) if got else 0


async def _load_exchanges(
    connection: Connection, planned: Sequence[volume.Planned], people: Sequence[volume.Person]
) -> None:
    """The exchanges themselves, completed: the impact report reads them for new members'
    later activity (its other exchange figures come from the rollups)."""
    exchanges, recipients = [], []
    for each in planned:
        exchange_id = volume.exchange_id_of(SEED, each.index)
        provider = people[each.provider]
        exchanges.append((
            exchange_id, provider.community_id, provider.id, each.minutes, each.service_date,
        ))  # fmt: skip
        recipients.append((exchange_id, people[each.recipient].id))
    await _insert_rows(
        connection,
        "INSERT INTO market_exchange (id, community, provider, proposer, minutes, service_date, "
        "description, status, created_at, updated_at) "
        "VALUES ($1, $2, $3, $3, $4, $5, 'bench', 'completed', $5, $5)",
        exchanges,
    )
    await _insert_rows(
        connection,
        "INSERT INTO market_exchange_recipient (exchange, member) VALUES ($1, $2)",
        recipients,
    )


CLUB_WEEKS = HISTORY_MONTHS * 52 // 12  # one weekly club per community, the whole history


async def load_event_attendances(engine: Engine[Any], shape: Shape, attendances: int) -> int:
    """A weekly club in every community for the whole history, its registers taken, and
    `attendances` attendance rows spread evenly over its meetings (distinct members of
    the community at each); the first member of each community hosts. Returns how many
    attendance rows were loaded."""
    meetings = shape.communities * CLUB_WEEKS
    per_meeting = min(MEMBERS_PER_COMMUNITY - 1, -(-attendances // meetings)) if attendances else 0
    first_week = NOW - timedelta(weeks=CLUB_WEEKS)
    series_rows, host_rows, occurrence_rows, attendance_rows = [], [], [], []
    for community in range(shape.communities):
        community_id = _community_id(community)
        host = uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:{community}:0")
        series = uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:club:{community}")
        series_rows.append((series, community_id, host, first_week))
        host_rows.append((uuid.uuid5(series, "host"), series, host))
        for week in range(CLUB_WEEKS):
            meeting = uuid.uuid5(series, f"meeting:{week}")
            starts_at = first_week + timedelta(weeks=week)
            ends_at = starts_at + timedelta(hours=2)
            occurrence_rows.append((meeting, series, community_id, week + 1, starts_at, ends_at))
            for seat in range(per_meeting):
                if len(attendance_rows) >= attendances:
                    break
                member_index = 1 + (week + seat) % (MEMBERS_PER_COMMUNITY - 1)
                member = uuid.uuid5(volume.VOLUME_NAMESPACE, f"{SEED}:{community}:{member_index}")
                attendance_rows.append(
                    (uuid.uuid5(meeting, str(seat)), meeting, member, host, starts_at)
                )
    async with write_transaction(engine) as transaction:
        connection = transaction.connection
        await _insert_rows(
            connection,
            "INSERT INTO event_series (id, community, title, description, place, host_minutes, "
            "repeats, created_by, created_at) "
            "VALUES ($1, $2, 'Weekly club', 'bench', 'The hall', 60, 'weekly', $3, $4)",
            series_rows,
        )
        await _insert_rows(
            connection, "INSERT INTO event_host (id, series, member) VALUES ($1, $2, $3)", host_rows
        )
        await _insert_rows(
            connection,
            "INSERT INTO event_occurrence (id, series, community, position, starts_at, ends_at, "
            "place, register_taken_at) VALUES ($1, $2, $3, $4, $5, $6, 'The hall', $5)",
            occurrence_rows,
        )
        await _insert_rows(
            connection,
            "INSERT INTO event_attendance (id, occurrence, member, recorded_by, recorded_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            attendance_rows,
        )
    return len(attendance_rows)


async def _insert_rows(connection: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), CHUNK_ROWS):
        await connection.execute_many(sql, rows[start : start + CHUNK_ROWS])


async def load(engine: Engine[Any], shape: Shape, attendances_per_exchange: float) -> float:
    """Write the installation, its exchanges and events; returns the seconds it took."""
    started = time.perf_counter()
    people = _people(shape)
    by_month: dict[int, list[tuple[rollups.Flow, int]]] = defaultdict(list)
    planned_by_month: dict[int, list[volume.Planned]] = defaultdict(list)
    for planned in volume.plan_exchanges(people=people, count=shape.exchanges, now=NOW, seed=SEED):
        flow = volume.flow_of(planned, people, volume.exchange_id_of(SEED, planned.index))
        by_month[flow.month].append((flow, planned.minutes))
        planned_by_month[flow.month].append(planned)
    async with write_transaction(engine) as transaction:
        await _insert_installation(transaction.connection, shape, people)
    masks: Masks = {}
    for month in sorted(by_month):
        async with write_transaction(engine) as transaction:
            await _load_month(transaction.connection, by_month[month], NOW, masks)
            await _load_exchanges(transaction.connection, planned_by_month[month], people)
    await load_event_attendances(engine, shape, round(shape.exchanges * attendances_per_exchange))
    async with write_transaction(engine) as transaction:
        await _insert_rows(
            transaction.connection,
            "INSERT INTO reports_member_year (community, year, member_key, gave_months, "
            "received_months) VALUES ($1, $2, $3, $4, $5)",
            [(*key, gave, got) for key, (gave, got) in masks.items()],
        )
    if database.is_postgres(engine):
        # Autovacuum would analyze the freshly loaded tables soon; do it now.
        async with read_connection(engine) as connection:
            await connection.execute("ANALYZE")
    return time.perf_counter() - started


# What is timed -------------------------------------------------------------------------


def _viewer(areas: Sequence[uuid.UUID], *, admin: bool) -> Principal:
    grants = (
        (Grant("admin", None, None),)
        if admin
        else tuple(Grant("council", None, area) for area in areas)
    )
    return Principal(
        member_id=uuid.uuid4(),
        display_name="Bench viewer",
        community_id=_community_id(0),
        status="active",
        grants=grants,
        via="session",
        credential_id=uuid.uuid4(),
    )


def _cases(engine: Engine[Any], shape: Shape) -> dict[str, Callable[[], Awaitable[Any]]]:
    council = _viewer([_area_id(0)], admin=False)
    admin = _viewer([], admin=True)
    last_year = period_parse("2025-12", "2026-11", now=NOW)
    whole = period_parse("2023-12", "2026-11", now=NOW)

    async def council_dashboard() -> Any:
        return await report_build(
            engine=engine, viewer=council, period=last_year, community_slugs=[],
            breakdowns=list(BREAKDOWNS),
        )  # fmt: skip

    async def council_api() -> Any:
        return await report_build(
            engine=engine, viewer=council, period=last_year, community_slugs=[],
            breakdowns=["month"],
        )  # fmt: skip

    async def admin_dashboard() -> Any:
        return await report_build(
            engine=engine, viewer=admin, period=whole, community_slugs=[],
            breakdowns=list(BREAKDOWNS),
        )  # fmt: skip

    async def naive_scan() -> Any:
        return await _naive(engine, last_year, shape)

    async def council_impact() -> Any:
        return await impact_build(
            engine=engine, viewer=council, period=last_year, community_slugs=[]
        )

    async def admin_impact() -> Any:
        return await impact_build(engine=engine, viewer=admin, period=whole, community_slugs=[])

    return {
        "council dashboard (5 breakdowns, 12 months)": council_dashboard,
        "council API (by month, 12 months)": council_api,
        "admin dashboard (all, 36 months)": admin_dashboard,
        "naive scan of flows (council, by month + active)": naive_scan,
        "impact report (council, 12 months)": council_impact,
        "impact report (admin, all, 36 months)": admin_impact,
    }


async def _naive(engine: Engine[Any], period: Period, shape: Shape) -> Any:
    """What the council's monthly figures cost without rollups: scan every flow."""
    ids = [_community_id(c) for c in range(min(COMMUNITIES_PER_AREA, shape.communities))]
    async with read_connection(engine) as connection:
        in_scope, parameters = connection.id_list(ids, 3)
        where = (
            f"kind = 'exchange' AND month BETWEEN $1 AND $2 AND minutes_net > 0 "
            f"AND (provider_community {in_scope} OR recipient_community {in_scope})"
        )
        months = await connection.fetch(
            f"SELECT month, SUM(minutes_net) AS minutes, COUNT(*) AS exchanges "
            f"FROM reports_flow WHERE {where} GROUP BY month",
            period.first, period.last, *parameters,
        )  # fmt: skip
        active = await connection.fetch(
            f"SELECT COUNT(*) AS active FROM (SELECT provider_key AS who FROM reports_flow "
            f"WHERE {where} UNION SELECT recipient_key FROM reports_flow WHERE {where}) AS people",
            period.first, period.last, *parameters,
        )  # fmt: skip
    return months, active


async def measure(engine: Engine[Any], shape: Shape, budget_seconds: float) -> dict[str, Timing]:
    cases = _cases(engine, shape)
    timings = {name: Timing(name) for name in cases}
    for call in cases.values():
        for _ in range(WARMUP_RUNS):
            await call()
    # Interleaved rounds: a busy shared machine slows every case alike.
    deadline = time.perf_counter() + budget_seconds
    while time.perf_counter() < deadline or min(len(t.seconds) for t in timings.values()) < 5:
        for name, call in cases.items():
            started = time.perf_counter()
            await call()
            timings[name].seconds.append(time.perf_counter() - started)
    return timings


async def _row_counts(engine: Engine[Any]) -> dict[str, int]:
    counts = {}
    async with read_connection(engine) as connection:
        for table in (
            "reports_flow",
            "reports_cell",
            "reports_cell_member",
            "reports_member_year",
            "member_member",
            "market_exchange",
            "event_attendance",
        ):
            rows = await connection.fetch(f"SELECT COUNT(*) AS n FROM {table}")
            counts[table] = int(rows[0]["n"])
    return counts


async def run_size(
    engine: Engine[Any],
    shape: Shape,
    budget_seconds: float,
    *,
    verify: bool,
    attendances_per_exchange: float = EVENT_ATTENDANCES_PER_EXCHANGE,
) -> SizeResult:
    print(f"    {shape.exchanges:,} exchanges, {shape.communities} communities, "
          f"{shape.members:,} members: loading", flush=True)  # fmt: skip
    seconds = await load(engine, shape, attendances_per_exchange)
    if verify:
        async with read_connection(engine) as connection:
            problems = await rollups_verify(connection)
        if problems:
            raise RuntimeError(f"bulk-loaded rollups differ: {problems[:3]}")
        print("      rollups_verify: the bulk-loaded rollups are exact", flush=True)
    rows = await _row_counts(engine)
    print(f"      loaded in {seconds:.0f} s: {rows}", flush=True)
    timings = await measure(engine, shape, budget_seconds)
    for timing in timings.values():
        print(f"      {timing.name}: median {timing.median_ms:.1f} ms, p90 {timing.p90_ms:.1f} ms "
              f"({len(timing.seconds)} runs)", flush=True)  # fmt: skip
    return SizeResult(shape=shape, load_seconds=seconds, rows=rows, timings=timings)


# Engines -------------------------------------------------------------------------------


def _database_url(name: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrated(url: str) -> Engine[Any]:
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    await database.migrate(engine)
    return engine


def _pgbench_select_ms(pgbench_db: str, seconds: int) -> float:
    result = pgbench_reference.run_builtin(
        ADMIN_URL, pgbench_db, script="select-only", clients=1, seconds=seconds
    )
    return 1000 / result.tps


async def bench_postgres(
    sizes: Sequence[int],
    budget_seconds: float,
    pgbench_seconds: int,
    attendances_per_exchange: float = EVENT_ATTENDANCES_PER_EXCHANGE,
) -> EngineResult:
    result = EngineResult(engine="postgres")
    pid = os.getpid()
    pgbench_db = f"bench_pgbench_{pid}"
    await _admin(f"CREATE DATABASE {pgbench_db}")
    try:
        await asyncio.to_thread(pgbench_reference.initialise, ADMIN_URL, pgbench_db)
        result.reference_ms.append(
            await asyncio.to_thread(_pgbench_select_ms, pgbench_db, pgbench_seconds)
        )
        print(f"[postgres] pgbench select-only -c 1: {result.reference_ms[-1]:.3f} ms", flush=True)
        for index, size in enumerate(sizes):
            name = f"bench_reports_{pid}_{size}"
            await _admin(f"CREATE DATABASE {name}")
            engine = await _migrated(_database_url(name))
            try:
                result.sizes.append(
                    await run_size(
                        engine,
                        Shape.of(size),
                        budget_seconds,
                        verify=index == 0,
                        attendances_per_exchange=attendances_per_exchange,
                    )
                )
                connection = await asyncpg.connect(_database_url(name))
                try:
                    size_bytes = await connection.fetchval(
                        "SELECT pg_database_size(current_database())"
                    )
                    result.facts[f"database size at {size:,}"] = f"{size_bytes / 2**20:.0f} MiB"
                    result.facts["server"] = "PostgreSQL " + await connection.fetchval(
                        "SHOW server_version"
                    )
                finally:
                    await connection.close()
            finally:
                await database.release(engine)
                await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        result.reference_ms.append(
            await asyncio.to_thread(_pgbench_select_ms, pgbench_db, pgbench_seconds)
        )
        print(
            f"[postgres] pgbench select-only -c 1 (after): {result.reference_ms[-1]:.3f} ms",
            flush=True,
        )
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {pgbench_db} WITH (FORCE)")
    return result


def _sqlite_select_ms(path: str, seconds: float) -> float:
    """Raw sqlite3 on one open connection: primary-key SELECTs of random members."""
    with sqlite3.connect(path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM member_member LIMIT 1000")]
        rng = random.Random(1)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(200):
                connection.execute("SELECT display_name FROM member_member WHERE id = ?",
                                   (rng.choice(ids),)).fetchone()  # fmt: skip
            done += 200
        return 1000 * (time.perf_counter() - started) / done


def _files_mib(folder: str, size: int) -> float:
    return sum(p.stat().st_size for p in Path(folder).glob(f"reports_{size}.sqlite3*")) / 2**20


async def bench_sqlite(
    sizes: Sequence[int],
    budget_seconds: float,
    attendances_per_exchange: float = EVENT_ATTENDANCES_PER_EXCHANGE,
) -> EngineResult:
    result = EngineResult(engine="sqlite")
    result.facts["server"] = f"SQLite {sqlite3.sqlite_version}"
    with tempfile.TemporaryDirectory(prefix="bench_reports_") as folder:
        for index, size in enumerate(sizes):
            path = str(Path(folder) / f"reports_{size}.sqlite3")
            engine = await _migrated(f"sqlite:///{path}")
            try:
                result.sizes.append(
                    await run_size(
                        engine,
                        Shape.of(size),
                        budget_seconds,
                        verify=index == 0,
                        attendances_per_exchange=attendances_per_exchange,
                    )
                )
            finally:
                await database.release(engine)
            result.reference_ms.append(_sqlite_select_ms(path, 2.0))
            print(
                f"[sqlite] raw sqlite3 primary-key select: {result.reference_ms[-1]:.4f} ms",
                flush=True,
            )
            result.facts[f"database size at {size:,}"] = f"{_files_mib(folder, size):.0f} MiB"
    return result


# Output --------------------------------------------------------------------------------


def print_result(result: EngineResult) -> None:
    reference = statistics.mean(result.reference_ms)
    print()
    print(f"## {result.engine}: reference primary-key SELECT {reference:.4f} ms "
          f"(runs: {', '.join(f'{ms:.4f}' for ms in result.reference_ms)})")  # fmt: skip
    for fact, value in result.facts.items():
        print(f"   {fact}: {value}")
    names = list(result.sizes[0].timings)
    header = "| case | " + " | ".join(f"{s.shape.exchanges:,}" for s in result.sizes) + " |"
    print(header)
    print("|---|" + "---:|" * len(result.sizes))
    for name in names:
        cells = []
        for size in result.sizes:
            timing = size.timings[name]
            cells.append(f"{timing.median_ms:.1f} ms (x{timing.median_ms / reference:,.0f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    first = result.sizes[0]
    for name in names:
        growth = [
            size.timings[name].median_ms / first.timings[name].median_ms for size in result.sizes
        ]
        print(f"growth of {name}: " + ", ".join(f"{g:.2f}" for g in growth))
    for size in result.sizes:
        print(f"rows at {size.shape.exchanges:,}: {size.rows}; loaded in {size.load_seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 only, short runs")
    parser.add_argument("--sizes", help="comma-separated exchange counts (overrides the default)")
    parser.add_argument(
        "--event-attendances-per-exchange",
        type=float,
        default=EVENT_ATTENDANCES_PER_EXCHANGE,
        help="event attendances loaded per exchange (10^5 at 10^6), at weekly clubs",
    )
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    budget = 2.0 if args.quick else 8.0
    results = []
    if args.engine in ("postgres", "both"):
        print("[postgres]", flush=True)
        results.append(
            asyncio.run(
                bench_postgres(
                    sizes, budget, 2 if args.quick else 5, args.event_attendances_per_exchange
                )
            )
        )
    if args.engine in ("sqlite", "both"):
        print("[sqlite]", flush=True)
        results.append(
            asyncio.run(bench_sqlite(sizes, budget, args.event_attendances_per_exchange))
        )
    for result in results:
        print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

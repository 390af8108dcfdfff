"""Ledger benchmarks: write throughput, batches, read cost, growth and memory.

Run with one command:

    .venv/bin/python bench/ledger.py --engine postgres|sqlite|both [--quick] [--profile]

Every figure is printed next to a reference measured in the same invocation on
the same machine, and the ratio is what counts (quality.md, "Performance"):

* PostgreSQL: pgbench's built-in TPC-B-like transaction at the same client
  count (bench/pgbench_reference.py), and pgbench's select-only script for reads.
* SQLite: raw `sqlite3` on one open connection doing the same database work as
  one ledger transfer (lock-read both accounts, insert the transfer row, insert
  two entry rows, update both accounts) in one BEGIN IMMEDIATE transaction per
  transfer, on a database migrated exactly like the ledger's. That is the floor
  the file itself allows; every cost above it is ours (Python, aiosqlite, the
  ledger's extra reads and hashing).

The script creates a scratch database (PostgreSQL: CREATE DATABASE
bench_ledger_<pid> plus bench_pgbench_<pid> for the reference; SQLite: a
temporary directory), migrates it with service.database, and drops it at the
end. Nothing here asserts on time: this is measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# This file is called ledger.py: drop its own folder from the import path so
# that `import ledger` finds the project's package, not this script.
BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.append(str(BENCH_DIR))  # after the project: only for pgbench_reference

import asyncpg  # noqa: E402
import pgbench_reference  # noqa: E402
from piccolo.engine.base import Engine  # noqa: E402

from ledger import Ledger, NewTransfer, Unit, write_transaction  # noqa: E402
from ledger.queries import encode_cursor  # noqa: E402
from ledger.sql import SQLITE_TIME_FORMAT  # noqa: E402
from service import database  # noqa: E402

ADMIN_URL = os.environ.get(
    "TIMEBANK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
HOT_ACCOUNTS = 10
PAD_ACCOUNTS = 100  # partners of the long-history account
SHORT_HISTORY = 10
ACCOUNTS_PER_OPEN_TRANSACTION = 500
STATEMENT_PAGE = 50
MANY_WRITERS = 16


@dataclass(frozen=True)
class Sizes:
    """How big and how long: --quick (under a minute for both engines) or full."""

    spread_accounts: int
    long_history: int
    seconds_write: float
    seconds_batch: float
    seconds_read: float
    seconds_warmup: float
    pgbench_seconds: int

    @staticmethod
    def pick(*, quick: bool) -> Sizes:
        if quick:
            return Sizes(
                spread_accounts=2_000,
                long_history=5_000,
                seconds_write=1.5,
                seconds_batch=1.5,
                seconds_read=0.7,
                seconds_warmup=0.2,
                pgbench_seconds=2,
            )
        return Sizes(
            spread_accounts=10_000,
            long_history=50_000,
            seconds_write=10.0,
            seconds_batch=10.0,
            seconds_read=3.0,
            seconds_warmup=1.0,
            pgbench_seconds=10,
        )


# Measurement -------------------------------------------------------------------


@dataclass
class Rate:
    """Operations done in a timed run, with the client's CPU time and latencies."""

    name: str
    clients: int
    operations: int  # transfers (or reads) completed
    seconds: float
    cpu_seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds per call
    reference: str | None = None  # key into the engine's reference rates

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_operation(self) -> float:
        return 1000 * self.cpu_seconds / self.operations if self.operations else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Memory:
    name: str
    seconds: float
    traced_peak_bytes: int  # tracemalloc peak during the call
    rss_peak_growth_kib: int  # VmHWM after the call minus VmRSS before it
    rss_peak_kib: int  # VmHWM after the call (whole process)
    size_label: str


@dataclass
class EngineReport:
    engine: str
    rates: list[Rate] = field(default_factory=list)
    references: dict[str, float] = field(default_factory=dict)  # key -> operations/s
    reference_notes: dict[str, str] = field(default_factory=dict)
    memory: list[Memory] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    def rate(self, name: str) -> Rate:
        return next(rate for rate in self.rates if rate.name == name)


Operation = Callable[[], Awaitable[int]]  # returns how many operations it completed


async def run_for(
    name: str,
    operation: Operation,
    *,
    clients: int,
    seconds: float,
    warmup: float,
    reference: str | None = None,
) -> Rate:
    """Run `operation` in `clients` concurrent tasks for `seconds` (after a warm-up)."""

    async def loop(until: float, latencies: list[float] | None) -> int:
        done = 0
        while time.perf_counter() < until:
            started = time.perf_counter()
            done += await operation()
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
        return done

    if warmup > 0:
        until = time.perf_counter() + warmup
        await asyncio.gather(*(loop(until, None) for _ in range(clients)))
    latencies: list[float] = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    until = started + seconds
    counts = await asyncio.gather(*(loop(until, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return Rate(
        name=name,
        clients=clients,
        operations=sum(counts),
        seconds=elapsed,
        cpu_seconds=time.process_time() - cpu_started,
        latencies=latencies,
        reference=reference,
    )


def _status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux 4.0+), so the peak is this call's.
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


async def measure_memory(
    name: str, size_label: str, call: Callable[[], Awaitable[object]]
) -> Memory:
    """Peak memory of one call: once under tracemalloc, once for RSS (no tracing overhead)."""
    gc.collect()
    _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    started = time.perf_counter()
    await call()
    seconds = time.perf_counter() - started
    rss_peak = _status_kib("VmHWM")
    gc.collect()
    tracemalloc.start()
    try:
        await call()
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Memory(
        name=name,
        seconds=seconds,
        traced_peak_bytes=traced_peak,
        rss_peak_growth_kib=max(0, rss_peak - rss_before),
        rss_peak_kib=rss_peak,
        size_label=size_label,
    )


@contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(30)
            print(f"\n--- profile of single transfers, 1 writer, sorted by {order} ---")
            print(out.getvalue())


# The workload ---------------------------------------------------------------------


@dataclass
class Accounts:
    hot: list[uuid.UUID]
    pad: list[uuid.UUID]
    spread: list[uuid.UUID]
    short: uuid.UUID
    long: uuid.UUID


def new_transfer(debit: uuid.UUID, credit: uuid.UUID) -> NewTransfer:
    return NewTransfer(
        id=uuid.uuid4(),
        debit_account_id=debit,
        credit_account_id=credit,
        amount_minor=random.randint(1, 120),
        unit=Unit.HOUR,
        code="bench",
        actor="bench:writer",
        memo="benchmark transfer",
    )


def random_pair(pool: list[uuid.UUID]) -> tuple[uuid.UUID, uuid.UUID]:
    debit, credit = random.sample(pool, 2)
    return debit, credit


def transfer_between(ledger: Ledger, pick: Callable[[], tuple[uuid.UUID, uuid.UUID]]) -> Operation:
    async def operation() -> int:
        debit, credit = pick()
        await ledger.execute(operation=new_transfer(debit, credit))
        return 1

    return operation


def batch_of(ledger: Ledger, pool: list[uuid.UUID], size: int) -> Operation:
    async def operation() -> int:
        items = [new_transfer(*random_pair(pool)) for _ in range(size)]
        results = await ledger.batch(items=items)
        failed = [result.error for result in results if not result.ok]
        if failed:
            raise RuntimeError(f"batch refused {len(failed)} items, first: {failed[0]!r}")
        return size

    return operation


async def open_accounts(
    engine: Engine[Any], ledger: Ledger, count: int, label: str
) -> list[uuid.UUID]:
    """Open accounts through the public API, many per transaction (the ledger joins it)."""
    ids = [uuid.uuid4() for _ in range(count)]
    for start in range(0, count, ACCOUNTS_PER_OPEN_TRANSACTION):
        async with write_transaction(engine):
            for number, account_id in enumerate(
                ids[start : start + ACCOUNTS_PER_OPEN_TRANSACTION], start
            ):
                await ledger.open_account(
                    unit=Unit.HOUR,
                    owner=f"bench:{label}:{number}",
                    floor_minor=None,
                    account_id=account_id,
                )
    return ids


async def grow_history(
    ledger: Ledger, account: uuid.UUID, partners: list[uuid.UUID], n: int
) -> None:
    """Give `account` n more entries, in batches of up to 1000 transfers."""
    while n > 0:
        size = min(n, 1000)
        items = []
        for index in range(size):
            partner = random.choice(partners)
            pair = (account, partner) if index % 2 else (partner, account)
            items.append(new_transfer(*pair))
        results = await ledger.batch(items=items)
        if not all(result.ok for result in results):
            raise RuntimeError("history batch refused items")
        n -= size


# SQLite reference -------------------------------------------------------------------


_REFERENCE_TRANSFER = (
    "INSERT INTO ledger_transfer (id, kind, unit, debit_account_id, credit_account_id, "
    "amount_minor, code, memo, actor, override_limits, effective_at, recorded_at) "
    "VALUES (?, 'single', 'HOUR', ?, ?, ?, 'bench', 'benchmark transfer', 'bench:writer', 0, ?, ?)"
)
_REFERENCE_ENTRY = (
    "INSERT INTO ledger_entry (account_id, version, transfer_id, debits_posted, credits_posted, "
    "debits_pending, credits_pending, balance_minor, recorded_at, previous_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)"
)
_REFERENCE_ACCOUNT = (
    "UPDATE ledger_account SET debits_posted = ?, credits_posted = ?, version = ?, "
    "head_hash = ?, updated_at = ? WHERE id = ?"
)


def _reference_transfer(connection: sqlite3.Connection, pool: list[str]) -> None:
    debit, credit = random.sample(pool, 2)
    amount = random.randint(1, 120)
    now = datetime.now(UTC).strftime(SQLITE_TIME_FORMAT)
    transfer_id = str(uuid.uuid4())
    digest = "0" * 64
    connection.execute("BEGIN IMMEDIATE")
    rows = connection.execute(
        "SELECT id, debits_posted, credits_posted, version FROM ledger_account "
        "WHERE id IN (?, ?) ORDER BY id",
        (debit, credit),
    ).fetchall()
    connection.execute(_REFERENCE_TRANSFER, (transfer_id, debit, credit, amount, now, now))
    entries, updates = [], []
    for account_id, debits_before, credits_before, version in rows:
        debits_after = debits_before + (amount if account_id == debit else 0)
        credits_after = credits_before + (amount if account_id == credit else 0)
        balance = credits_after - debits_after
        entries.append(
            (
                account_id,
                version + 1,
                transfer_id,
                debits_after,
                credits_after,
                balance,
                now,
                digest,
                digest,
            )
        )
        updates.append((debits_after, credits_after, version + 1, digest, now, account_id))
    connection.executemany(_REFERENCE_ENTRY, entries)
    connection.executemany(_REFERENCE_ACCOUNT, updates)
    connection.execute("COMMIT")


def sqlite_reference(path: str, pool: list[uuid.UUID], seconds: float) -> tuple[float, float]:
    """Raw sqlite3 rates on one open connection: (transfers/s, account reads/s)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = 1")
        ids = [str(account_id) for account_id in pool]
        for _ in range(50):  # warm-up
            _reference_transfer(connection, ids)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            _reference_transfer(connection, ids)
            done += 1
        writes = done / (time.perf_counter() - started)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 2:
            connection.execute(
                "SELECT * FROM ledger_account WHERE id = ?", (random.choice(ids),)
            ).fetchone()
            done += 1
        reads = done / (time.perf_counter() - started)
    finally:
        connection.close()
    return writes, reads


# One engine, start to end -------------------------------------------------------------


class Bench:
    def __init__(
        self, engine_kind: str, engine: Engine[Any], sizes: Sizes, report: EngineReport
    ) -> None:
        self.kind = engine_kind
        self.engine = engine
        self.ledger = Ledger(engine)
        self.sizes = sizes
        self.report = report

    async def timed(
        self, name: str, operation: Operation, *, clients: int, seconds: float, reference: str
    ) -> Rate:
        rate = await run_for(
            name,
            operation,
            clients=clients,
            seconds=seconds,
            warmup=self.sizes.seconds_warmup,
            reference=reference,
        )
        self.report.rates.append(rate)
        print(f"  {name:<52} {rate.per_second:>10.1f}/s", flush=True)
        return rate

    def write_reference(self, clients: int) -> str:
        if self.kind == "postgres":
            return f"tpcb-{clients}"
        return "sqlite-write"

    def read_reference(self) -> str:
        return "select-1" if self.kind == "postgres" else "sqlite-read"

    async def run(self, *, profile: bool) -> None:
        sizes = self.sizes
        ledger = self.ledger
        started = time.perf_counter()
        hot = await open_accounts(self.engine, ledger, HOT_ACCOUNTS, "hot")
        pad = await open_accounts(self.engine, ledger, PAD_ACCOUNTS, "pad")
        short, long = await open_accounts(self.engine, ledger, 2, "history")
        accounts = Accounts(hot=hot, pad=pad, spread=[], short=short, long=long)

        # (4a) write cost while the database is small: few accounts, no history.
        await self.timed(
            "growth: transfer, small db (1 writer, hot pairs)",
            transfer_between(ledger, lambda: random_pair(hot)),
            clients=1,
            seconds=sizes.seconds_write / 2,
            reference=self.write_reference(1),
        )
        self.report.memory.append(await self.verify_memory("verify(), small db"))

        opened = time.perf_counter()
        accounts.spread = await open_accounts(self.engine, ledger, sizes.spread_accounts, "spread")
        self.report.facts["open accounts/s (500 per transaction)"] = (
            f"{sizes.spread_accounts / (time.perf_counter() - opened):.0f}"
        )

        await self.single_transfers(accounts, profile=profile)
        await self.batches(accounts)
        await self.build_history(accounts)
        await self.reads(accounts)
        await self.growth_writes(accounts)
        await self.memory(accounts)
        self.report.facts["engine run seconds"] = f"{time.perf_counter() - started:.0f}"

    async def single_transfers(self, accounts: Accounts, *, profile: bool) -> None:
        sizes = self.sizes
        print(f"[{self.kind}] (1) single transfers", flush=True)
        for label, pool in (
            ("hot 10", accounts.hot),
            (f"spread {len(accounts.spread)}", accounts.spread),
        ):
            for clients in (1, MANY_WRITERS):
                operation = transfer_between(self.ledger, lambda pool=pool: random_pair(pool))
                with profiled(profile and clients == 1 and pool is accounts.spread):
                    await self.timed(
                        f"transfer, {label} accounts, {clients} writers",
                        operation,
                        clients=clients,
                        seconds=sizes.seconds_write,
                        reference=self.write_reference(clients),
                    )

    async def batches(self, accounts: Accounts) -> None:
        print(f"[{self.kind}] (2) batches", flush=True)
        for size in (100, 1000):
            await self.timed(
                f"batch of {size}, spread accounts, 1 writer",
                batch_of(self.ledger, accounts.spread, size),
                clients=1,
                seconds=self.sizes.seconds_batch,
                reference=self.write_reference(1),
            )

    async def build_history(self, accounts: Accounts) -> None:
        print(f"[{self.kind}] building history: {self.sizes.long_history} entries", flush=True)
        started = time.perf_counter()
        await grow_history(self.ledger, accounts.short, accounts.pad, SHORT_HISTORY)
        await grow_history(self.ledger, accounts.long, accounts.pad, self.sizes.long_history)
        seconds = time.perf_counter() - started
        self.report.facts["history build transfers/s (batches of 1000)"] = (
            f"{self.sizes.long_history / seconds:.0f}"
        )

    async def reads(self, accounts: Accounts) -> None:
        ledger, seconds = self.ledger, self.sizes.seconds_read
        print(f"[{self.kind}] (3) reads, short vs long history", flush=True)
        long_account = await ledger.account(account_id=accounts.long)
        short_account = await ledger.account(account_id=accounts.short)
        self.report.facts["long history entries"] = str(long_account.version)
        self.report.facts["short history entries"] = str(short_account.version)
        middle = await ledger.statement(
            account_id=accounts.long, limit=1, cursor=encode_cursor(long_account.version // 2)
        )
        middle_instant = middle.lines[0].recorded_at
        short_instant = (
            (await ledger.statement(account_id=accounts.short, limit=1)).lines[0].recorded_at
        )
        deep_cursor = encode_cursor(max(2, long_account.version // 2))

        def balance(account: uuid.UUID) -> Operation:
            async def operation() -> int:
                await ledger.balance(account_id=account)
                return 1

            return operation

        def statement(account: uuid.UUID, cursor: str | None) -> Operation:
            async def operation() -> int:
                page = await ledger.statement(
                    account_id=account, limit=STATEMENT_PAGE, cursor=cursor
                )
                if not page.lines:
                    raise RuntimeError("empty statement page")
                return 1

            return operation

        def balance_at(account: uuid.UUID, at: datetime) -> Operation:
            async def operation() -> int:
                await ledger.balance_at(account_id=account, at=at)
                return 1

            return operation

        ref = self.read_reference()
        cases: list[tuple[str, Operation]] = [
            ("read: balance, short history", balance(accounts.short)),
            ("read: balance, long history", balance(accounts.long)),
            ("read: statement page 1, short history", statement(accounts.short, None)),
            ("read: statement page 1, long history", statement(accounts.long, None)),
            ("read: statement mid-history page, long", statement(accounts.long, deep_cursor)),
            ("read: balance_at, short history", balance_at(accounts.short, short_instant)),
            ("read: balance_at mid-history, long", balance_at(accounts.long, middle_instant)),
        ]
        for name, operation in cases:
            await self.timed(name, operation, clients=1, seconds=seconds, reference=ref)

    async def growth_writes(self, accounts: Accounts) -> None:
        print(f"[{self.kind}] (4) write cost on the grown database", flush=True)
        hot, long = accounts.hot, accounts.long
        await self.timed(
            "growth: transfer, large db (1 writer, hot pairs)",
            transfer_between(self.ledger, lambda: random_pair(hot)),
            clients=1,
            seconds=self.sizes.seconds_write / 2,
            reference=self.write_reference(1),
        )
        await self.timed(
            "growth: transfer, large db, long-history account",
            transfer_between(self.ledger, lambda: (long, random.choice(hot))),
            clients=1,
            seconds=self.sizes.seconds_write / 2,
            reference=self.write_reference(1),
        )

    async def verify_memory(self, name: str) -> Memory:
        report = await self.ledger.verify()
        if not report.ok:
            raise RuntimeError(report.summary())
        label = f"{report.accounts_checked} accounts, {report.entries_checked} entries"
        return await measure_memory(name, label, self.ledger.verify)

    async def memory(self, accounts: Accounts) -> None:
        print(f"[{self.kind}] (5) memory", flush=True)
        batches = [
            [new_transfer(*random_pair(accounts.spread)) for _ in range(1000)] for _ in range(2)
        ]

        async def one_batch() -> object:
            return await self.ledger.batch(items=batches.pop())

        self.report.memory.append(
            await measure_memory("batch of 1000 transfers", "1000 items", one_batch)
        )
        self.report.memory.append(await self.verify_memory("verify(), large db"))


# Engines: scratch databases, references -------------------------------------------------


def _database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
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


def _pgbench_references(report: EngineReport, sizes: Sizes, pgbench_db: str, when: str) -> None:
    seconds = sizes.pgbench_seconds
    for clients in (1, MANY_WRITERS):
        result = pgbench_reference.run_tpcb(ADMIN_URL, pgbench_db, clients=clients, seconds=seconds)
        key = f"tpcb-{clients}"
        report.reference_notes[f"{key} {when}"] = f"{result.tps:.1f}"
        previous = report.references.get(key)
        report.references[key] = result.tps if previous is None else (previous + result.tps) / 2
        print(f"  pgbench tpcb-like -c {clients} ({when}): {result.tps:.1f} tps", flush=True)
    result = pgbench_reference.run_builtin(
        ADMIN_URL, pgbench_db, script="select-only", clients=1, seconds=max(1, seconds // 2)
    )
    previous = report.references.get("select-1")
    report.references["select-1"] = result.tps if previous is None else (previous + result.tps) / 2
    report.reference_notes[f"select-1 {when}"] = f"{result.tps:.1f}"
    print(f"  pgbench select-only -c 1 ({when}): {result.tps:.1f} tps", flush=True)


async def bench_postgres(sizes: Sizes, *, profile: bool) -> EngineReport:
    report = EngineReport(engine="postgres")
    pid = os.getpid()
    ledger_db, pgbench_db = f"bench_ledger_{pid}", f"bench_pgbench_{pid}"
    engine: Engine[Any] | None = None
    await _admin(f"CREATE DATABASE {pgbench_db}")
    await _admin(f"CREATE DATABASE {ledger_db}")
    try:
        print(f"[postgres] pgbench -i -s {pgbench_reference.PGBENCH_SCALE} ...", flush=True)
        await asyncio.to_thread(pgbench_reference.initialise, ADMIN_URL, pgbench_db)
        await asyncio.to_thread(_pgbench_references, report, sizes, pgbench_db, "before")
        engine = await _migrated(_database_url(ADMIN_URL, ledger_db))
        connection = await asyncpg.connect(_database_url(ADMIN_URL, ledger_db))
        try:
            report.facts["server"] = await connection.fetchval("SHOW server_version")
            bench = Bench("postgres", engine, sizes, report)
            await bench.run(profile=profile)
            size = await connection.fetchval("SELECT pg_database_size(current_database())")
            report.facts["database size MiB"] = f"{size / 2**20:.1f}"
        finally:
            await connection.close()
        await database.release(engine)
        engine = None
        await asyncio.to_thread(_pgbench_references, report, sizes, pgbench_db, "after")
    finally:
        if engine is not None:
            await database.release(engine)
        await _admin(f"DROP DATABASE IF EXISTS {ledger_db} WITH (FORCE)")
        await _admin(f"DROP DATABASE IF EXISTS {pgbench_db} WITH (FORCE)")
    return report


def _files_size(folder: Path, pattern: str) -> int:
    return sum(path.stat().st_size for path in folder.glob(pattern))


async def bench_sqlite(sizes: Sizes, *, profile: bool) -> EngineReport:
    report = EngineReport(engine="sqlite")
    report.facts["server"] = f"SQLite {sqlite3.sqlite_version}"
    with tempfile.TemporaryDirectory(prefix="bench_ledger_") as folder:
        reference_path = str(Path(folder) / "reference.sqlite3")
        reference_engine = await _migrated(f"sqlite:///{reference_path}")
        pool = await open_accounts(reference_engine, Ledger(reference_engine), HOT_ACCOUNTS, "ref")
        await database.release(reference_engine)
        print("[sqlite] raw sqlite3 reference ...", flush=True)
        writes, reads = sqlite_reference(reference_path, pool, sizes.seconds_write)
        report.references["sqlite-write"] = writes
        report.references["sqlite-read"] = reads
        print(f"  sqlite3 transfer transaction: {writes:.1f}/s, account read: {reads:.1f}/s")

        path = Path(folder) / "ledger.sqlite3"
        engine = await _migrated(f"sqlite:///{path}")
        try:
            await Bench("sqlite", engine, sizes, report).run(profile=profile)
        finally:
            await database.release(engine)
        size = _files_size(Path(folder), "ledger.sqlite3*")
        report.facts["database size MiB"] = f"{size / 2**20:.1f}"
        # Same reference again at the end: shows drift of the machine over the run.
        writes_after, _ = sqlite_reference(reference_path, pool, sizes.seconds_write / 2)
        report.reference_notes["sqlite-write before"] = f"{writes:.1f}"
        report.reference_notes["sqlite-write after"] = f"{writes_after:.1f}"
        report.references["sqlite-write"] = (writes + writes_after) / 2
    return report


# Printing -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_machine() -> None:
    print("machine")
    print(f"  cpus available: {len(os.sched_getaffinity(0))} (nproc), model: {cpu_model()}")
    print(f"  python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")


def print_report(report: EngineReport) -> None:
    print(f"\n=== {report.engine} ===")
    for key, value in report.facts.items():
        print(f"  {key}: {value}")
    print("  references (operations/s):")
    for key, value in report.references.items():
        print(f"    {key:<16} {value:>10.1f}")
    for key, value in report.reference_notes.items():
        print(f"    ({key}: {value})")
    header = (
        f"  {'scenario':<52} {'cl':>3} {'ops/s':>9} {'ref/s':>9} {'ratio':>6} "
        f"{'cpu ms/op':>9} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    for rate in report.rates:
        reference = report.references.get(rate.reference or "", 0.0)
        ratio = rate.per_second / reference if reference else 0.0
        print(
            f"  {rate.name:<52} {rate.clients:>3} {rate.per_second:>9.1f} {reference:>9.1f} "
            f"{ratio:>6.3f} {rate.cpu_ms_per_operation:>9.3f} "
            f"{rate.percentile_ms(0.5):>8.2f} {rate.percentile_ms(0.99):>8.2f}"
        )
    print("  growth (large / small, 1.00 = no growth):")
    for large, small in GROWTH_PAIRS:
        try:
            ratio = report.rate(large).per_second / report.rate(small).per_second
        except StopIteration:
            continue
        print(f"    {large:<52} / {small}: {ratio:.2f}")
    print("  memory:")
    for memory in report.memory:
        print(
            f"    {memory.name:<28} {memory.size_label:<32} {memory.seconds:>7.2f} s  "
            f"tracemalloc peak {memory.traced_peak_bytes / 2**20:>7.2f} MiB  "
            f"RSS peak +{memory.rss_peak_growth_kib / 1024:.1f} MiB "
            f"(process {memory.rss_peak_kib / 1024:.0f} MiB)"
        )


GROWTH_PAIRS = (
    (
        "growth: transfer, large db (1 writer, hot pairs)",
        "growth: transfer, small db (1 writer, hot pairs)",
    ),
    (
        "growth: transfer, large db, long-history account",
        "growth: transfer, small db (1 writer, hot pairs)",
    ),
    ("read: balance, long history", "read: balance, short history"),
    ("read: statement page 1, long history", "read: statement page 1, short history"),
    ("read: statement mid-history page, long", "read: statement page 1, short history"),
    ("read: balance_at mid-history, long", "read: balance_at, short history"),
)


async def main_async(engines: list[str], sizes: Sizes, *, profile: bool) -> list[EngineReport]:
    reports = []
    for kind in engines:
        print(f"\n[{kind}] starting", flush=True)
        if kind == "postgres":
            reports.append(await bench_postgres(sizes, profile=profile))
        else:
            reports.append(await bench_sqlite(sizes, profile=profile))
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the 1-writer spread single-transfer run and print the top functions",
    )
    args = parser.parse_args()
    engines = ["postgres", "sqlite"] if args.engine == "both" else [args.engine]
    sizes = Sizes.pick(quick=args.quick)
    random.seed(20261126)
    started = time.perf_counter()
    print_machine()
    reports = asyncio.run(main_async(engines, sizes, profile=args.profile))
    for report in reports:
        print_report(report)
    print(f"\ntotal {time.perf_counter() - started:.0f} s ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()

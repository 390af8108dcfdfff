"""Ledger benchmarks: write throughput, batches, read cost, growth and memory.

Run with one command:

    .venv/bin/python bench/ledger.py --engine postgres|sqlite|both [--quick] [--profile]

Every figure is printed next to a reference measured in the same invocation on
the same machine, and the ratio is what counts (quality.md, "Performance"):

* PostgreSQL: pgbench's built-in TPC-B-like transaction at the same client
  count (bench/pgbench_reference.py), run before and after the ledger runs;
  pgbench's select-only script (one primary-key SELECT) for reads.
* SQLite: raw `sqlite3` on one open connection doing the same database work as
  one ledger transfer (read both account rows, insert the transfer row, insert
  two entry rows, update both accounts) in one BEGIN IMMEDIATE transaction per
  transfer, on a database migrated exactly like the ledger's (same triggers,
  constraints, WAL, synchronous setting). That is the floor the file allows;
  every cost above it is ours (Python, aiosqlite, connection handling, the
  ledger's idempotency reads and hashing). One primary-key SELECT on the same
  open connection is the read reference.

The script creates scratch databases (PostgreSQL: bench_ledger_<pid>, a
second bench_ledger_<pid>_small that stays small as the growth baseline, and
bench_pgbench_<pid>; SQLite: a temporary directory), migrates them with
service.database, and drops them at the end. Cases that are compared with each
other run interleaved, round by round, so a busy shared machine slows them
alike; "spread" is how far the rounds disagreed. Nothing here asserts on time:
this is measurement, not a test. docs/performance.md explains the figures.

--profile adds, per engine, a cProfile of 1-writer single transfers and a
wall-clock breakdown of one transfer by step (connection, BEGIN, each SQL
statement, COMMIT, release, and the Python in between).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import inspect
import io
import os
import platform
import pstats
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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
from piccolo.engine.postgres import PostgresTransaction  # noqa: E402
from piccolo.engine.sqlite import SQLiteTransaction  # noqa: E402

import ledger.sql  # noqa: E402
import ledger.transactions  # noqa: E402
from ledger import Ledger, NewTransfer, Unit, write_transaction  # noqa: E402
from ledger.queries import encode_cursor  # noqa: E402
from ledger.sql import SQLITE_TIME_FORMAT  # noqa: E402
from service import database  # noqa: E402

ADMIN_URL = os.environ.get(
    "TIMEBANK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
HOT_ACCOUNTS = 10
PAD_ACCOUNTS = 100  # partners of the history accounts
SHORT_HISTORY = 100  # two statement pages
ACCOUNTS_PER_OPEN_TRANSACTION = 500
STATEMENT_PAGE = 50
MANY_WRITERS = 16
PROFILE_TRANSFERS = 1_000
# Ledger(engine, group_commit=...) exists from the group-commit change on.
HAS_GROUP_COMMIT = "group_commit" in inspect.signature(Ledger.__init__).parameters


@dataclass(frozen=True)
class Sizes:
    """How big and how long: --quick (under a minute for both engines) or full."""

    quick: bool
    spread_accounts: int
    long_history: int
    seconds_write: float
    seconds_batch: float
    seconds_read: float
    seconds_warmup: float
    rounds: int  # interleaved rounds per group of cases
    pgbench_seconds: int

    @staticmethod
    def pick(*, quick: bool) -> Sizes:
        if quick:
            return Sizes(
                quick=True,
                spread_accounts=300,
                long_history=1_000,
                seconds_write=0.4,
                seconds_batch=0.5,
                seconds_read=0.25,
                seconds_warmup=0.1,
                rounds=1,
                pgbench_seconds=1,
            )
        return Sizes(
            quick=False,
            spread_accounts=10_000,
            long_history=50_000,
            seconds_write=2.0,  # per round: 5 rounds of 2 s = 10 s per case
            seconds_batch=1.0,
            seconds_read=0.6,
            seconds_warmup=0.5,
            rounds=5,
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
    cpu_seconds: float  # whole client process, every thread
    latencies: list[float] = field(default_factory=list)  # seconds per call
    reference: str | None = None  # key into the engine's reference rates
    rounds: list[float] = field(default_factory=list)  # operations/s of each round

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    @property
    def spread(self) -> float:
        """(slowest round - fastest) / overall: how steady the machine was."""
        if len(self.rounds) < 2 or not self.per_second:
            return 0.0
        return (max(self.rounds) - min(self.rounds)) / self.per_second

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
    size_label: str
    seconds: float
    traced_peak_bytes: int | None  # tracemalloc peak during the call (None: not traced)
    rss_peak_growth_kib: int  # VmHWM after the call minus VmRSS before it
    rss_peak_kib: int  # VmHWM after the call (whole process)
    data_bytes: int = 0  # size of the database files (for the peak / data ratio)


@dataclass
class EngineReport:
    engine: str
    rates: list[Rate] = field(default_factory=list)
    references: dict[str, float] = field(default_factory=dict)  # key -> operations/s
    reference_runs: dict[str, list[float]] = field(default_factory=dict)
    memory: list[Memory] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    breakdown: list[tuple[str, int, float]] = field(default_factory=list)  # step, calls, ms/op

    def rate(self, name: str) -> Rate | None:
        return next((rate for rate in self.rates if rate.name == name), None)

    def add_reference(self, key: str, value: float) -> None:
        runs = self.reference_runs.setdefault(key, [])
        runs.append(value)
        self.references[key] = sum(runs) / len(runs)


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
    name: str, call: Callable[[], Awaitable[object]], *, rss_pass: bool, traced_pass: bool
) -> tuple[Memory, object]:
    """Peak memory of one call: a pass for RSS (no tracing overhead), a pass under tracemalloc.

    With only the traced pass, the RSS peak is read from it and then includes
    tracemalloc's own bookkeeping (bounded by the live blocks). tracemalloc
    slows allocation-heavy code several times, so a long call may skip it.
    """
    result: object = None
    seconds, rss_peak, traced_peak = 0.0, 0, None
    gc.collect()
    _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    if rss_pass:
        started = time.perf_counter()
        result = await call()
        seconds = time.perf_counter() - started
        rss_peak = _status_kib("VmHWM")
        gc.collect()
    if traced_pass:
        started = time.perf_counter()
        tracemalloc.start()
        try:
            result = await call()
            _, traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        if not rss_pass:
            seconds = time.perf_counter() - started
            rss_peak = _status_kib("VmHWM")
    memory = Memory(
        name=name,
        size_label="",
        seconds=seconds,
        traced_peak_bytes=traced_peak,
        rss_peak_growth_kib=max(0, rss_peak - rss_before),
        rss_peak_kib=rss_peak,
    )
    return memory, result


# Profiling: cProfile, and wall time per step of a transfer ------------------------


class StepTimer:
    """Wraps the database calls of one transfer to time each step (bench process only)."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._restore: list[tuple[object, str, object]] = []

    def _wrap(self, owner: object, name: str, label: Callable[[tuple[Any, ...]], str]) -> None:
        original = getattr(owner, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                step = label(args)
                self.seconds[step] += time.perf_counter() - started
                self.calls[step] += 1

        self._restore.append((owner, name, original))
        setattr(owner, name, timed)

    def install(self) -> None:
        def sql(args: tuple[Any, ...]) -> str:
            return "SQL " + " ".join(str(args[1]).split())[:60]

        for method in ("fetch", "execute", "execute_many"):
            self._wrap(ledger.sql.Connection, method, sql)
        for transaction in (PostgresTransaction, SQLiteTransaction):
            self._wrap(transaction, "get_connection", lambda _: "connection: acquire / open")
            self._wrap(transaction, "begin", lambda _: "BEGIN")
            self._wrap(transaction, "commit", lambda _: "COMMIT")
        self._wrap(ledger.transactions, "_release", lambda _: "connection: release / close")

    def remove(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()


@contextmanager
def cprofiled(title: str) -> Iterator[None]:
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(25)
            print(f"\n--- cProfile: {title}, sorted by {order} ---")
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
            chunk = ids[start : start + ACCOUNTS_PER_OPEN_TRANSACTION]
            for number, account_id in enumerate(chunk, start):
                await ledger.open_account(
                    unit=Unit.HOUR,
                    owner=f"bench:{label}:{number}",
                    floor_minor=None,  # no floor: random transfers never bounce
                    account_id=account_id,
                )
    return ids


async def grow_history(
    ledger: Ledger, account: uuid.UUID, partners: list[uuid.UUID], count: int
) -> None:
    """Give `account` `count` more entries, in batches of up to 1000 transfers."""
    while count > 0:
        size = min(count, 1000)
        items = []
        for index in range(size):
            partner = random.choice(partners)
            pair = (account, partner) if index % 2 else (partner, account)
            items.append(new_transfer(*pair))
        results = await ledger.batch(items=items)
        if not all(result.ok for result in results):
            raise RuntimeError("history batch refused items")
        count -= size


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


@dataclass
class Case:
    """One measured scenario; cases measured together are interleaved round by round."""

    name: str
    operation: Operation
    clients: int
    reference: str
    warmup: bool = True
    # Held open around each round of this case (SQLite: an idle connection).
    context: Callable[[], AbstractContextManager[object]] | None = None


class Bench:
    def __init__(
        self,
        kind: str,
        engines: tuple[Engine[Any], Engine[Any]],
        sizes: Sizes,
        report: EngineReport,
        data_size: Callable[[], Awaitable[int]],
    ) -> None:
        self.kind = kind
        self.engine, self.small_engine = engines
        self.ledger = Ledger(self.engine)
        self.small_ledger = Ledger(self.small_engine)  # stays small: growth baseline
        self.sizes = sizes
        self.report = report
        self.data_size = data_size
        self.started = time.perf_counter()
        report.facts["load average at the start (1, 5, 15 min)"] = load_average()

    def phase(self, title: str) -> None:
        print(f"[{self.kind} +{time.perf_counter() - self.started:.0f}s] {title}", flush=True)

    async def interleaved(self, cases: list[Case], *, seconds: float) -> None:
        """Measure `cases` round-robin (rotating the order), so drift of a shared
        machine hits every case alike; each case's rate is its total over all rounds."""
        totals = {
            case.name: Rate(case.name, case.clients, 0, 0.0, 0.0, reference=case.reference)
            for case in cases
        }
        for round_number in range(self.sizes.rounds):
            shift = round_number % len(cases)
            for case in cases[shift:] + cases[:shift]:
                warmup = self.sizes.seconds_warmup if case.warmup and round_number == 0 else 0.0
                run = run_for(
                    case.name, case.operation, clients=case.clients, seconds=seconds, warmup=warmup
                )
                with case.context() if case.context else nullcontext():
                    # A hang (a lost wake-up, a stuck lock) is reported, not waited on forever.
                    rate = await asyncio.wait_for(run, timeout=120 + 20 * seconds)
                total = totals[case.name]
                total.operations += rate.operations
                total.seconds += rate.seconds
                total.cpu_seconds += rate.cpu_seconds
                total.latencies += rate.latencies
                total.rounds.append(rate.per_second)
        for case in cases:
            total = totals[case.name]
            self.report.rates.append(total)
            print(
                f"    {case.name:<60} {total.per_second:>9.1f}/s  spread {total.spread:>4.0%}",
                flush=True,
            )

    def write_reference(self, clients: int) -> str:
        if self.kind == "postgres":
            return f"tpcb-{clients}"
        return "sqlite-write"

    def read_reference(self) -> str:
        return "select-1" if self.kind == "postgres" else "sqlite-read"

    async def run(self, *, profile: bool) -> None:
        sizes = self.sizes
        self.phase(f"opening accounts ({sizes.spread_accounts} spread)")
        hot = await open_accounts(self.engine, self.ledger, HOT_ACCOUNTS, "hot")
        pad = await open_accounts(self.engine, self.ledger, PAD_ACCOUNTS, "pad")
        short, long = await open_accounts(self.engine, self.ledger, 2, "history")
        opened = time.perf_counter()
        spread = await open_accounts(self.engine, self.ledger, sizes.spread_accounts, "spread")
        rate = sizes.spread_accounts / (time.perf_counter() - opened)
        self.report.facts["open_account/s (500 per joined transaction)"] = f"{rate:.0f}"
        accounts = Accounts(hot=hot, pad=pad, spread=spread, short=short, long=long)
        small_hot = await open_accounts(self.small_engine, self.small_ledger, HOT_ACCOUNTS, "hot")

        await self.single_transfers(accounts)
        await self.batches(accounts)
        await self.build_history(accounts)
        await self.reads(accounts)
        await self.growth(accounts, small_hot)
        await self.memory(accounts)
        if profile:
            await self.profile(accounts)
        self.report.facts["engine run seconds"] = f"{time.perf_counter() - self.started:.0f}"
        self.report.facts["load average at the end (1, 5, 15 min)"] = load_average()

    async def single_transfers(self, accounts: Accounts) -> None:
        self.phase("(1) single transfers, 1 and 16 writers")
        spread = f"spread {len(accounts.spread)}"
        for label, pool in (("hot 10", accounts.hot), (spread, accounts.spread)):

            def pick(pool: list[uuid.UUID] = pool) -> tuple[uuid.UUID, uuid.UUID]:
                return random_pair(pool)

            cases = [
                Case(
                    f"transfer, {label} accounts, {clients} writers",
                    transfer_between(self.ledger, pick),
                    clients,
                    self.write_reference(clients),
                )
                for clients in (1, MANY_WRITERS)
            ]
            if HAS_GROUP_COMMIT:
                cases.append(
                    Case(
                        f"transfer, {label} accounts, {MANY_WRITERS} writers, no group commit",
                        transfer_between(Ledger(self.engine, group_commit=False), pick),
                        MANY_WRITERS,
                        self.write_reference(MANY_WRITERS),
                    )
                )
            if self.kind == "sqlite" and pool is accounts.spread:
                cases.append(self.sqlite_held_open(pick))
            await self.interleaved(cases, seconds=self.sizes.seconds_write)

    def sqlite_held_open(self, pick: Callable[[], tuple[uuid.UUID, uuid.UUID]]) -> Case:
        """1 writer while an idle connection keeps the file open.

        The ledger opens a connection per transaction; when the last one
        closes, SQLite checkpoints the WAL into the database file and removes
        it. An idle connection held open shows what that costs.
        """
        path = str(getattr(self.engine, "path", ""))

        @contextmanager
        def held() -> Iterator[object]:
            holder = sqlite3.connect(path)
            try:
                holder.execute("SELECT count(*) FROM ledger_unit").fetchall()
                yield holder
            finally:
                holder.close()

        return Case(
            "transfer, spread accounts, 1 writer, idle connection held",
            transfer_between(self.ledger, pick),
            1,
            self.write_reference(1),
            context=held,
        )

    async def batches(self, accounts: Accounts) -> None:
        self.phase("(2) batches of 100 and 1000 transfers")
        cases = [
            Case(
                f"batch of {size}, spread accounts, 1 writer",
                batch_of(self.ledger, accounts.spread, size),
                1,
                self.write_reference(1),
                warmup=size < 1000,  # a batch of 1000 outlasts the warm-up anyway
            )
            for size in (100, 1000)
        ]
        await self.interleaved(cases, seconds=self.sizes.seconds_batch)

    async def build_history(self, accounts: Accounts) -> None:
        self.phase(f"building history: {self.sizes.long_history} entries on one account")
        started = time.perf_counter()
        await grow_history(self.ledger, accounts.short, accounts.pad, SHORT_HISTORY)
        await grow_history(self.ledger, accounts.long, accounts.pad, self.sizes.long_history)
        seconds = time.perf_counter() - started
        self.report.facts["history build, transfers/s in batches of 1000"] = (
            f"{(self.sizes.long_history + SHORT_HISTORY) / seconds:.0f}"
        )

    async def reads(self, accounts: Accounts) -> None:
        ledger = self.ledger
        self.phase("(3) reads: short vs long history")
        long_account = await ledger.account(account_id=accounts.long)
        short_account = await ledger.account(account_id=accounts.short)
        self.report.facts["entries on the long-history account"] = str(long_account.version)
        self.report.facts["entries on the short-history account"] = str(short_account.version)
        middle_version = long_account.version // 2
        middle = await ledger.statement(
            account_id=accounts.long, limit=1, cursor=encode_cursor(middle_version)
        )
        first = await ledger.statement(account_id=accounts.short, limit=1)
        middle_instant, short_instant = middle.lines[0].recorded_at, first.lines[0].recorded_at

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
                if len(page.lines) != STATEMENT_PAGE:
                    raise RuntimeError("short statement page: the comparison would be unfair")
                return 1

            return operation

        def balance_at(account: uuid.UUID, at: datetime) -> Operation:
            async def operation() -> int:
                await ledger.balance_at(account_id=account, at=at)
                return 1

            return operation

        reads: list[tuple[str, Operation]] = [
            ("read: balance, short history", balance(accounts.short)),
            ("read: balance, long history", balance(accounts.long)),
            ("read: statement page 1, short history", statement(accounts.short, None)),
            ("read: statement page 1, long history", statement(accounts.long, None)),
            (
                "read: statement mid-history page, long",
                statement(accounts.long, encode_cursor(middle_version)),
            ),
            ("read: balance_at, short history", balance_at(accounts.short, short_instant)),
            ("read: balance_at mid-history, long", balance_at(accounts.long, middle_instant)),
        ]
        cases = [Case(name, operation, 1, self.read_reference()) for name, operation in reads]
        await self.interleaved(cases, seconds=self.sizes.seconds_read)

    async def growth(self, accounts: Accounts, small_hot: list[uuid.UUID]) -> None:
        self.phase("(4) write cost: small database vs the grown one")
        hot, long = accounts.hot, accounts.long
        reference = self.write_reference(1)
        cases = [
            Case(
                "growth: transfer, small db (1 writer, hot pairs)",
                transfer_between(self.small_ledger, lambda: random_pair(small_hot)),
                1,
                reference,
            ),
            Case(
                "growth: transfer, large db (1 writer, hot pairs)",
                transfer_between(self.ledger, lambda: random_pair(hot)),
                1,
                reference,
            ),
            Case(
                "growth: transfer, large db, long-history account",
                transfer_between(self.ledger, lambda: (long, random.choice(hot))),
                1,
                reference,
            ),
        ]
        await self.interleaved(cases, seconds=self.sizes.seconds_write)

    async def verify_memory(self, name: str, ledger: Ledger) -> None:
        # One pass only: verify() of a large database takes minutes, and several
        # times longer under tracemalloc, which --quick therefore skips for it.
        large = ledger is self.ledger
        traced = not (large and self.sizes.quick)
        memory, report = await measure_memory(
            name, ledger.verify, rss_pass=not traced, traced_pass=traced
        )
        if not getattr(report, "ok", False):
            raise RuntimeError(f"verify found a discrepancy: {getattr(report, 'summary', '')}")
        memory.size_label = (
            f"{getattr(report, 'accounts_checked', 0)} accounts, "
            f"{getattr(report, 'entries_checked', 0)} entries"
        )
        if large:
            memory.data_bytes = await self.data_size()
        self.report.memory.append(memory)

    async def memory(self, accounts: Accounts) -> None:
        self.phase("(5) memory: a batch of 1000, verify() of the small and the large database")
        batches = [
            [new_transfer(*random_pair(accounts.spread)) for _ in range(1000)] for _ in range(2)
        ]

        async def one_batch() -> object:
            return await self.ledger.batch(items=batches.pop())

        memory, _ = await measure_memory(
            "batch of 1000 transfers", one_batch, rss_pass=True, traced_pass=True
        )
        memory.size_label = "1000 items"
        self.report.memory.append(memory)
        await self.verify_memory("verify(), small db", self.small_ledger)
        await self.verify_memory("verify(), large db", self.ledger)

    async def profile(self, accounts: Accounts) -> None:
        self.phase(f"profile: {PROFILE_TRANSFERS} single transfers, 1 writer, spread accounts")
        operation = transfer_between(self.ledger, lambda: random_pair(accounts.spread))
        for _ in range(50):
            await operation()
        with cprofiled(f"{self.kind}, {PROFILE_TRANSFERS} single transfers, 1 writer"):
            for _ in range(PROFILE_TRANSFERS):
                await operation()
        timer = StepTimer()
        timer.install()
        try:
            started = time.perf_counter()
            for _ in range(PROFILE_TRANSFERS):
                await operation()
            total = time.perf_counter() - started
        finally:
            timer.remove()
        per = 1000 / PROFILE_TRANSFERS
        steps = sorted(timer.seconds.items(), key=lambda item: -item[1])
        self.report.breakdown = [
            (step, timer.calls[step], seconds * per) for step, seconds in steps
        ]
        between = (total - sum(timer.seconds.values())) * per
        self.report.breakdown += [
            ("Python between database calls (planning, hashing, asyncio)", 0, between),
            ("total per transfer", 0, total * per),
        ]


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
        report.add_reference(f"tpcb-{clients}", result.tps)
        print(f"    pgbench tpcb-like -c {clients} ({when}): {result.tps:.1f} tps", flush=True)
    result = pgbench_reference.run_builtin(
        ADMIN_URL, pgbench_db, script="select-only", clients=1, seconds=max(1, seconds // 2)
    )
    report.add_reference("select-1", result.tps)
    print(f"    pgbench select-only -c 1 ({when}): {result.tps:.1f} tps", flush=True)


async def bench_postgres(sizes: Sizes, *, profile: bool) -> EngineReport:
    report = EngineReport(engine="postgres")
    pid = os.getpid()
    ledger_db, small_db = f"bench_ledger_{pid}", f"bench_ledger_{pid}_small"
    pgbench_db = f"bench_pgbench_{pid}"
    engines: list[Engine[Any]] = []
    for name in (pgbench_db, ledger_db, small_db):
        await _admin(f"CREATE DATABASE {name}")
    try:
        print(f"[postgres] pgbench -i -s {pgbench_reference.PGBENCH_SCALE}", flush=True)
        await asyncio.to_thread(pgbench_reference.initialise, ADMIN_URL, pgbench_db)
        await asyncio.to_thread(_pgbench_references, report, sizes, pgbench_db, "before")
        # Appended one by one, so that a failed migration still releases the first.
        engines.append(await _migrated(_database_url(ADMIN_URL, ledger_db)))
        engines.append(await _migrated(_database_url(ADMIN_URL, small_db)))
        connection = await asyncpg.connect(_database_url(ADMIN_URL, ledger_db))
        try:
            version = await connection.fetchval("SHOW server_version")
            report.facts["server"] = f"PostgreSQL {version}"
            for setting in ("synchronous_commit", "shared_buffers", "max_connections"):
                report.facts[setting] = await connection.fetchval(f"SHOW {setting}")

            async def data_size() -> int:
                size = await connection.fetchval("SELECT pg_database_size(current_database())")
                return int(size)

            bench = Bench("postgres", (engines[0], engines[1]), sizes, report, data_size)
            await bench.run(profile=profile)
            report.facts["database size MiB"] = f"{await data_size() / 2**20:.1f}"
        finally:
            await connection.close()
        while engines:
            await database.release(engines.pop())
        if not sizes.quick:  # bracket the run: shows drift of a shared machine
            await asyncio.to_thread(_pgbench_references, report, sizes, pgbench_db, "after")
    finally:
        for engine in engines:
            await database.release(engine)
        for name in (ledger_db, small_db, pgbench_db):
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return report


def _files_size(folder: Path, pattern: str) -> int:
    return sum(path.stat().st_size for path in folder.glob(pattern))


async def bench_sqlite(sizes: Sizes, *, profile: bool) -> EngineReport:
    report = EngineReport(engine="sqlite")
    report.facts["server"] = f"SQLite {sqlite3.sqlite_version}"
    with tempfile.TemporaryDirectory(prefix="bench_ledger_") as name:
        folder = Path(name)
        reference_path = str(folder / "reference.sqlite3")
        reference_engine = await _migrated(f"sqlite:///{reference_path}")
        pool = await open_accounts(reference_engine, Ledger(reference_engine), HOT_ACCOUNTS, "ref")
        await database.release(reference_engine)
        print("[sqlite] raw sqlite3 reference", flush=True)
        writes, reads = sqlite_reference(reference_path, pool, sizes.seconds_write * 2)
        report.add_reference("sqlite-write", writes)
        report.add_reference("sqlite-read", reads)
        print(f"    sqlite3 transfer transaction: {writes:.1f}/s, account read: {reads:.1f}/s")
        with sqlite3.connect(reference_path) as probe:
            report.facts["synchronous (0 off, 1 normal, 2 full)"] = str(
                probe.execute("PRAGMA synchronous").fetchone()[0]
            )
            report.facts["journal_mode"] = probe.execute("PRAGMA journal_mode").fetchone()[0]

        engine = await _migrated(f"sqlite:///{folder / 'ledger.sqlite3'}")
        small_engine = await _migrated(f"sqlite:///{folder / 'small.sqlite3'}")

        async def data_size() -> int:
            return _files_size(folder, "ledger.sqlite3*")

        try:
            bench = Bench("sqlite", (engine, small_engine), sizes, report, data_size)
            await bench.run(profile=profile)
        finally:
            await database.release(engine)
            await database.release(small_engine)
        report.facts["database size MiB"] = f"{await data_size() / 2**20:.1f}"
        if not sizes.quick:  # bracket the run: shows drift of a shared machine
            writes, _ = sqlite_reference(reference_path, pool, sizes.seconds_write * 2)
            report.add_reference("sqlite-write", writes)
            print(f"    sqlite3 transfer transaction (after): {writes:.1f}/s")
    return report


# Printing -------------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}, {five:.1f}, {fifteen:.1f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def source_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ledger"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}{' + uncommitted changes in ledger/' if dirty else ''}"


def print_machine() -> None:
    print("machine")
    print(f"  cpus available: {len(os.sched_getaffinity(0))} (nproc), model: {cpu_model()}")
    print(f"  python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(f"  source: {source_state()}; group commit in Ledger: {HAS_GROUP_COMMIT}")
    print(f"  load average (1, 5, 15 min): {load_average()}")


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


def print_rates(report: EngineReport) -> None:
    print(
        f"  {'scenario':<60} {'cl':>3} {'ops/s':>9} {'ref/s':>9} {'ratio':>6} "
        f"{'cpu ms/op':>9} {'p50 ms':>8} {'p99 ms':>8} {'spread':>6}"
    )
    for rate in report.rates:
        reference = report.references.get(rate.reference or "", 0.0)
        ratio = rate.per_second / reference if reference else 0.0
        print(
            f"  {rate.name:<60} {rate.clients:>3} {rate.per_second:>9.1f} {reference:>9.1f} "
            f"{ratio:>6.3f} {rate.cpu_ms_per_operation:>9.3f} "
            f"{rate.percentile_ms(0.5):>8.2f} {rate.percentile_ms(0.99):>8.2f} "
            f"{rate.spread:>6.0%}"
        )


def print_report(report: EngineReport) -> None:
    print(f"\n=== {report.engine} ===")
    for key, value in report.facts.items():
        print(f"  {key}: {value}")
    print("  references (operations/s, mean of the runs):")
    for key, value in report.references.items():
        runs = ", ".join(f"{run:.1f}" for run in report.reference_runs[key])
        print(f"    {key:<14} {value:>10.1f}   (runs: {runs})")
    print_rates(report)
    print("  growth (large / small throughput; 1.00 = cost does not grow):")
    for large, small in GROWTH_PAIRS:
        big, little = report.rate(large), report.rate(small)
        if big is not None and little is not None and little.per_second:
            print(f"    {large:<50} / {small:<50} {big.per_second / little.per_second:>5.2f}")
    print("  memory:")
    for memory in report.memory:
        traced = memory.traced_peak_bytes
        if traced is None:
            peak = "tracemalloc peak      - (not traced)"
        else:
            peak = f"tracemalloc peak {traced / 2**20:>6.2f} MiB"
            if memory.data_bytes:
                peak += f", peak / data {traced / memory.data_bytes:.3f}"
        data = f", database {memory.data_bytes / 2**20:.1f} MiB" if memory.data_bytes else ""
        print(
            f"    {memory.name:<24} {memory.size_label:<30} {memory.seconds:>7.2f} s  {peak}  "
            f"RSS peak +{memory.rss_peak_growth_kib / 1024:.1f} MiB "
            f"(process {memory.rss_peak_kib / 1024:.0f} MiB{data})"
        )
    if report.breakdown:
        print("  one transfer, wall time by step (1 writer, ms per transfer):")
        for step, calls, ms in report.breakdown:
            count = f"{calls / PROFILE_TRANSFERS:>4.1f}x" if calls else "     "
            print(f"    {count} {step:<72} {ms:>7.3f}")


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
    parser = argparse.ArgumentParser(description="Ledger benchmarks (see the module docstring).")
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile single transfers and time each step of one transfer",
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

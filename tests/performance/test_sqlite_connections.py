"""SQLite keeps its connections: one writer, a few readers, nothing left dirty (ADR 0024)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
from piccolo.engine.sqlite import dict_factory

from ledger import Ledger, Unit
from ledger.sql import Connection, Dialect
from service import database
from service.database import TimebankSQLiteEngine, UnsupportedDatabaseURLError
from service.members.tables import Area
from service.sqlite_connections import (
    SQLITE_READERS_MAX,
    InlineReader,
    KeptConnection,
    SQLiteConnections,
)
from tests.conftest import TestDatabase

pytestmark = pytest.mark.sqlite_only

SYNCHRONOUS_FULL = 2  # PRAGMA synchronous answers with these numbers
SYNCHRONOUS_NORMAL = 1
WAIT_SECONDS_SHORT = 0.2  # how long a writer waits for another pool's lock before giving up
WAIT_SECONDS_LONG = 30.0


def kept_engine(db: TestDatabase) -> TimebankSQLiteEngine:
    engine = db.engine
    assert isinstance(engine, TimebankSQLiteEngine)
    assert engine.kept is not None, "prepare() should keep connections"
    return engine


async def test_reads_reuse_one_kept_connection(db: TestDatabase) -> None:
    engine = kept_engine(db)
    first = await engine.get_connection()
    first_raw = first.raw
    await first.close()
    for _ in range(20):
        await Area.select().run()
    again = await engine.get_connection()
    try:
        assert again.raw is first_raw
    finally:
        await again.close()


async def test_transactions_share_the_kept_writer(db: TestDatabase) -> None:
    engine = kept_engine(db)
    ledger = Ledger(engine, group_commit=False)
    account = await ledger.open_account(unit=Unit.HOUR, owner="writer-check", floor_minor=None)
    writer = await engine.write_connection()
    writer_raw = writer.raw
    await writer.close()
    other = await ledger.open_account(unit=Unit.HOUR, owner="writer-check-2", floor_minor=0)
    await _gift(ledger, account.id, other.id, minutes=30)
    again = await engine.write_connection()
    try:
        assert again.raw is writer_raw
    finally:
        await again.close()
    # A read right after the commit, on a kept reader, sees it.
    assert (await ledger.balance(account_id=other.id)).balance_minor == 30


async def test_a_connection_given_back_mid_transaction_is_rolled_back(db: TestDatabase) -> None:
    engine = kept_engine(db)
    await engine.run_ddl("CREATE TABLE scratch (note TEXT)")
    writer = await engine.write_connection()
    await writer.execute("BEGIN IMMEDIATE")
    await writer.execute("INSERT INTO scratch (note) VALUES ('half-written')")
    await writer.close()

    again = await engine.write_connection()
    try:
        assert not again.in_transaction
    finally:
        await again.close()
    assert await engine.run_ddl("SELECT note FROM scratch") == []
    # The write lock went with the rollback: another writer gets in at once.
    await Area.insert(Area(name="Whole", slug="whole")).run()
    assert len(await Area.select().where(Area.slug == "whole").run()) == 1


async def test_more_readers_than_the_pool_neither_wait_nor_stay(db: TestDatabase) -> None:
    engine = kept_engine(db)
    held = [await engine.get_connection() for _ in range(SQLITE_READERS_MAX + 3)]
    # Every reader is on loan, yet a nested read still answers.
    assert isinstance(await asyncio.wait_for(Area.count().run(), timeout=30), int)
    raws = {id(connection.raw) for connection in held}
    for connection in held:
        await connection.close()
    assert len(raws) == SQLITE_READERS_MAX + 3
    kept_after = [await engine.get_connection() for _ in range(SQLITE_READERS_MAX)]
    try:
        assert {id(connection.raw) for connection in kept_after} <= raws
    finally:
        for connection in kept_after:
            await connection.close()


async def test_many_concurrent_reads_and_writes_all_answer(db: TestDatabase) -> None:
    engine = kept_engine(db)
    ledger = Ledger(engine)
    source = await ledger.open_account(unit=Unit.HOUR, owner="source", floor_minor=None)
    sink = await ledger.open_account(unit=Unit.HOUR, owner="sink", floor_minor=0)

    async def gift() -> None:
        await ledger.transfer(
            id=uuid.uuid4(),
            debit_account_id=source.id,
            credit_account_id=sink.id,
            amount_minor=1,
            unit=Unit.HOUR,
            code="gift",
            actor="test",
            memo="",
        )

    async def read() -> None:
        await ledger.balance(account_id=sink.id)
        await Area.count().run()

    await asyncio.gather(*(gift() for _ in range(40)), *(read() for _ in range(40)))
    assert (await ledger.balance(account_id=sink.id)).balance_minor == 40
    assert (await ledger.verify()).ok


async def _synchronous_of(url: str) -> int:
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    try:
        assert isinstance(engine, TimebankSQLiteEngine)
        connection = await engine.write_connection()
        try:
            cursor = await connection.execute("PRAGMA synchronous")
            row = await cursor.fetchone()
            await cursor.close()
        finally:
            await connection.close()
        return int(next(iter(dict(row).values())))
    finally:
        await database.release(engine)


async def test_synchronous_is_full_unless_the_url_asks_for_normal(db: TestDatabase) -> None:
    assert await _synchronous_of(db.url) == SYNCHRONOUS_FULL
    assert await _synchronous_of(db.url + "?synchronous=normal") == SYNCHRONOUS_NORMAL


@pytest.mark.parametrize("query", ["synchronous=off", "synchronous=", "cache=shared"])
def test_other_sqlite_url_options_are_refused(query: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDatabaseURLError):
        database.engine_from_url(f"sqlite:///{tmp_path}/x.db?{query}")


async def test_after_release_queries_open_their_own_connections(db: TestDatabase) -> None:
    engine = kept_engine(db)
    await database.release(engine)
    assert engine.kept is None
    await Area.insert(Area(name="After", slug="after-release")).run()
    assert len(await Area.select().where(Area.slug == "after-release").run()) == 1


def _connections(path: Path, *, wait_seconds: float) -> SQLiteConnections:
    """Another process's connections to the same file, as far as flock can tell."""
    return SQLiteConnections(
        {"database": str(path), "timeout": wait_seconds, "isolation_level": None},
        synchronous="full",
        row_factory=dict_factory,
    )


async def test_writers_of_two_pools_take_turns_on_the_lock_file(db: TestDatabase) -> None:
    path = Path(kept_engine(db).path)
    first = _connections(path, wait_seconds=WAIT_SECONDS_SHORT)
    second = _connections(path, wait_seconds=WAIT_SECONDS_SHORT)
    try:
        held = await first.writer()
        with pytest.raises(sqlite3.OperationalError, match="locked by another worker"):
            await second.writer()
        await held.close()
        taken = await second.writer()  # free again the moment the first gave it back
        await taken.close()
    finally:
        await first.close()
        await second.close()


async def test_an_abandoned_wait_for_the_lock_file_lets_go(db: TestDatabase) -> None:
    path = Path(kept_engine(db).path)
    first = _connections(path, wait_seconds=WAIT_SECONDS_LONG)
    second = _connections(path, wait_seconds=WAIT_SECONDS_LONG)
    third = _connections(path, wait_seconds=WAIT_SECONDS_LONG)
    try:
        held = await first.writer()
        waiting = asyncio.create_task(second.writer())
        await asyncio.sleep(0)  # let the task start its wait
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await held.close()
        # The cancelled wait still gets the lock in its thread, then drops it.
        taken = await third.writer()
        await taken.close()
    finally:
        for connections in (first, second, third):
            await connections.close()


async def test_point_reads_run_inline_and_see_the_latest_commit(db: TestDatabase) -> None:
    engine = kept_engine(db)
    ledger = Ledger(engine, group_commit=False)
    account = await ledger.open_account(unit=Unit.HOUR, owner="inline-read", floor_minor=None)
    assert database.point_reads_inline()
    async with database.point_read() as connection:
        assert isinstance(connection.raw, InlineReader)
        before = await _one(connection, _BALANCE_SQL, account.id)
    other = await ledger.open_account(unit=Unit.HOUR, owner="inline-read-2", floor_minor=0)
    await _gift(ledger, account.id, other.id, minutes=45)
    async with database.point_read() as connection:
        after = await _one(connection, _BALANCE_SQL, account.id)
    assert (before, after) == (0, -45)


async def test_inside_a_transaction_a_point_read_uses_the_transactions_connection(
    db: TestDatabase,
) -> None:
    engine = kept_engine(db)
    await engine.run_ddl("CREATE TABLE scratch (note TEXT)")
    async with engine.transaction():
        await engine.run_ddl("INSERT INTO scratch (note) VALUES ('not yet committed')")
        assert not database.point_reads_inline()
        async with database.point_read() as connection:
            assert not isinstance(connection.raw, InlineReader)
            seen = await _one(connection, "SELECT COUNT(*) AS n FROM scratch")
    assert seen == 1


async def test_the_inline_reader_cannot_write(db: TestDatabase) -> None:
    engine = kept_engine(db)
    await engine.run_ddl("CREATE TABLE scratch (note TEXT)")
    async with database.point_read() as connection:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await connection.execute("INSERT INTO scratch (note) VALUES ('no')")
    assert await engine.run_ddl("SELECT COUNT(*) AS n FROM scratch") == [{"n": 0}]


async def test_a_busy_inline_read_waits_on_a_threaded_reader_instead(tmp_path: Path) -> None:
    path = str(tmp_path / "held.sqlite3")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE scratch (note TEXT)")
    # In exclusive locking mode, once it has written, this connection holds the
    # file: every other reader is answered "database is locked" until it closes.
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("INSERT INTO scratch (note) VALUES ('held')")
    kept = SQLiteConnections(
        {"database": path, "isolation_level": None, "timeout": WAIT_SECONDS_LONG},
        synchronous="full",
        row_factory=dict_factory,
    )
    inline = kept.inline_reader()
    fell_back = asyncio.Event()

    async def observed_reader() -> KeptConnection:
        fell_back.set()
        return await kept.reader()

    # Observing the fallback: the wrapper tells the test the threaded reader was asked.
    inline._threaded_reader = observed_reader
    reading = asyncio.create_task(
        _one(Connection(inline, Dialect.SQLITE), "SELECT COUNT(*) AS n FROM scratch")
    )
    try:
        await fell_back.wait()
        assert not reading.done()
    finally:
        holder.close()  # the lock goes; the threaded reader's busy wait ends
    assert await reading == 1
    await kept.close()


_BALANCE_SQL = "SELECT credits_posted - debits_posted AS balance FROM ledger_account WHERE id = $1"


async def _one(connection: Connection, sql: str, *args: object) -> object:
    row = await connection.fetchrow(sql, *args)
    assert row is not None
    return next(iter(row.values()))


async def _gift(ledger: Ledger, from_id: uuid.UUID, to_id: uuid.UUID, *, minutes: int) -> None:
    await ledger.transfer(
        id=uuid.uuid4(),
        debit_account_id=from_id,
        credit_account_id=to_id,
        amount_minor=minutes,
        unit=Unit.HOUR,
        code="gift",
        actor="test",
        memo="",
    )

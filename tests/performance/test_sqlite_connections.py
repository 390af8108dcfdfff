"""SQLite keeps its connections: one writer, a few readers, nothing left dirty (ADR 0024)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
from piccolo.engine.sqlite import dict_factory

from ledger import Ledger, Unit
from service import database
from service.database import TimebankSQLiteEngine, UnsupportedDatabaseURLError
from service.members.tables import Area
from service.sqlite_connections import SQLITE_READERS_MAX, SQLiteConnections
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
    await ledger.transfer(
        id=uuid.uuid4(),
        debit_account_id=account.id,
        credit_account_id=other.id,
        amount_minor=30,
        unit=Unit.HOUR,
        code="gift",
        actor="test",
        memo="",
    )
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

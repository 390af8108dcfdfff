"""The one safe way to open a write transaction on either engine.

Piccolo 1.38's transaction context manager leaks its connection and leaves
its context variable set when COMMIT itself fails (stack-notes.md), so we
drive Piccolo's transaction object by hand: always roll back a failed commit,
always release the connection, always reset the context variable.

SQLite allows one writer per file: writers take the write lock up front
(BEGIN IMMEDIATE) and queue on an in-process asyncio.Lock rather than
busy-waiting on the file lock. PostgreSQL runs at READ COMMITTED; the ledger
takes explicit row locks.

Code that opens a write transaction with `write_transaction()` may call the
ledger inside it: the ledger then joins that transaction (and does not retry
on its own; the outermost caller retries with `run_write()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from ledger.limits import WRITE_ATTEMPTS_MAX, WRITE_RETRY_BACKOFF_SECONDS_BASE
from ledger.sql import Connection, Dialect

T = TypeVar("T")

_sqlite_writer_locks: dict[tuple[int, str], asyncio.Lock] = {}


def dialect_of(engine: Engine[Any]) -> Dialect:
    if isinstance(engine, PostgresEngine):
        return Dialect.POSTGRES
    if isinstance(engine, SQLiteEngine):
        return Dialect.SQLITE
    raise TypeError(f"the ledger runs on SQLite or PostgreSQL, not {type(engine).__name__}")


def _sqlite_writer_lock(path: str) -> asyncio.Lock:
    # asyncio locks belong to one event loop; tests start a loop per test.
    key = (id(asyncio.get_running_loop()), path)
    lock = _sqlite_writer_locks.get(key)
    if lock is None:
        lock = _sqlite_writer_locks[key] = asyncio.Lock()
    return lock


@dataclass(slots=True)
class WriteTransaction:
    connection: Connection
    # False when joined to a transaction someone else opened and will commit.
    owned: bool


async def _release(engine: Engine[Any], transaction: Any) -> None:
    connection = transaction.connection
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.pool.release(connection)
    else:
        await connection.close()


async def _rollback_quietly(transaction: Any) -> None:
    # The connection may already be broken; the original error matters more.
    with contextlib.suppress(Exception):
        await transaction.rollback()


@contextlib.asynccontextmanager
async def write_transaction(engine: Engine[Any]) -> AsyncIterator[WriteTransaction]:
    """Open (or join) a write transaction; commit on success, roll back on error."""
    dialect = dialect_of(engine)
    current = engine.current_transaction.get()
    if current is not None:
        yield WriteTransaction(Connection(current.connection, dialect), owned=False)
        return
    lock = _sqlite_writer_lock(engine.path) if isinstance(engine, SQLiteEngine) else None
    if lock is not None:
        await lock.acquire()
    try:
        async with _owned_transaction(engine, dialect) as transaction:
            yield transaction
    finally:
        if lock is not None:
            lock.release()


@contextlib.asynccontextmanager
async def _owned_transaction(
    engine: Engine[Any], dialect: Dialect
) -> AsyncIterator[WriteTransaction]:
    if isinstance(engine, SQLiteEngine):
        transaction = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        transaction = engine.transaction()
    # Enter by hand (not `async with`) so that every exit path below is ours.
    await transaction.__aenter__()
    try:
        yield WriteTransaction(Connection(transaction.connection, dialect), owned=True)
    except BaseException:
        await _rollback_quietly(transaction)
        raise
    else:
        try:
            await transaction.commit()  # type: ignore[no-untyped-call]
        except BaseException:
            await _rollback_quietly(transaction)
            raise
    finally:
        try:
            await _release(engine, transaction)
        finally:
            engine.current_transaction.reset(transaction.context)


@contextlib.asynccontextmanager
async def read_connection(engine: Engine[Any]) -> AsyncIterator[Connection]:
    """A connection for reads: the current transaction's, or a fresh one."""
    dialect = dialect_of(engine)
    current = engine.current_transaction.get()
    if current is not None:
        yield Connection(current.connection, dialect)
        return
    if isinstance(engine, PostgresEngine):
        if engine.pool is not None:
            async with engine.pool.acquire() as raw:
                yield Connection(raw, dialect)
            return
        raw = await engine.get_new_connection()
    else:
        assert isinstance(engine, SQLiteEngine)  # noqa: S101 - dialect_of checked it
        raw = await engine.get_connection()
    try:
        yield Connection(raw, dialect)
    finally:
        await raw.close()


@contextlib.asynccontextmanager
async def autocommit_connection(engine: Engine[Any]) -> AsyncIterator[Connection]:
    """A connection outside any transaction: each statement sent on it is its own
    transaction, committed before its answer arrives (ADR 0072)."""
    if engine.current_transaction.get() is not None:
        raise RuntimeError("a statement of its own cannot be sent inside a transaction")
    async with read_connection(engine) as connection:
        yield connection


@contextlib.asynccontextmanager
async def snapshot_connection(engine: Engine[Any]) -> AsyncIterator[Connection]:
    """A connection whose every read sees one consistent snapshot of the database.

    verify() compares account rows with entries read by other statements; at
    READ COMMITTED, or on SQLite across autocommit reads, a transfer committed
    between two of them reads as a discrepancy. PostgreSQL: REPEATABLE READ READ
    ONLY. SQLite (WAL): one read transaction on one connection, whose snapshot
    starts at its first read. Inside a caller's transaction, that one is used.
    """
    dialect = dialect_of(engine)
    if engine.current_transaction.get() is not None:
        async with read_connection(engine) as joined:
            yield joined
        return
    if isinstance(engine, PostgresEngine):
        async with contextlib.AsyncExitStack() as stack:
            if engine.pool is not None:
                raw = await stack.enter_async_context(engine.pool.acquire())
            else:
                raw = await engine.get_new_connection()
                stack.push_async_callback(raw.close)
            async with raw.transaction(isolation="repeatable_read", readonly=True):
                yield Connection(raw, dialect)
        return
    assert isinstance(engine, SQLiteEngine)  # noqa: S101 - dialect_of checked it
    raw = await engine.get_connection()
    try:
        await raw.execute("BEGIN DEFERRED")
        try:
            yield Connection(raw, dialect)
        finally:
            await raw.execute("ROLLBACK")  # read only: nothing to keep
    finally:
        await raw.close()


def is_transient(error: BaseException) -> bool:
    """Errors after which running the whole write again is safe and may succeed."""
    if isinstance(
        error,
        asyncpg.DeadlockDetectedError
        | asyncpg.SerializationError
        | asyncpg.UniqueViolationError
        | asyncpg.LockNotAvailableError,
    ):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "busy" in str(error)
    if isinstance(error, sqlite3.IntegrityError):
        # Another process inserted the same transfer id first: re-running
        # finds it and answers idempotently.
        message = str(error)
        return any(
            marker in message
            for marker in (
                "UNIQUE constraint failed: ledger_transfer.id",
                "UNIQUE constraint failed: ledger_failure.transfer_id",
                "REPLACE on ledger_transfer refused",  # the no-replace trigger fires first
                "REPLACE on ledger_failure refused",
            )
        )
    return False


async def run_write(engine: Engine[Any], work: Callable[[WriteTransaction], Awaitable[T]]) -> T:
    """Run `work` in a write transaction, retrying transient failures a bounded number of times.

    Joined transactions are not retried here: the outermost caller owns the retry.
    """
    for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
        try:
            async with write_transaction(engine) as transaction:
                return await work(transaction)
        except Exception as error:
            joined = engine.current_transaction.get() is not None
            if joined or attempt == WRITE_ATTEMPTS_MAX or not is_transient(error):
                raise
            # Jitter keeps two retrying writers from colliding again in step.
            delay = WRITE_RETRY_BACKOFF_SECONDS_BASE * (2**attempt) * random.random()  # noqa: S311
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover

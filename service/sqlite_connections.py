"""Kept SQLite connections: one writer and a small pool of readers (WAL).

Piccolo's SQLiteEngine opens a new aiosqlite connection (an OS thread, a file
open, pragmas, a schema parse) for every query outside a transaction and for
every transaction, and closing the last one checkpoints the WAL. That costs
milliseconds where the query itself costs microseconds (docs/performance.md).

Here a process keeps its connections open between uses:
- one writer connection, checked out exclusively (an asyncio lock) by each
  write transaction and by each single write statement, so writes from one
  process queue in memory instead of busy-waiting on the file lock;
- up to `SQLITE_READERS_MAX` reader connections for single SELECTs and for the
  ledger's reads. A reader is checked out exclusively too: two statements
  interleaved on one connection would share one WAL snapshot, and a read that
  started after a commit must see it. When every reader is busy a temporary
  connection is opened (and closed after use) rather than waiting, so nested
  checkouts in one task can never deadlock.

Other processes (more workers, the CLI) keep their own connections. Workers
also queue for the writer on an advisory lock file beside the database
(`flock`), so a worker waiting to write wakes the moment the other commits:
SQLite's own busy handler polls with sleeps of up to 100 ms, which under
load turned a few milliseconds of waiting into hundreds. SQLite's file locks
and the busy timeout still guard correctness (the CLI takes no flock).

A checked-out connection is handed out as a `KeptConnection`: it behaves like
the aiosqlite connection, but `close()` gives it back instead of closing it,
which is what Piccolo's transactions and `ledger.transactions` call.

Point reads (the caller, a balance, a gift's recipient: one indexed row, tens of
microseconds in SQLite) run on an `InlineReader` instead: a plain sqlite3
connection used on the event loop's own thread, read-only. An aiosqlite read is
three hand-offs to its thread and back (execute, fetch, close), each a queue, a
thread wake-up and a loop wake-up, which cost many times the read itself on a
busy machine (ADR 0053). A WAL reader never waits for the writer, so the loop
is blocked only for the read; should SQLite still answer busy (WAL recovery),
the read goes to a kept aiosqlite reader instead of waiting on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiosqlite

# Readers kept per process. A read that finds them all busy opens a temporary
# connection (a thread, a file open, pragmas: milliseconds). With 4, a worker serving
# 16 concurrent statement pages opened one for most of them: 612 pages/s at 32 clients
# on two workers; 1,676 with 16 (docs/performance.md). Each kept reader is a thread
# and up to SQLite's default page cache (2 MiB) once used.
SQLITE_READERS_MAX = 16
# An inline read never waits on the loop's thread: busy means "use a threaded reader".
INLINE_READ_BUSY_SECONDS = 0.0
WRITER_WAIT_SECONDS_DEFAULT = 30.0  # as long as SQLite's busy timeout
Synchronous = Literal["full", "normal"]
SYNCHRONOUS_DEFAULT: Synchronous = "full"


class KeptConnection:
    """An aiosqlite connection on loan from `SQLiteConnections`; `close()` returns it."""

    def __init__(self, raw: aiosqlite.Connection, give_back: Callable[[], Awaitable[None]]) -> None:
        self._raw = raw
        self._give_back = give_back
        self._returned = False

    @property
    def raw(self) -> aiosqlite.Connection:
        return self._raw

    @property
    def row_factory(self) -> Any:
        return self._raw.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._raw.row_factory = factory

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    async def close(self) -> None:
        if self._returned:
            return
        self._returned = True
        await self._give_back()


class SQLiteConnections:
    """The connections one process keeps for one SQLite file, on one event loop."""

    def __init__(
        self,
        connection_kwargs: dict[str, Any],
        *,
        synchronous: Synchronous,
        row_factory: Any,
        readers_max: int = SQLITE_READERS_MAX,
    ) -> None:
        self._connection_kwargs = connection_kwargs
        self._synchronous = synchronous
        self._row_factory = row_factory
        self._readers_max = readers_max
        self.loop = asyncio.get_running_loop()
        self._writer: aiosqlite.Connection | None = None
        self._writer_lock = asyncio.Lock()
        self._idle_readers: list[aiosqlite.Connection] = []
        self._kept_readers = 0
        self._inline: InlineReader | None = None
        self._closed = False
        self._writer_lock_file = WriterLockFile(
            f"{connection_kwargs['database']}-writer.lock",
            timeout_seconds=float(connection_kwargs.get("timeout", WRITER_WAIT_SECONDS_DEFAULT)),
        )

    async def open(self) -> aiosqlite.Connection:
        """A new connection set up the way every connection here must be."""
        raw = await aiosqlite.connect(**self._connection_kwargs)
        raw.row_factory = self._row_factory
        try:
            await raw.execute("PRAGMA foreign_keys = 1")
            # Per connection, not stored in the file; see ADR 0024 for NORMAL.
            await raw.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
        except BaseException:
            await raw.close()
            raise
        return raw

    def usable_here(self) -> bool:
        """False on another event loop (tests run one per test) or once closed."""
        return not self._closed and _running_on(self.loop)

    async def writer(self) -> KeptConnection:
        """The writer connection, held until the returned connection is closed."""
        await self._writer_lock.acquire()
        try:
            await self._writer_lock_file.acquire()
        except BaseException:
            self._writer_lock.release()
            raise
        try:
            if self._writer is None:
                self._writer = await self.open()
        except BaseException:
            self._release_writer()
            raise
        raw = self._writer

        async def give_back() -> None:
            try:
                if not await _is_clean(raw):
                    self._writer = None
                    await _close_quietly(raw)
            finally:
                self._release_writer()

        return KeptConnection(raw, give_back)

    def _release_writer(self) -> None:
        try:
            self._writer_lock_file.release()
        finally:
            self._writer_lock.release()

    async def reader(self) -> KeptConnection:
        """A reader connection: an idle kept one, a new kept one, or a temporary one."""
        if self._idle_readers:
            raw = self._idle_readers.pop()
            kept = True
        else:
            kept = self._kept_readers < self._readers_max
            raw = await self.open()
            if kept:
                self._kept_readers += 1

        async def give_back() -> None:
            if kept and not self._closed and await _is_clean(raw):
                self._idle_readers.append(raw)
                return
            if kept:
                self._kept_readers -= 1
            await _close_quietly(raw)

        return KeptConnection(raw, give_back)

    def inline_reader(self) -> InlineReader:
        """The read-only connection for point reads on the loop's thread (opened once)."""
        if self._inline is None:
            self._inline = InlineReader(self._connection_kwargs, self._row_factory, self.reader)
        return self._inline

    async def close(self) -> None:
        """Close every idle connection; connections on loan close when given back."""
        self._closed = True
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        if not _running_on(self.loop):
            self._stop_idle()
            return
        async with self._writer_lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                await _close_quietly(writer)
        idle, self._idle_readers = self._idle_readers, []
        for raw in idle:
            await _close_quietly(raw)

    def _stop_idle(self) -> None:
        # Our asyncio lock belongs to another loop: stop the threads directly.
        if self._writer is not None and not self._writer_lock.locked():
            self._writer.stop()
            self._writer = None
        idle, self._idle_readers = self._idle_readers, []
        for raw in idle:
            raw.stop()


class InlineReader:
    """A read-only sqlite3 connection run on the event loop's thread, for point reads.

    It offers what `ledger.sql.Connection` calls on an aiosqlite connection
    (`execute`, then the cursor's `fetchall` and `close`), but each statement
    runs and is read to the end inside `execute`, without yielding: no other
    task can interleave on it, and the statement's read transaction ends
    before `execute` returns (autocommit), so every read sees the latest
    commit. Only short, indexed reads belong here: the loop waits for them.
    """

    def __init__(
        self,
        connection_kwargs: dict[str, Any],
        row_factory: Any,
        threaded_reader: Callable[[], Awaitable[KeptConnection]],
    ) -> None:
        kwargs = {**connection_kwargs, "timeout": INLINE_READ_BUSY_SECONDS}
        self._raw = sqlite3.connect(**kwargs)
        self._raw.row_factory = row_factory
        # A second guard besides the callers' SQL: this connection can never write.
        self._raw.execute("PRAGMA query_only = 1")
        self._threaded_reader = threaded_reader

    async def execute(self, sql: str, parameters: Any = ()) -> _ReadRows:
        try:
            return _ReadRows(self._raw.execute(sql, parameters).fetchall())
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
        # Busy (a WAL being recovered): read on a threaded reader, which may wait.
        connection = await self._threaded_reader()
        try:
            async with connection.raw.execute(sql, parameters) as cursor:
                return _ReadRows(list(await cursor.fetchall()))
        finally:
            await connection.close()

    def close(self) -> None:
        # Closing from another thread is refused by sqlite3; the process is ending then.
        with contextlib.suppress(sqlite3.Error):
            self._raw.close()


class _ReadRows:
    """Rows already read, behind the two cursor calls `ledger.sql.Connection` makes."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    async def fetchall(self) -> list[Any]:
        return self._rows

    async def close(self) -> None:
        return None


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "locked" in message or "busy" in message


class WriterLockFile:
    """An exclusive `flock` that the writers of every process on this file queue on.

    Each acquisition opens the lock file anew: flock locks belong to an open
    file description, so a wait abandoned by a cancelled task (its thread
    still blocked in flock) can never be mistaken for the next holder's lock.
    """

    def __init__(self, path: str, *, timeout_seconds: float) -> None:
        self._path = path
        self._timeout_seconds = timeout_seconds
        self._held: int | None = None

    async def acquire(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread hop
        except BlockingIOError:
            await _wait_for_flock(fd, self._timeout_seconds)
        except BaseException:
            os.close(fd)
            raise
        self._held = fd

    def release(self) -> None:
        fd, self._held = self._held, None
        if fd is not None:
            os.close(fd)  # closing the description releases the lock


async def _wait_for_flock(fd: int, timeout_seconds: float) -> None:
    """Wait in a thread (the loop stays free); on timeout or cancel, let go once it lands."""
    waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
    try:
        await asyncio.wait_for(asyncio.shield(waiting), timeout_seconds)
    except BaseException as error:
        waiting.add_done_callback(lambda _: os.close(fd))
        if isinstance(error, TimeoutError):
            # The same error SQLite's busy timeout gives: writers retry on it.
            raise sqlite3.OperationalError("database is locked by another worker") from None
        raise


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _is_clean(raw: aiosqlite.Connection) -> bool:
    """True when the connection holds no open transaction and still works."""
    try:
        if raw.in_transaction:
            # Whoever had it left a transaction open (a failed ROLLBACK):
            # never hand that state to the next user.
            await raw.rollback()
    except (sqlite3.Error, ValueError):
        return False
    return not raw.in_transaction


async def _close_quietly(raw: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error, ValueError):
        await raw.close()

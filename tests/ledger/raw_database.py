"""Raw connections to a test database that go around the ledger's Python code.

Tests of the schema and of tamper evidence need to write rows the ledger would
never write. `RawDatabase` speaks PostgreSQL's numbered parameters ($1, $2, ...)
on both engines, encodes values the way the ledger stores them (UUIDs and
instants as TEXT on SQLite), and runs every statement in autocommit mode.

`tamper()` changes rows with the ledger's triggers switched off: on
PostgreSQL with `session_replication_role = replica` (which disables ordinary
triggers and foreign key checks for that transaction only), on SQLite by
dropping the triggers and creating them again in the same transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ledger.sql import SQLITE_TIME_FORMAT, to_utc
from tests.conftest import TestDatabase

_NUMBERED_PARAMETER = re.compile(r"\$(\d+)")

# What a refused statement raises, per engine.
REFUSED_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    sqlite3.IntegrityError,
    sqlite3.DatabaseError,
)


def _encode_sqlite(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return to_utc(value).strftime(SQLITE_TIME_FORMAT)
    if isinstance(value, bool):
        return int(value)
    return value


class RawDatabase:
    """One autocommit connection to the test database, outside the ledger."""

    def __init__(self, kind: str, connection: Any) -> None:
        self.kind = kind
        self._connection = connection

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    def _sqlite(self) -> sqlite3.Connection:
        connection: sqlite3.Connection = self._connection
        return connection

    def _pg(self) -> asyncpg.Connection:
        connection: asyncpg.Connection = self._connection
        return connection

    def postgres_connection(self) -> asyncpg.Connection:
        """The asyncpg connection itself, for what only PostgreSQL has (its notices)."""
        if not self.is_postgres:
            raise TypeError("a PostgreSQL connection was asked of a SQLite database")
        return self._pg()

    async def execute(self, sql: str, *args: Any) -> None:
        if self.is_postgres:
            await self._pg().execute(sql, *args)
            return
        self._sqlite().execute(
            _NUMBERED_PARAMETER.sub(r"?\1", sql), [_encode_sqlite(arg) for arg in args]
        )

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self.is_postgres:
            return [dict(row) for row in await self._pg().fetch(sql, *args)]
        cursor = self._sqlite().execute(
            _NUMBERED_PARAMETER.sub(r"?\1", sql), [_encode_sqlite(arg) for arg in args]
        )
        return [dict(row) for row in cursor.fetchall()]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        assert len(rows) == 1, rows
        return next(iter(rows[0].values()))

    async def tamper(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, checks: bool = True
    ) -> None:
        """Run `statements` in one transaction with every trigger and foreign key off.

        With `checks=False` CHECK constraints are bypassed too (SQLite:
        `ignore_check_constraints`; PostgreSQL: the entry balance CHECK, the
        only one the tamper tests need to get past, is dropped and added back
        NOT VALID).
        """
        if self.is_postgres:
            await self._tamper_postgres(statements, checks=checks)
        else:
            await self._tamper_sqlite(statements, checks=checks)

    async def _tamper_postgres(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, checks: bool
    ) -> None:
        connection = self._pg()
        async with connection.transaction():
            # Ordinary triggers (the ledger's) and foreign key checks are off
            # in replica mode, for this transaction only.
            await connection.execute("SET LOCAL session_replication_role = replica")
            if not checks:
                await connection.execute(
                    "ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_balance"
                )
            for sql, args in statements:
                await connection.execute(sql, *args)
            if not checks:
                await connection.execute(
                    "ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_balance "
                    "CHECK (balance_minor = credits_posted - debits_posted) NOT VALID"
                )

    async def _tamper_sqlite(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, checks: bool
    ) -> None:
        connection = self._sqlite()
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        connection.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction
        if not checks:
            connection.execute("PRAGMA ignore_check_constraints = ON")
        connection.execute("BEGIN IMMEDIATE")
        try:
            for name, _ in triggers:
                connection.execute(f'DROP TRIGGER "{name}"')
            for sql, args in statements:
                await self.execute(sql, *args)
            for _, sql in triggers:
                connection.execute(sql)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")
        finally:
            connection.execute("PRAGMA ignore_check_constraints = OFF")
            connection.execute("PRAGMA foreign_keys = ON")


@asynccontextmanager
async def raw_database(db: TestDatabase) -> AsyncIterator[RawDatabase]:
    if db.kind == "postgres":
        connection = await asyncpg.connect(db.url)
        try:
            yield RawDatabase(db.kind, connection)
        finally:
            await connection.close()
        return
    path = db.engine.path  # type: ignore[attr-defined]
    sqlite_connection = sqlite3.connect(path, isolation_level=None)
    sqlite_connection.row_factory = sqlite3.Row
    # As the ledger's own connections do (Piccolo turns foreign keys on for each).
    sqlite_connection.execute("PRAGMA foreign_keys = ON")
    try:
        yield RawDatabase(db.kind, sqlite_connection)
    finally:
        sqlite_connection.close()

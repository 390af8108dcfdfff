"""A thin adapter that runs the ledger's SQL on SQLite (aiosqlite) or PostgreSQL (asyncpg).

The ledger writes its SQL once, with PostgreSQL's numbered parameters ($1,
$2, ...); SQLite understands the same numbering as ?1, ?2. Values cross the
boundary in one canonical form: UUIDs as `uuid.UUID` (TEXT on SQLite),
instants as aware UTC datetimes (TEXT in a sortable fixed format on SQLite).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID


class Dialect(enum.Enum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_NUMBERED_PARAMETER = re.compile(r"\$(\d+)")

Row = Mapping[str, Any]


@lru_cache(maxsize=512)
def _to_sqlite_parameters(sql: str) -> str:
    return _NUMBERED_PARAMETER.sub(r"?\1", sql)


def to_utc(instant: datetime) -> datetime:
    """Aware UTC at microsecond precision (what both engines store)."""
    if instant.tzinfo is None:
        raise ValueError("the ledger needs timezone-aware datetimes")
    return instant.astimezone(UTC)


@dataclass(slots=True)
class Connection:
    """One database connection inside a transaction the ledger controls."""

    raw: Any
    dialect: Dialect

    @property
    def is_postgres(self) -> bool:
        return self.dialect is Dialect.POSTGRES

    def encode(self, value: Any) -> Any:
        if self.dialect is Dialect.POSTGRES:
            return value
        if isinstance(value, UUID):
            return str(value)
        if isinstance(value, datetime):
            return to_utc(value).strftime(SQLITE_TIME_FORMAT)
        if isinstance(value, bool):
            return int(value)
        return value

    def _sql(self, sql: str) -> str:
        return sql if self.dialect is Dialect.POSTGRES else _to_sqlite_parameters(sql)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        params = [self.encode(arg) for arg in args]
        if self.dialect is Dialect.POSTGRES:
            return list(await self.raw.fetch(sql, *params))
        cursor = await self.raw.execute(self._sql(sql), params)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def execute(self, sql: str, *args: Any) -> None:
        params = [self.encode(arg) for arg in args]
        if self.dialect is Dialect.POSTGRES:
            await self.raw.execute(sql, *params)
            return
        cursor = await self.raw.execute(self._sql(sql), params)
        await cursor.close()

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        encoded = [[self.encode(value) for value in row] for row in rows]
        if not encoded:
            return
        if self.dialect is Dialect.POSTGRES:
            await self.raw.executemany(sql, encoded)
            return
        await self.raw.executemany(self._sql(sql), encoded)

    def id_list(self, ids: Sequence[UUID], first_parameter: int) -> tuple[str, list[Any]]:
        """SQL for `column IN (...)` / `= ANY(...)` and its parameters."""
        if self.dialect is Dialect.POSTGRES:
            return f"= ANY(${first_parameter}::uuid[])", [list(ids)]
        numbers = range(first_parameter, first_parameter + len(ids))
        return "IN (" + ", ".join(f"${n}" for n in numbers) + ")", list(ids)


def as_uuid(value: Any) -> UUID:
    # asyncpg answers with its own subclass of UUID (equal, same hash and text): kept as
    # it is, since parsing its text again cost a statement page a tenth of its time.
    return value if isinstance(value, UUID) else UUID(str(value))


def as_optional_uuid(value: Any) -> UUID | None:
    return None if value is None else as_uuid(value)


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        # asyncpg's instants are in UTC already: no new object for each of them.
        return value if value.tzinfo is UTC else value.astimezone(UTC)
    return _sqlite_instant(value)


def _sqlite_instant(text: str) -> datetime:
    """An instant SQLite holds as `SQLITE_TIME_FORMAT` text, in UTC.

    `fromisoformat` reads that text about fifty times faster than `strptime` with the
    format (a statement page parses a few instants a line). It also reads other ISO
    forms; one that names an offset was not written by `encode` and is refused.
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        raise ValueError(f"a SQLite instant is stored in UTC without an offset, not {text!r}")
    return parsed.replace(tzinfo=UTC)


def as_optional_datetime(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)

"""Where the reports read from: a streaming replica while it is fresh, else the primary.

ADR 0047. With DATABASE_REPLICA_URL set, the council, coordinator and admin flows
and impact reports (their JSON, CSV and pages: /reports, /reports/impact) read their
figures from the replica, so a heavy report does not compete with members' writes.
Nothing a member writes and reads back goes there: only these reports ask `ReportReader`.

The replica is used only while its lag is within the bound: the lag is checked at most
once in REPLICA_CHECK_SECONDS per process (a report should not cost a second round
trip), and a replica that is down, unreachable, lagging or no longer replaying answers
"use the primary" until the next check. Every answer says how fresh it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from piccolo.engine.base import Engine

from ledger.transactions import read_connection
from service import database
from service.i18n import _
from service.limits import (
    REPLICA_CHECK_SECONDS,
    REPLICA_CONNECT_TIMEOUT_SECONDS,
)

logger = logging.getLogger("timebank.reports.source")

T = TypeVar("T")

REPORT_READER_STATE = "report_reader"

# Caught up: everything received has been replayed, so the copy is as fresh as the
# primary's stream. Otherwise the lag is the age of the last transaction replayed.
LAG_SQL = """
SELECT pg_is_in_recovery() AS standby,
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up,
       now() AS checked_at,
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag_seconds
"""

# What a replica that cannot be used raises: refused or dropped connections, a server
# shutting down or still starting, a connect or query timeout.
REPLICA_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True, slots=True)
class Freshness:
    """How fresh a report's figures are: from the replica as of an instant, or live."""

    from_replica: bool
    as_of: datetime

    @property
    def source(self) -> str:
        return "replica" if self.from_replica else "primary"

    @property
    def words(self) -> str:
        """The line a report page shows about it."""
        if self.from_replica:
            as_of = self.as_of.astimezone(UTC)
            return _("Figures as of %(time)s UTC, from a copy of the database.") % {
                "time": f"{as_of:%H:%M}"
            }
        return _("Figures up to the moment.")


def replica_engine_from_url(url: str | None) -> Engine[Any] | None:
    """The replica's engine (no I/O here): connects give up after a short timeout, so a
    replica gone quiet costs a report seconds, not a minute."""
    if url is None:
        return None
    return database.engine_from_url(url, connect_timeout_seconds=REPLICA_CONNECT_TIMEOUT_SECONDS)


class ReportReader:
    """Runs a report on the replica when it is fresh enough, else on the primary."""

    def __init__(
        self,
        primary: Engine[Any],
        replica: Engine[Any] | None,
        *,
        lag_seconds_max: float,
        check_seconds: float = REPLICA_CHECK_SECONDS,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.lag_seconds_max = lag_seconds_max
        self.check_seconds = check_seconds
        self._checked_monotonic: float | None = None
        self._replica_as_of: datetime | None = None  # None: do not use the replica
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Start the replica's pool; a replica down at start-up is checked again later."""
        if self.replica is None:
            return
        try:
            await database.prepare(self.replica)
        except REPLICA_ERRORS:
            logger.warning("read replica unreachable at start-up; reports use the primary")

    async def close(self) -> None:
        if self.replica is not None:
            await database.release(self.replica)

    async def read(self, build: Callable[[Engine[Any]], Awaitable[T]]) -> tuple[T, Freshness]:
        """`build` on the replica if it is usable, else (or if it fails there) the primary."""
        as_of = await self._replica_freshness()
        if self.replica is not None and as_of is not None:
            try:
                return await build(self.replica), Freshness(from_replica=True, as_of=as_of)
            except REPLICA_ERRORS:
                logger.warning("read replica failed during a report; using the primary")
                self._forget()
        return await build(self.primary), Freshness(from_replica=False, as_of=datetime.now(UTC))

    async def _replica_freshness(self) -> datetime | None:
        if self.replica is None:
            return None
        async with self._lock:
            checked = self._checked_monotonic
            if checked is None or time.monotonic() - checked >= self.check_seconds:
                self._replica_as_of = await self._check(self.replica)
                self._checked_monotonic = time.monotonic()
            return self._replica_as_of

    def _forget(self) -> None:
        self._replica_as_of = None
        self._checked_monotonic = time.monotonic()

    async def _check(self, replica: Engine[Any]) -> datetime | None:
        """The instant the replica's figures are complete up to, or None to use the primary."""
        try:
            async with read_connection(replica) as connection:
                row = await connection.raw.fetchrow(
                    LAG_SQL, timeout=REPLICA_CONNECT_TIMEOUT_SECONDS
                )
        except REPLICA_ERRORS:
            logger.warning("read replica unreachable; reports use the primary")
            return None
        checked_at: datetime = row["checked_at"]
        if not row["standby"]:
            # Promoted or misconfigured: not a copy whose lag means anything.
            return None
        if row["caught_up"]:
            return checked_at
        lag_seconds = row["lag_seconds"]
        if lag_seconds is None or lag_seconds > self.lag_seconds_max:
            logger.info("read replica lags %s s; reports use the primary", lag_seconds)
            return None
        return checked_at - timedelta(seconds=lag_seconds)


def provide_report_reader(state: State) -> ReportReader:
    reader: ReportReader = state[REPORT_READER_STATE]
    return reader


REPORT_DEPENDENCIES = {"report_reader": Provide(provide_report_reader, sync_to_thread=False)}

ReportReaderDep = NamedDependency[ReportReader]

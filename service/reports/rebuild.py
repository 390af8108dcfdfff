"""`timebank reports rebuild`: mirror into the rollups the postings made before they existed.

For a database that had exchanges (and pool donations or grants) before the
reports were added. Every posting is replayed through the same functions the
write paths call (`record_exchange_flow`, `record_pool_flow`), keyed by its
ledger transfer id: one already mirrored is skipped by the rollups themselves,
so the command is safe to run twice, or on a database whose recent postings
are mirrored already. Replayed, in order:

1. each completed exchange's posting to each recipient (its service date);
2. each dispute correction that moved hours back (netted into that flow);
3. each pool donation and grant (ledger transfers coded "donation" into a
   pool account, "grant" out of one).

A replayed flow takes the members' ward, age band and community as they are
now (history before the reports was not kept); a member whose account was
closed since counts without a ward.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from piccolo.engine.base import Engine

from ledger.sql import as_uuid
from ledger.transactions import read_connection, write_transaction
from service.rollups.services import record_exchange_flow, record_pool_flow

REBUILD_CHUNK_POSTINGS: Final = 500  # postings replayed per write transaction

_EXCHANGE_POSTINGS: Final = (
    "SELECT e.id AS exchange_id, r.member AS recipient_id, e.minutes, e.service_date, "
    "r.transfer_id FROM market_exchange e "
    "JOIN market_exchange_recipient r ON r.exchange = e.id "
    "WHERE e.status = 'completed' AND r.transfer_id IS NOT NULL "
    "ORDER BY e.service_date, e.id, r.member"
)
_CORRECTIONS: Final = (
    "SELECT d.exchange AS exchange_id, c.recipient AS recipient_id, c.minutes, "
    "c.reversal_transfer_id AS transfer_id, t.recorded_at "
    "FROM dispute_correction c JOIN dispute_dispute d ON d.id = c.dispute "
    "JOIN ledger_transfer t ON t.id = c.reversal_transfer_id "
    "WHERE c.reversal_transfer_id IS NOT NULL AND c.minutes > 0 "
    "ORDER BY t.recorded_at, t.id"
)
_POOL_POSTINGS: Final = (
    "SELECT t.id AS transfer_id, t.code, t.amount_minor, t.effective_at, "
    "c.id AS community_id, m.id AS member_id FROM ledger_transfer t "
    "JOIN member_community c ON (t.code = 'donation' AND c.pool_account_id = t.credit_account_id) "
    "OR (t.code = 'grant' AND c.pool_account_id = t.debit_account_id) "
    "JOIN member_member m ON m.hour_account_id = "
    "(CASE WHEN t.code = 'donation' THEN t.debit_account_id ELSE t.credit_account_id END) "
    "WHERE t.kind = 'single' ORDER BY t.effective_at, t.id"
)


@dataclass(frozen=True, slots=True)
class Replayed:
    """How many postings of each kind were looked at (mirrored now or already)."""

    exchanges: int
    corrections: int
    pool: int


def _instant(value: Any) -> datetime:
    """A timestamp as read: a datetime on PostgreSQL, ISO 8601 text on SQLite."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant.astimezone(UTC)


async def _replay(
    engine: Engine[Any], rows: Sequence[Any], mirror: Callable[[Any], Awaitable[None]]
) -> int:
    for start in range(0, len(rows), REBUILD_CHUNK_POSTINGS):
        async with write_transaction(engine):
            for row in rows[start : start + REBUILD_CHUNK_POSTINGS]:
                await mirror(row)
    return len(rows)


async def _exchange_posting(row: Any) -> None:
    await record_exchange_flow(
        exchange_id=as_uuid(row["exchange_id"]),
        recipient_id=as_uuid(row["recipient_id"]),
        minutes_signed=int(row["minutes"]),
        at=_instant(row["service_date"]),
        source_id=as_uuid(row["transfer_id"]),
    )


async def _correction(row: Any) -> None:
    await record_exchange_flow(
        exchange_id=as_uuid(row["exchange_id"]),
        recipient_id=as_uuid(row["recipient_id"]),
        minutes_signed=-int(row["minutes"]),
        at=_instant(row["recorded_at"]),
        source_id=as_uuid(row["transfer_id"]),
    )


async def _pool_posting(row: Any) -> None:
    await record_pool_flow(
        transfer_id=as_uuid(row["transfer_id"]),
        kind="donation" if row["code"] == "donation" else "grant",
        community_id=as_uuid(row["community_id"]),
        member_id=as_uuid(row["member_id"]),
        minutes=int(row["amount_minor"]),
        at=_instant(row["effective_at"]),
    )


async def rollups_rebuild(engine: Engine[Any]) -> Replayed:
    """Mirror every exchange posting, correction and pool flow not mirrored yet."""
    async with read_connection(engine) as connection:
        exchanges = await connection.fetch(_EXCHANGE_POSTINGS)
        corrections = await connection.fetch(_CORRECTIONS)
        pool = await connection.fetch(_POOL_POSTINGS)
    return Replayed(
        exchanges=await _replay(engine, exchanges, _exchange_posting),
        corrections=await _replay(engine, corrections, _correction),
        pool=await _replay(engine, pool, _pool_posting),
    )

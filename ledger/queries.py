"""Reads: balances, history and statements (ledger.md guarantee 10).

The current balance is the account row (O(1)); a balance as of an instant is
one probe of the (account_id, recorded_at, version) index; statements page
newest first by version cursor, costing O(page) whatever the history length.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

from ledger import errors
from ledger.limits import EXPIRE_BATCH_MAX, STATEMENT_PAGE_SIZE_MAX
from ledger.model import (
    StatementLine,
    StatementPage,
    Transfer,
    TrialBalance,
    TrialBalanceRow,
    Unit,
)
from ledger.rows import TRANSFER_COLUMNS, transfer_from_row
from ledger.sql import Connection, Row, as_datetime, as_uuid

_CURSOR_PREFIX = "v1:"


def encode_cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{version}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        version = int(text.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.CursorInvalid from None
    if not text.startswith(_CURSOR_PREFIX) or version < 1:
        raise errors.CursorInvalid
    return version


async def balance_at(connection: Connection, *, account_id: UUID, at: datetime) -> int | None:
    """Posted balance after the last entry recorded at or before `at` (0 before any)."""
    exists = await connection.fetchrow("SELECT 1 FROM ledger_account WHERE id = $1", account_id)
    if exists is None:
        return None
    row = await connection.fetchrow(
        "SELECT balance_minor FROM ledger_entry WHERE account_id = $1 AND recorded_at <= $2 "
        "ORDER BY recorded_at DESC, version DESC LIMIT 1",
        account_id,
        at,
    )
    return 0 if row is None else int(row["balance_minor"])


async def statement(
    connection: Connection, *, account_id: UUID, limit: int, cursor: str | None
) -> StatementPage:
    if not 1 <= limit <= STATEMENT_PAGE_SIZE_MAX:
        raise errors.PageSizeInvalid(limit=limit, max=STATEMENT_PAGE_SIZE_MAX)
    before_version = decode_cursor(cursor) if cursor else None
    columns = ", ".join(f"t.{column.strip()}" for column in TRANSFER_COLUMNS.split(","))
    version_filter = "AND e.version < $3 " if before_version is not None else ""
    args: list[object] = [account_id, limit + 1]
    if before_version is not None:
        args.append(before_version)
    rows = await connection.fetch(
        f"SELECT e.version AS entry_version, e.debits_posted AS entry_debits_posted, "
        f"e.credits_posted AS entry_credits_posted, e.debits_pending AS entry_debits_pending, "
        f"e.balance_minor AS entry_balance, e.recorded_at AS entry_recorded_at, {columns} "
        "FROM ledger_entry e JOIN ledger_transfer t ON t.id = e.transfer_id "
        f"WHERE e.account_id = $1 {version_filter}ORDER BY e.version DESC LIMIT $2",
        *args,
    )
    lines = tuple(_line(account_id, row) for row in rows[:limit])
    more = len(rows) > limit
    return StatementPage(
        lines=lines, next_cursor=encode_cursor(lines[-1].version) if more else None
    )


def _line(account_id: UUID, row: Row) -> StatementLine:
    transfer = transfer_from_row(row)
    change = 0
    if transfer.kind.value in ("single", "post", "reversal"):
        sign = 1 if transfer.credit_account_id == account_id else -1
        change = sign * transfer.amount_minor
    return StatementLine(
        account_id=account_id,
        version=int(row["entry_version"]),
        transfer=transfer,
        change_minor=change,
        balance_after_minor=int(row["entry_balance"]),
        debits_pending_after_minor=int(row["entry_debits_pending"]),
        recorded_at=as_datetime(row["entry_recorded_at"]),
    )


async def trial_balance(connection: Connection, *, unit: Unit) -> TrialBalance:
    rows = await connection.fetch(
        "SELECT id, owner, debits_posted, credits_posted FROM ledger_account "
        "WHERE unit = $1 ORDER BY id",
        unit.value,
    )
    lines = tuple(
        TrialBalanceRow(
            account_id=as_uuid(row["id"]),
            owner=row["owner"],
            debits_posted_minor=int(row["debits_posted"]),
            credits_posted_minor=int(row["credits_posted"]),
            balance_minor=int(row["credits_posted"]) - int(row["debits_posted"]),
        )
        for row in rows
    )
    return TrialBalance(
        unit=unit,
        rows=lines,
        total_debits_minor=sum(line.debits_posted_minor for line in lines),
        total_credits_minor=sum(line.credits_posted_minor for line in lines),
    )


async def transfer_by_id(connection: Connection, transfer_id: UUID) -> Transfer | None:
    row = await connection.fetchrow(
        f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfer WHERE id = $1", transfer_id
    )
    return None if row is None else transfer_from_row(row)


async def due_pending_ids(connection: Connection, *, now: datetime, limit: int) -> list[UUID]:
    """Pending transfers whose expiry has passed and that nothing resolved yet."""
    limit = min(limit, EXPIRE_BATCH_MAX)
    rows = await connection.fetch(
        "SELECT p.id FROM ledger_transfer p WHERE p.kind = 'pending' AND p.expires_at <= $1 "
        "AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id) "
        "ORDER BY p.expires_at, p.id LIMIT $2",
        now,
        limit,
    )
    return [as_uuid(row["id"]) for row in rows]


async def open_pending_ids(connection: Connection, *, account_id: UUID) -> list[UUID]:
    """Pending transfers touching the account that nothing has resolved yet."""
    rows = await connection.fetch(
        "SELECT p.id FROM ledger_transfer p WHERE p.kind = 'pending' "
        "AND (p.debit_account_id = $1 OR p.credit_account_id = $1) "
        "AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id) "
        "ORDER BY p.recorded_at, p.id LIMIT $2",
        account_id,
        EXPIRE_BATCH_MAX,
    )
    return [as_uuid(row["id"]) for row in rows]

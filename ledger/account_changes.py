"""The account change log: a second hash chain per account, over its limits and closure.

Entries chain every movement, but floor, ceiling and closed_at live on the
account row, where a changed value would go unnoticed. Each change to them
(opening, set_limits, a reversal that overrode a limit, closing) appends
one row holding the state after it, hashed and chained to the previous row,
in the same transaction as the change and under the account's row lock.
verify() recomputes each log and checks that its last state is the row's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from ledger.hashing import account_change_genesis, account_change_hash
from ledger.model import AccountChange, AccountChangeKind, LimitMove, Unit
from ledger.rows import ACCOUNT_COLUMNS, account_state
from ledger.sql import (
    Connection,
    Row,
    as_datetime,
    as_optional_datetime,
    as_optional_uuid,
    as_uuid,
)

CHANGE_COLUMNS = (
    "account_id, sequence, kind, floor_minor, ceiling_minor, closed_at, transfer_id, "
    "recorded_at, previous_hash, hash"
)
# Accounts given a first (backfilled) change per statement by `backfill`.
_BACKFILL_ACCOUNTS_PER_QUERY = 1_000


class LimitedAccount(Protocol):
    """What a change records of an account (an Account or a locked AccountState)."""

    @property
    def id(self) -> UUID: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def owner(self) -> str: ...
    @property
    def floor_minor(self) -> int | None: ...
    @property
    def ceiling_minor(self) -> int | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


async def change_heads(connection: Connection, account_ids: list[UUID]) -> dict[UUID, Row]:
    """The last change (sequence, hash) of each account that has one."""
    if not account_ids:
        return {}
    condition, params = connection.id_list(account_ids, 1)
    rows = await connection.fetch(
        "SELECT c.account_id, c.sequence, c.hash FROM ledger_account_change c "
        f"WHERE c.account_id {condition} AND c.sequence = (SELECT max(m.sequence) "
        "FROM ledger_account_change m WHERE m.account_id = c.account_id)",
        *params,
    )
    return {as_uuid(row["account_id"]): row for row in rows}


async def append_changes(
    connection: Connection,
    changes: Sequence[tuple[LimitedAccount, AccountChangeKind, UUID | None]],
    now: datetime,
) -> None:
    """Append one change per (account, kind, transfer id); accounts must be locked."""
    if not changes:
        return
    heads = await change_heads(connection, sorted({account.id for account, _, _ in changes}))
    rows: list[list[object]] = []
    for account, kind, transfer_id in changes:
        head = heads.get(account.id)
        change = AccountChange(
            account_id=account.id,
            sequence=(head["sequence"] if head else 0) + 1,
            kind=kind.value,
            unit=account.unit,
            owner=account.owner,
            floor_minor=account.floor_minor,
            ceiling_minor=account.ceiling_minor,
            closed_at=account.closed_at,
            transfer_id=transfer_id,
            recorded_at=now,
            previous_hash=head["hash"]
            if head
            else account_change_genesis(account.id, account.unit),
        )
        digest = account_change_hash(change)
        heads[account.id] = {"sequence": change.sequence, "hash": digest}
        rows.append(
            [
                change.account_id,
                change.sequence,
                change.kind,
                change.floor_minor,
                change.ceiling_minor,
                change.closed_at,
                change.transfer_id,
                change.recorded_at,
                change.previous_hash,
                digest,
            ]
        )
    slots = ", ".join(f"${n}" for n in range(1, len(CHANGE_COLUMNS.split(",")) + 1))
    await connection.execute_many(
        f"INSERT INTO ledger_account_change ({CHANGE_COLUMNS}) VALUES ({slots})", rows
    )


async def fetch_changes(
    connection: Connection, account_id: UUID, *, after: int, limit: int
) -> list[Row]:
    return await connection.fetch(
        f"SELECT {CHANGE_COLUMNS} FROM ledger_account_change "
        "WHERE account_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
        account_id,
        after,
        limit,
    )


def change_from_row(row: Row, unit: Unit, owner: str) -> tuple[AccountChange, str]:
    """The change a row records, and the hash stored with it."""
    change = AccountChange(
        account_id=as_uuid(row["account_id"]),
        sequence=row["sequence"],
        kind=row["kind"],
        unit=unit,
        owner=owner,
        floor_minor=row["floor_minor"],
        ceiling_minor=row["ceiling_minor"],
        closed_at=as_optional_datetime(row["closed_at"]),
        transfer_id=as_optional_uuid(row["transfer_id"]),
        recorded_at=as_datetime(row["recorded_at"]),
        previous_hash=row["previous_hash"],
    )
    return change, row["hash"]


async def backfill(connection: Connection, now: datetime) -> int:
    """Give every account without a change log its first link: the state as found."""
    done = 0
    while True:
        rows = await connection.fetch(
            f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account a WHERE NOT EXISTS "
            "(SELECT 1 FROM ledger_account_change c WHERE c.account_id = a.id) "
            "ORDER BY id LIMIT $1",
            _BACKFILL_ACCOUNTS_PER_QUERY,
        )
        accounts = [account_state(row) for row in rows]
        await append_changes(
            connection, [(account, AccountChangeKind.BACKFILLED, None) for account in accounts], now
        )
        done += len(accounts)
        if len(rows) < _BACKFILL_ACCOUNTS_PER_QUERY:
            return done


async def limit_moves(connection: Connection, transfer_ids: Sequence[UUID]) -> list[LimitMove]:
    """The limits that reversals with override_limits moved: each change and the one before.

    Read in the writer's transaction, right after the reversals, this is the
    state the ledger computed under the account locks, not a separate read of
    the account rows that another writer could have changed in between.
    """
    if not transfer_ids:
        return []
    condition, params = connection.id_list(list(transfer_ids), 1)
    rows = await connection.fetch(
        "SELECT c.account_id, c.transfer_id, p.floor_minor AS floor_before, "
        "c.floor_minor AS floor_after, p.ceiling_minor AS ceiling_before, "
        "c.ceiling_minor AS ceiling_after FROM ledger_account_change c "
        "JOIN ledger_account_change p ON p.account_id = c.account_id "
        "AND p.sequence = c.sequence - 1 "
        f"WHERE c.kind = '{AccountChangeKind.LIMITS_OVERRIDE.value}' AND c.transfer_id {condition} "
        "ORDER BY c.account_id, c.sequence",
        *params,
    )
    return [
        LimitMove(
            account_id=as_uuid(row["account_id"]),
            transfer_id=as_uuid(row["transfer_id"]),
            floor_before_minor=row["floor_before"],
            floor_after_minor=row["floor_after"],
            ceiling_before_minor=row["ceiling_before"],
            ceiling_after_minor=row["ceiling_after"],
        )
        for row in rows
    ]

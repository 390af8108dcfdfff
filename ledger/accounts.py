"""Opening, closing and re-limiting accounts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger import errors
from ledger.account_changes import append_changes
from ledger.hashing import genesis_hash
from ledger.limits import ACCOUNT_LIMIT_MINOR_ABS_MAX, OWNER_CHARS_MAX
from ledger.model import Account, AccountChangeKind, Unit
from ledger.rows import ACCOUNT_COLUMNS, account_state
from ledger.sql import Connection
from ledger.validation import check_text


def check_limits(floor_minor: int | None, ceiling_minor: int | None) -> None:
    for value in (floor_minor, ceiling_minor):
        if value is not None and (
            not isinstance(value, int) or abs(value) > ACCOUNT_LIMIT_MINOR_ABS_MAX
        ):
            raise errors.LimitsInvalid(max_abs_minor=ACCOUNT_LIMIT_MINOR_ABS_MAX)
    if floor_minor is not None and ceiling_minor is not None and floor_minor > ceiling_minor:
        raise errors.LimitsInvalid(floor_minor=floor_minor, ceiling_minor=ceiling_minor)


def check_owner(owner: str) -> None:
    check_text(owner, field="owner")
    if not isinstance(owner, str) or not owner.strip() or len(owner) > OWNER_CHARS_MAX:
        raise errors.OwnerInvalid(max_chars=OWNER_CHARS_MAX)


async def fetch_account(
    connection: Connection, account_id: UUID, *, lock: bool = False
) -> Account | None:
    suffix = " FOR UPDATE" if lock and connection.is_postgres else ""
    row = await connection.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id = $1{suffix}", account_id
    )
    return None if row is None else account_state(row).to_account()


async def existing_account(
    connection: Connection, account_id: UUID, *, lock: bool = False
) -> Account:
    """`fetch_account`, refusing an account that is not there."""
    account = await fetch_account(connection, account_id, lock=lock)
    if account is None:
        raise errors.AccountNotFound(account_id=str(account_id))
    return account


async def open_account(
    connection: Connection,
    *,
    account_id: UUID,
    unit: Unit,
    owner: str,
    floor_minor: int | None,
    ceiling_minor: int | None,
    now: datetime,
) -> Account:
    """Create the account, or return it if it already exists with the same details."""
    existing = await fetch_account(connection, account_id)
    if existing is not None:
        same = (existing.unit, existing.owner) == (unit, owner)
        if not same:
            raise errors.AccountExists(account_id=str(account_id))
        return existing
    await connection.execute(
        "INSERT INTO ledger_account (id, unit, owner, floor_minor, ceiling_minor, head_hash, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        account_id,
        unit.value,
        owner,
        floor_minor,
        ceiling_minor,
        genesis_hash(account_id, unit),
        now,
    )
    created = await fetch_account(connection, account_id)
    assert created is not None  # noqa: S101 - inserted just above in this transaction
    await append_changes(connection, [(created, AccountChangeKind.OPENED, None)], now)
    return created


async def close_account(connection: Connection, *, account_id: UUID, now: datetime) -> Account:
    account = await existing_account(connection, account_id, lock=True)
    if account.closed_at is not None:
        return account
    if (
        account.balance_minor != 0
        or account.debits_pending_minor != 0
        or account.credits_pending_minor != 0
    ):
        raise errors.AccountNotEmpty(
            account_id=str(account_id),
            balance_minor=account.balance_minor,
            debits_pending_minor=account.debits_pending_minor,
            credits_pending_minor=account.credits_pending_minor,
        )
    await connection.execute(
        "UPDATE ledger_account SET closed_at = $2 WHERE id = $1", account_id, now
    )
    closed = await fetch_account(connection, account_id)
    assert closed is not None  # noqa: S101 - locked above
    await append_changes(connection, [(closed, AccountChangeKind.CLOSED, None)], now)
    return closed


async def set_limits(
    connection: Connection,
    *,
    account_id: UUID,
    floor_minor: int | None,
    ceiling_minor: int | None,
    now: datetime,
) -> Account:
    account = await existing_account(connection, account_id, lock=True)
    below_floor = floor_minor is not None and account.available_minor < floor_minor
    above_ceiling = ceiling_minor is not None and (
        account.balance_minor + account.credits_pending_minor > ceiling_minor
    )
    if below_floor or above_ceiling:
        raise errors.LimitsBelowPosition(
            account_id=str(account_id),
            available_minor=account.available_minor,
            balance_minor=account.balance_minor,
        )
    await connection.execute(
        "UPDATE ledger_account SET floor_minor = $2, ceiling_minor = $3 WHERE id = $1",
        account_id,
        floor_minor,
        ceiling_minor,
    )
    changed = await fetch_account(connection, account_id)
    assert changed is not None  # noqa: S101 - locked above
    if (changed.floor_minor, changed.ceiling_minor) != (account.floor_minor, account.ceiling_minor):
        await append_changes(connection, [(changed, AccountChangeKind.LIMITS, None)], now)
    return changed

"""Writing transfers: load and lock what a write needs, plan it, write it back.

One write = one database transaction holding any number of groups (a single
operation, or a chain). Round trips are fixed per write, not per transfer:
read referenced transfers, lock every account in one statement (sorted by
id, so two writers never wait on each other in a cycle), read idempotency
and resolution state, then one INSERT per table and one batched UPDATE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger import errors
from ledger.model import (
    Chain,
    ExpirePending,
    NewPending,
    NewTransfer,
    Operation,
    PostPending,
    Reverse,
    Transfer,
    VoidPending,
)
from ledger.planning import Known, Outcome, Plan, Resolution
from ledger.rows import (
    ACCOUNT_COLUMNS,
    TRANSFER_COLUMNS,
    account_state,
    transfer_from_row,
    transfer_values,
)
from ledger.sql import Connection, as_uuid

Group = tuple[tuple[Operation, ...], UUID | None]

_TRANSFER_COLUMN_COUNT = len(TRANSFER_COLUMNS.split(","))
_ENTRY_COLUMNS = (
    "account_id, version, transfer_id, debits_posted, credits_posted, debits_pending, "
    "credits_pending, balance_minor, recorded_at, previous_hash, hash"
)
_ENTRY_COLUMN_COUNT = len(_ENTRY_COLUMNS.split(","))


def groups_of(items: Sequence[Operation | Chain]) -> list[Group]:
    return [
        (item.operations, item.chain_id) if isinstance(item, Chain) else ((item,), None)
        for item in items
    ]


async def write_groups(connection: Connection, groups: list[Group], now: datetime) -> list[Outcome]:
    """Plan and write every group inside the caller's transaction."""
    known = await _load(connection, groups)
    # Entries of one account must never go back in time.
    latest = max((account.updated_at for account in known.accounts.values()), default=now)
    plan = Plan(known=known, now=max(now, latest))
    outcomes = [plan.apply_group(operations, chain_id) for operations, chain_id in groups]
    await _write(connection, plan)
    return outcomes


# Loading ---------------------------------------------------------------------


def _references(operation: Operation) -> UUID | None:
    if isinstance(operation, PostPending | VoidPending | ExpirePending):
        return operation.pending_id
    if isinstance(operation, Reverse):
        return operation.reverses_id
    return None


async def _load(connection: Connection, groups: list[Group]) -> Known:
    operations = [operation for group, _ in groups for operation in group]
    own_ids = {operation.id for operation in operations}
    referenced = {ref for op in operations if (ref := _references(op)) and ref not in own_ids}
    # Transfers are immutable: reading them before the locks is safe.
    transfers = await _transfers_by_id(connection, sorted(referenced))
    account_ids: set[UUID] = set()
    for operation in operations:
        if isinstance(operation, NewTransfer | NewPending):
            account_ids.update((operation.debit_account_id, operation.credit_account_id))
        ref = _references(operation)
        if ref in transfers:
            account_ids.update((transfers[ref].debit_account_id, transfers[ref].credit_account_id))
    accounts = await _lock_accounts(connection, sorted(account_ids))
    # Everything below is read under the locks, so no other writer can change it.
    transfers.update(await _transfers_by_id(connection, sorted(own_ids)))
    pending_ids = sorted(
        {
            ref
            for op in operations
            if isinstance(op, PostPending | VoidPending | ExpirePending)
            for ref in (op.pending_id,)
        }
    )
    reversed_ids = sorted({op.reverses_id for op in operations if isinstance(op, Reverse)})
    return Known(
        accounts=accounts,
        transfers=transfers,
        failures=await _failures(connection, sorted(own_ids - set(transfers))),
        resolutions=await _resolutions(connection, pending_ids),
        reversed_minor=await _reversed(connection, reversed_ids),
    )


async def _transfers_by_id(connection: Connection, ids: list[UUID]) -> dict[UUID, Transfer]:
    if not ids:
        return {}
    condition, params = connection.id_list(ids, 1)
    rows = await connection.fetch(
        f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfer WHERE id {condition}", *params
    )
    return {transfer.id: transfer for transfer in map(transfer_from_row, rows)}


async def _lock_accounts(connection: Connection, ids: list[UUID]) -> dict[UUID, Any]:
    if not ids:
        return {}
    condition, params = connection.id_list(ids, 1)
    # PostgreSQL locks rows in the ORDER BY order; SQLite already holds the
    # database write lock (BEGIN IMMEDIATE).
    lock = " FOR UPDATE" if connection.is_postgres else ""
    rows = await connection.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id {condition} ORDER BY id{lock}",
        *params,
    )
    return {state.id: state for state in map(account_state, rows)}


async def _failures(
    connection: Connection, ids: list[UUID]
) -> dict[UUID, tuple[dict[str, Any], errors.LedgerError]]:
    if not ids:
        return {}
    condition, params = connection.id_list(ids, 1)
    rows = await connection.fetch(
        "SELECT transfer_id, request_json, error_code, error_json FROM ledger_failure "
        f"WHERE transfer_id {condition}",
        *params,
    )
    return {
        as_uuid(row["transfer_id"]): (
            json.loads(row["request_json"]),
            errors.error_from_record(row["error_code"], json.loads(row["error_json"])),
        )
        for row in rows
    }


async def _resolutions(connection: Connection, pending_ids: list[UUID]) -> dict[UUID, Resolution]:
    if not pending_ids:
        return {}
    condition, params = connection.id_list(pending_ids, 1)
    rows = await connection.fetch(
        f"SELECT pending_id, id, kind FROM ledger_transfer WHERE pending_id {condition}", *params
    )
    return {as_uuid(row["pending_id"]): Resolution(as_uuid(row["id"]), row["kind"]) for row in rows}


async def _reversed(connection: Connection, transfer_ids: list[UUID]) -> dict[UUID, int]:
    if not transfer_ids:
        return {}
    condition, params = connection.id_list(transfer_ids, 1)
    rows = await connection.fetch(
        "SELECT transfer_id, reversed_minor FROM ledger_reversal_tally "
        f"WHERE transfer_id {condition}",
        *params,
    )
    return {as_uuid(row["transfer_id"]): row["reversed_minor"] for row in rows}


# Writing ---------------------------------------------------------------------


def _placeholders(rows: int, columns: int) -> str:
    return ", ".join(
        "(" + ", ".join(f"${row * columns + column + 1}" for column in range(columns)) + ")"
        for row in range(rows)
    )


async def _write(connection: Connection, plan: Plan) -> None:
    await _insert_transfers(connection, plan.new_transfers)
    if plan.new_entries:
        values: list[Any] = []
        for entry in plan.new_entries:
            values += [entry.account_id, entry.version, entry.transfer_id, *entry.counters]
            values += [entry.balance_minor, entry.recorded_at, entry.previous_hash, entry.hash]
        await connection.execute(
            f"INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) VALUES "
            + _placeholders(len(plan.new_entries), _ENTRY_COLUMN_COUNT),
            *values,
        )
    await _update_accounts(connection, plan)
    await _upsert_tallies(connection, plan)
    await _insert_failures(connection, plan)


async def _insert_transfers(connection: Connection, transfers: list[Transfer]) -> None:
    if not transfers:
        return
    ids = {transfer.id for transfer in transfers}
    # A row may refer to another row of the same write (a pending posted in
    # the same chain); the reference trigger must see the earlier row, so
    # such writes insert row by row.
    self_referencing = any(
        transfer.pending_id in ids or transfer.reverses_id in ids for transfer in transfers
    )
    batches = [[transfer] for transfer in transfers] if self_referencing else [transfers]
    for batch in batches:
        values = [value for transfer in batch for value in transfer_values(transfer)]
        await connection.execute(
            f"INSERT INTO ledger_transfer ({TRANSFER_COLUMNS}) VALUES "
            + _placeholders(len(batch), _TRANSFER_COLUMN_COUNT),
            *values,
        )


async def _update_accounts(connection: Connection, plan: Plan) -> None:
    rows = [
        (
            account.id,
            account.debits_posted,
            account.credits_posted,
            account.debits_pending,
            account.credits_pending,
            account.version,
            account.head_hash,
            account.updated_at,
            account.floor_minor,
            account.ceiling_minor,
        )
        for account in sorted(plan.changed_accounts.values(), key=lambda state: state.id)
    ]
    await connection.execute_many(
        "UPDATE ledger_account SET debits_posted = $2, credits_posted = $3, "
        "debits_pending = $4, credits_pending = $5, version = $6, head_hash = $7, "
        "updated_at = $8, floor_minor = $9, ceiling_minor = $10 WHERE id = $1",
        rows,
    )


async def _upsert_tallies(connection: Connection, plan: Plan) -> None:
    rows = [
        (transfer_id, original, added) for transfer_id, (original, added) in plan.tallies.items()
    ]
    await connection.execute_many(
        "INSERT INTO ledger_reversal_tally (transfer_id, original_minor, reversed_minor) "
        "VALUES ($1, $2, $3) ON CONFLICT (transfer_id) DO UPDATE "
        "SET reversed_minor = ledger_reversal_tally.reversed_minor + excluded.reversed_minor",
        rows,
    )


async def _insert_failures(connection: Connection, plan: Plan) -> None:
    rows = [
        (
            transfer_id,
            json.dumps(request, sort_keys=True),
            error.code,
            json.dumps(error.data, sort_keys=True),
            plan.now,
        )
        for transfer_id, request, error in plan.failures
    ]
    await connection.execute_many(
        "INSERT INTO ledger_failure (transfer_id, request_json, error_code, error_json, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (transfer_id) DO NOTHING",
        rows,
    )

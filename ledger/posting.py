"""Writing transfers: load and lock what a write needs, plan it, write it back.

One write = one database transaction holding any number of groups (a single
operation, or a chain). Round trips are fixed per write, not per transfer:
read referenced transfers, lock every account in one statement (sorted by
id, so two writers never wait on each other in a cycle), read idempotency
and resolution state, then one INSERT per table and one batched UPDATE.
On PostgreSQL the lock and the idempotency read are one call, and the INSERTs,
the UPDATE and a caller's joined step are one statement (ADR 0068). A group-committed
batch of plain transfers on PostgreSQL is written by one call instead
(ledger/plain_batch.py, ADR 0070); this module's planner answers everything it declines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from ledger import errors
from ledger.account_changes import append_changes
from ledger.model import (
    AccountChangeKind,
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
    AccountState,
    account_state,
    transfer_from_row,
    transfer_values,
)
from ledger.sql import Connection, Row, as_uuid

Group = tuple[tuple[Operation, ...], UUID | None]
# A caller's own writes for a group that wrote new transfers, in the same transaction.
OwnAfter = Callable[[Connection, Sequence[Transfer]], Awaitable[None]]
# (`item`, the group's new transfers) for every group of one write that shares a step.
SharedItems = list[tuple[Any, Sequence[Transfer]]]
# Writes the items of every group of one write that shares it, with their new transfers.
WriteShared = Callable[[Connection, SharedItems], Awaitable[None]]
# Checks what a joined step's statement returned; raising fails the whole write.
CheckJoined = Callable[[list[Row]], None]


@dataclass(frozen=True, slots=True)
class JoinedStatement:
    """A shared step's rows written by the ledger's own write statement (ADR 0068).

    `sql` is one data-modifying statement with RETURNING, its parameters numbered from
    $1 and no `$` anywhere else in it. On PostgreSQL the ledger sends it as the last
    part of the statement that writes the transfers, so the step costs no round trip
    of its own while the write turn is held. `prepare(items)` gives its parameters and
    the check to run on the rows it returned.

    `strict_sql`, if given, writes the same rows with the same parameters but fails
    rather than leave any out (no ON CONFLICT): the check then has nothing to refuse,
    so a batch of plain transfers may be sent as a statement of its own, committed as
    it returns (ADR 0072). When that statement fails the batch goes to the planner's
    transaction, where `sql` and the check judge each writer as before.
    """

    sql: str
    prepare: Callable[[SharedItems], tuple[Sequence[Any], CheckJoined]]
    strict_sql: str | None = None


@dataclass(frozen=True, slots=True)
class SharedAfter:
    """An after-step that shares one statement with the others of its kind (ADR 0056).

    Every group of one write whose step has the same `write_all` is handed to it
    at once, as (`item`, the group's new transfers) pairs: a group-committed batch
    of keyed gifts stores all its replies in one INSERT, not one each. `write_all`
    that raises fails the whole write, as any after-step does (ledger/group_commit.py
    then splits the batch until the cause is alone). With `joined`, a write on
    PostgreSQL that has new transfers writes those rows in its own statement instead
    (ADR 0068); `write_all` is used otherwise.
    """

    write_all: WriteShared
    item: Any
    joined: JoinedStatement | None = None


AfterWrite = OwnAfter | SharedAfter

# The advisory lock key of the write turn: "timebank" in ASCII, read as a 64-bit number.
WRITE_TURN_LOCK_KEY = int.from_bytes(b"timebank", "big")
_TRANSFER_COLUMN_COUNT = len(TRANSFER_COLUMNS.split(","))
_ENTRY_COLUMNS = (
    "account_id, version, transfer_id, debits_posted, credits_posted, debits_pending, "
    "credits_pending, balance_minor, recorded_at, previous_hash, hash"
)
_ENTRY_COLUMN_COUNT = len(_ENTRY_COLUMNS.split(","))
_NUMBERED_PARAMETER = re.compile(r"\$(\d+)")
_ACCOUNT_UPDATE_COLUMN_COUNT = 10


def groups_of(items: Sequence[Operation | Chain]) -> list[Group]:
    return [
        (item.operations, item.chain_id) if isinstance(item, Chain) else ((item,), None)
        for item in items
    ]


async def write_groups(
    connection: Connection,
    groups: list[Group],
    now: datetime,
    afters: Sequence[AfterWrite | None] = (),
) -> list[Outcome]:
    """Plan and write every group inside the caller's transaction.

    `afters[i]`, when given, runs after the writes for group i if that group
    wrote new transfers (not refused, not a replay), on the same connection.
    """
    known = await _load(connection, groups)
    existing_tallies = frozenset(known.reversed_minor)  # planning adds to this dict
    # Entries of one account must never go back in time.
    latest = max((account.updated_at for account in known.accounts.values()), default=now)
    plan = Plan(known=known, now=max(now, latest), requested_at=now)
    outcomes = [plan.apply_group(operations, chain_id) for operations, chain_id in groups]
    own, shared = _afters_to_run(outcomes, afters)
    joined = _joined_step(connection, plan, shared)
    await _write(connection, plan, existing_tallies, joined)
    for after, transfers in own:
        await after(connection, transfers)
    for step, items in shared.items():
        await step.write_all(connection, items)
    return outcomes


async def take_write_turn(connection: Connection) -> None:
    """On PostgreSQL, wait until no other group-committed write of any process is in flight.

    A transaction-level advisory lock, taken before any row lock and held to COMMIT
    (ADR 0060): batches of one process and another then never wait on each other's
    account locks part-way, and each takes every writer queued while it waited. SQLite
    writes one at a time already (BEGIN IMMEDIATE).
    """
    if connection.is_postgres:
        await connection.execute("SELECT pg_advisory_xact_lock($1)", WRITE_TURN_LOCK_KEY)


@dataclass(frozen=True, slots=True)
class _SharedKind:
    write_all: WriteShared
    joined: JoinedStatement | None


@dataclass(frozen=True, slots=True)
class _Joined:
    statement: JoinedStatement
    parameters: Sequence[Any]
    check: CheckJoined


def _afters_to_run(
    outcomes: list[Outcome], afters: Sequence[AfterWrite | None]
) -> tuple[list[tuple[OwnAfter, Sequence[Transfer]]], dict[_SharedKind, SharedItems]]:
    """Each new group's own step, in group order, and the items of each kind of shared step."""
    own: list[tuple[OwnAfter, Sequence[Transfer]]] = []
    shared: dict[_SharedKind, SharedItems] = {}
    for outcome, after in zip(outcomes, afters, strict=False):
        if after is None or outcome.error is not None or outcome.replayed:
            continue
        if isinstance(after, SharedAfter):
            kind = _SharedKind(after.write_all, after.joined)
            shared.setdefault(kind, []).append((after.item, outcome.transfers))
        else:
            own.append((after, outcome.transfers))
    return own, shared


def _joined_step(
    connection: Connection, plan: Plan, shared: dict[_SharedKind, SharedItems]
) -> _Joined | None:
    """The one shared step the write statement takes in (removed from `shared`), if any.

    Only on PostgreSQL, and only when the write has new transfers (else there is no
    write statement to join). One kind at most: the others keep their own statements.
    """
    if not connection.is_postgres or not plan.new_transfers:
        return None
    for kind, items in shared.items():
        if kind.joined is not None:
            del shared[kind]
            parameters, check = kind.joined.prepare(items)
            return _Joined(kind.joined, parameters, check)
    return None


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
    # Own ids too: a stored transfer may be referred to by one request while another
    # request of the same write re-uses its id; its accounts must be locked all the same.
    referenced = {ref for op in operations if (ref := _references(op))}
    # Transfers are immutable: reading them before the locks is safe.
    transfers = await _transfers_by_id(connection, sorted(referenced))
    account_ids: set[UUID] = set()
    for operation in operations:
        if isinstance(operation, NewTransfer | NewPending):
            account_ids.update((operation.debit_account_id, operation.credit_account_id))
        ref = _references(operation)
        if ref in transfers:
            account_ids.update((transfers[ref].debit_account_id, transfers[ref].credit_account_id))
    # Read under the locks, so no other writer can change them.
    accounts, own_transfers, failures = await _lock_and_read_attempts(
        connection, sorted(account_ids), sorted(own_ids)
    )
    transfers.update(own_transfers)
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
        failures=failures,
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


async def _lock_and_read_attempts(
    connection: Connection, account_ids: list[UUID], own_ids: list[UUID]
) -> tuple[dict[UUID, AccountState], dict[UUID, Transfer], Failures]:
    """Lock the accounts, then read the earlier attempts at the own ids under the locks.

    PostgreSQL: one call of `ledger_lock_for_write` (ADR 0068), whose two statements
    take a snapshot each, as two statements of their own would, in one round trip.
    """
    if not connection.is_postgres:
        locked = await _sqlite_accounts(connection, account_ids)
        return (locked, *await _earlier_attempts(connection, own_ids))
    accounts: dict[UUID, AccountState] = {}
    transfers: dict[UUID, Transfer] = {}
    failures: Failures = {}
    rows = await connection.fetch(
        "SELECT account, transfer, failure FROM ledger_lock_for_write($1, $2)",
        account_ids,
        own_ids,
    )
    for row in rows:
        if row["account"] is not None:
            state = account_state(row["account"])
            accounts[state.id] = state
            continue
        if row["transfer"] is not None:
            transfer = transfer_from_row(row["transfer"])
            transfers[transfer.id] = transfer
        else:
            failure = row["failure"]
            failures[as_uuid(failure["transfer_id"])] = _failure(failure)
    return accounts, transfers, failures


async def _sqlite_accounts(connection: Connection, ids: list[UUID]) -> dict[UUID, AccountState]:
    """The accounts, on SQLite: the writer already holds the database's write lock (BEGIN
    IMMEDIATE), so no row lock is asked (PostgreSQL: `ledger_lock_for_write`)."""
    if not ids:
        return {}
    condition, params = connection.id_list(ids, 1)
    rows = await connection.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id {condition} ORDER BY id",
        *params,
    )
    return {state.id: state for state in map(account_state, rows)}


Failures = dict[UUID, tuple[dict[str, Any], errors.LedgerError]]


async def _earlier_attempts(
    connection: Connection, ids: list[UUID]
) -> tuple[dict[UUID, Transfer], Failures]:
    """Transfers and recorded failures already bound to these ids (SQLite: two reads)."""
    return await _transfers_by_id(connection, ids), await _failures(connection, ids)


def _failure(row: Any) -> tuple[dict[str, Any], errors.LedgerError]:
    return (
        json.loads(row["request_json"]),
        errors.error_from_record(row["error_code"], json.loads(row["error_json"])),
    )


async def _failures(connection: Connection, ids: list[UUID]) -> Failures:
    if not ids:
        return {}
    condition, params = connection.id_list(ids, 1)
    rows = await connection.fetch(
        "SELECT transfer_id, request_json, error_code, error_json FROM ledger_failure "
        f"WHERE transfer_id {condition}",
        *params,
    )
    return {as_uuid(row["transfer_id"]): _failure(row) for row in rows}


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


def _entry_values(plan: Plan) -> list[list[Any]]:
    return [
        [
            entry.account_id,
            entry.version,
            entry.transfer_id,
            *entry.counters,
            entry.balance_minor,
            entry.recorded_at,
            entry.previous_hash,
            entry.hash,
        ]
        for entry in plan.new_entries
    ]


def _account_values(plan: Plan) -> list[list[Any]]:
    return [
        [
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
        ]
        for account in sorted(plan.changed_accounts.values(), key=lambda state: state.id)
    ]


async def _write(
    connection: Connection,
    plan: Plan,
    existing_tallies: frozenset[UUID],
    joined: _Joined | None = None,
) -> None:
    if plan.new_transfers:
        # Rows are written in plan order, so a pending transfer precedes its
        # post in the same write and the reference trigger sees it.
        transfers = [transfer_values(transfer) for transfer in plan.new_transfers]
        if connection.is_postgres:
            await _write_postgres(
                connection, transfers, _entry_values(plan), _account_values(plan), joined
            )
        else:
            await _write_sqlite(connection, transfers, _entry_values(plan), _account_values(plan))
    await _add_to_tallies(connection, plan, existing_tallies)
    await _insert_failures(connection, plan)
    await append_changes(connection, _limit_overrides(plan), plan.now)


def _limit_overrides(plan: Plan) -> list[tuple[AccountState, AccountChangeKind, UUID | None]]:
    """Accounts whose floor or ceiling a reversal with override_limits moved."""
    changes: list[tuple[AccountState, AccountChangeKind, UUID | None]] = []
    for account in sorted(plan.changed_accounts.values(), key=lambda state: state.id):
        before = plan.known.accounts[account.id]
        if (account.floor_minor, account.ceiling_minor) == (
            before.floor_minor,
            before.ceiling_minor,
        ):
            continue
        overriding = [
            transfer.id
            for transfer in plan.new_transfers
            if transfer.override_limits
            and account.id in (transfer.debit_account_id, transfer.credit_account_id)
        ]
        changes.append((account, AccountChangeKind.LIMITS_OVERRIDE, overriding[-1]))
    return changes


def _columns(rows: list[list[Any]], width: int) -> list[list[Any]]:
    return [[row[column] for row in rows] for column in range(width)]


# One statement, one round trip, the same text whatever the number of rows (so
# asyncpg prepares it once per connection). Array parameters also avoid the
# 32767-parameter limit of a multi-row VALUES list.
_WRITE_POSTGRES_PARAMETER_COUNT = (
    _TRANSFER_COLUMN_COUNT + _ENTRY_COLUMN_COUNT + _ACCOUNT_UPDATE_COLUMN_COUNT
)
_WRITE_POSTGRES = f"""
WITH new_transfers AS (
    INSERT INTO ledger_transfer ({TRANSFER_COLUMNS})
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[],
        $6::bigint[], $7::uuid[], $8::uuid[], $9::uuid[], $10::timestamptz[], $11::text[],
        $12::text[], $13::text[], $14::boolean[], $15::timestamptz[], $16::timestamptz[])
), new_entries AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS})
    SELECT * FROM unnest($17::uuid[], $18::bigint[], $19::uuid[], $20::bigint[], $21::bigint[],
        $22::bigint[], $23::bigint[], $24::bigint[], $25::timestamptz[], $26::text[], $27::text[])
)
UPDATE ledger_account AS account SET debits_posted = changed.debits_posted,
    credits_posted = changed.credits_posted, debits_pending = changed.debits_pending,
    credits_pending = changed.credits_pending, version = changed.version,
    head_hash = changed.head_hash, updated_at = changed.updated_at,
    floor_minor = changed.floor_minor, ceiling_minor = changed.ceiling_minor
FROM unnest($28::uuid[], $29::bigint[], $30::bigint[], $31::bigint[], $32::bigint[],
    $33::bigint[], $34::text[], $35::timestamptz[], $36::bigint[], $37::bigint[])
    AS changed(id, debits_posted, credits_posted, debits_pending, credits_pending, version,
               head_hash, updated_at, floor_minor, ceiling_minor)
WHERE account.id = changed.id
"""


@lru_cache(maxsize=8)
def _write_postgres_joined(joined_sql: str) -> str:
    """The write statement with a joined step's statement as its last part (ADR 0068).

    The account UPDATE becomes a data-modifying CTE like the two INSERTs (each runs
    to completion whether or not it is read), and the statement returns the joined
    step's rows. The joined statement's parameters follow the write's own.
    """
    joined = renumbered(joined_sql, _WRITE_POSTGRES_PARAMETER_COUNT)
    head, update = _WRITE_POSTGRES.split("\n)\nUPDATE ", 1)
    return (
        f"{head}\n), changed_accounts AS (\nUPDATE {update}), joined AS (\n{joined}\n)\n"
        "SELECT * FROM joined"
    )


def renumbered(joined_sql: str, parameters_before: int) -> str:
    """A joined statement's SQL with its parameters numbered after the write's own."""
    return _NUMBERED_PARAMETER.sub(
        lambda found: f"${int(found.group(1)) + parameters_before}", joined_sql
    )


async def _write_postgres(
    connection: Connection,
    transfers: list[list[Any]],
    entries: list[list[Any]],
    accounts: list[list[Any]],
    joined: _Joined | None,
) -> None:
    parameters = [
        *_columns(transfers, _TRANSFER_COLUMN_COUNT),
        *_columns(entries, _ENTRY_COLUMN_COUNT),
        *_columns(accounts, _ACCOUNT_UPDATE_COLUMN_COUNT),
    ]
    if joined is None:
        await connection.execute(_WRITE_POSTGRES, *parameters)
        return
    sql = _write_postgres_joined(joined.statement.sql)
    joined.check(await connection.fetch(sql, *parameters, *joined.parameters))


async def _write_sqlite(
    connection: Connection,
    transfers: list[list[Any]],
    entries: list[list[Any]],
    accounts: list[list[Any]],
) -> None:
    # SQLite runs in-process: prepared statements executed row by row cost no
    # round trips, and no parameter limit applies.
    transfer_slots = ", ".join(f"${n}" for n in range(1, _TRANSFER_COLUMN_COUNT + 1))
    await connection.execute_many(
        f"INSERT INTO ledger_transfer ({TRANSFER_COLUMNS}) VALUES ({transfer_slots})", transfers
    )
    entry_slots = ", ".join(f"${n}" for n in range(1, _ENTRY_COLUMN_COUNT + 1))
    await connection.execute_many(
        f"INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) VALUES ({entry_slots})", entries
    )
    await connection.execute_many(
        "UPDATE ledger_account SET debits_posted = $2, credits_posted = $3, "
        "debits_pending = $4, credits_pending = $5, version = $6, head_hash = $7, "
        "updated_at = $8, floor_minor = $9, ceiling_minor = $10 WHERE id = $1",
        accounts,
    )


async def _add_to_tallies(connection: Connection, plan: Plan, existing: frozenset[UUID]) -> None:
    """Raise existing tallies, insert new ones.

    Two plain statements, not an upsert: on SQLite the tally's no-replace
    trigger (BEFORE INSERT) fires for an upsert that would end as an update.
    """
    tallies = sorted(plan.tallies.items())
    await connection.execute_many(
        "UPDATE ledger_reversal_tally SET reversed_minor = reversed_minor + $2 "
        "WHERE transfer_id = $1",
        [(transfer_id, added) for transfer_id, (_, added) in tallies if transfer_id in existing],
    )
    await connection.execute_many(
        "INSERT INTO ledger_reversal_tally (transfer_id, original_minor, reversed_minor) "
        "VALUES ($1, $2, $3)",
        [
            (transfer_id, original, added)
            for transfer_id, (original, added) in tallies
            if transfer_id not in existing
        ],
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

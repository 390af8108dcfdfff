"""A group-committed batch of plain transfers written by PostgreSQL in one call (ADR 0070).

While a batch holds the write turn (ADR 0060) the other process waits, so what the hold
costs bounds the gifts a second. The planner's path sends the account lock, plans in
Python and sends the write (ADR 0068); for a batch of plain transfers only (one
`NewTransfer` a group, no chain, as every gift is) `ledger_post_plain_batch` does all
three in one statement: PostgreSQL locks, checks every rule, hashes and writes.

Nothing about the outcome is left to guess. Python knows each transfer's row before the
call (a plain transfer's fields are the request's, its instants the write's), so it
hands over the hash's transfer part and renders a joined step's rows (ADR 0068) up
front. When PostgreSQL finds anything the planner would answer differently (an id seen
before, a missing, closed or other-unit account, a floor or ceiling, an account whose
last entry is later than this write), it writes nothing and raises `TB001`:
`PlainBatchDeclined`, after which the caller rolls back and plans the batch in Python.

A group-committed batch is sent as a statement of its own (ADR 0072): outside any
transaction, with the write turn taken in the same statement, so one round trip waits
for the turn, writes and commits. Its instant is then taken before it waits, and a
batch another process wrote first with a later instant makes it decline as
`PlainBatchNewer`, which a new instant may cure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from ledger.hashing import transfer_hash_tail
from ledger.limits import PLAIN_BATCH_ITEMS_MAX
from ledger.model import NewTransfer, Transfer, TransferKind
from ledger.planning import Outcome
from ledger.posting import (
    WRITE_TURN_LOCK_KEY,
    AfterWrite,
    Group,
    JoinedStatement,
    SharedAfter,
    SharedItems,
    renumbered,
)
from ledger.sql import Connection

# The SQLSTATE `ledger_post_plain_batch` raises when it declines (migration
# ledger_2026_12_07t13_00_00): not a PostgreSQL class, so nothing else raises it.
DECLINED_SQLSTATE = "TB001"

# The call, its parameters in `_parameters` order (tests read its plans with these too).
PLAIN_BATCH_CALL = (
    "SELECT ledger_post_plain_batch($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], "
    "$5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[], "
    "$11::timestamptz)"
)
_CALL_PARAMETER_COUNT = 11
# The call with the write turn (ADR 0060) taken first in the same statement (ADR 0072):
# a materialised CTE is evaluated before the row the call is made for is read.
PLAIN_BATCH_CALL_IN_TURN = (
    f"WITH turn AS MATERIALIZED (SELECT pg_advisory_xact_lock({WRITE_TURN_LOCK_KEY})) "
    f"{PLAIN_BATCH_CALL} FROM turn"
)
# The reason the function gives when an account's last entry is later than the write's
# instant (migration ledger_2026_12_07t13_00_00).
_NEWER_ACCOUNT_REASON = "an account is newer"


class PlainBatchDeclined(Exception):  # noqa: N818 - an outcome, not a failure
    """PostgreSQL wrote nothing of a plain batch; roll back and plan it in Python."""


class PlainBatchNewer(PlainBatchDeclined):
    """Declined only because an account's last entry is later than the batch's instant."""


async def write_plain_batch(
    connection: Connection,
    groups: list[Group],
    now: datetime,
    afters: Sequence[AfterWrite | None] = (),
    *,
    alone: bool = False,
) -> list[Outcome] | None:
    """Write a batch of plain transfers in one call on PostgreSQL, or None when it is not one.

    `alone`: `connection` is outside any transaction and the statement takes the write
    turn itself, so it commits as it returns (ADR 0072); a joined step must then have
    its strict statement, or None is returned. Raises `PlainBatchDeclined` when
    PostgreSQL would not write the batch as planned (a transaction then holds nothing of
    it, and must be rolled back; a statement alone wrote nothing).
    """
    if not connection.is_postgres:
        return None
    operations = _plain_operations(groups)
    carried, joined = _one_joined_step(afters)
    if operations is None or not carried:
        return None
    joined_sql = None if joined is None else joined.strict_sql if alone else joined.sql
    if joined is not None and joined_sql is None:
        return None
    transfers = [_transfer(operation, now) for operation in operations]
    parameters = _parameters(transfers, operations, now)
    call = PLAIN_BATCH_CALL_IN_TURN if alone else PLAIN_BATCH_CALL
    try:
        if joined is None or joined_sql is None:
            await connection.execute(call, *parameters)
        else:
            items: SharedItems = [
                (after.item, [transfer])
                for after, transfer in zip(afters, transfers, strict=False)
                if isinstance(after, SharedAfter)
            ]
            joined_parameters, check = joined.prepare(items)
            rows = await connection.fetch(
                _joined(joined_sql, call), *parameters, *joined_parameters
            )
            check(rows)
    except Exception as error:
        if getattr(error, "sqlstate", None) == DECLINED_SQLSTATE:
            if _NEWER_ACCOUNT_REASON in str(error):
                raise PlainBatchNewer(str(error)) from error
            raise PlainBatchDeclined(str(error)) from error
        raise
    return [Outcome(transfers=[transfer]) for transfer in transfers]


def _plain_operations(groups: list[Group]) -> list[NewTransfer] | None:
    """The batch's operations if every group is one plain transfer, each id once."""
    if len(groups) > PLAIN_BATCH_ITEMS_MAX:
        return None
    operations: list[NewTransfer] = []
    for group, chain_id in groups:
        if chain_id is not None or len(group) != 1 or type(group[0]) is not NewTransfer:
            return None
        operations.append(group[0])
    if len({operation.id for operation in operations}) != len(operations):
        return None
    return operations


def _one_joined_step(afters: Sequence[AfterWrite | None]) -> tuple[bool, JoinedStatement | None]:
    """(whether the write statement can carry every after-step, the joined one if any).

    A step it cannot carry (a caller's own, a shared one with no joined statement, or
    two kinds) leaves the batch to the planner's path.
    """
    kinds = {
        (after.write_all, after.joined) if isinstance(after, SharedAfter) else None
        for after in afters
        if after is not None
    }
    if not kinds:
        return True, None
    if len(kinds) > 1 or None in kinds:
        return False, None
    ((_write_all, joined),) = kinds  # type: ignore[misc]
    return joined is not None, joined


def _transfer(operation: NewTransfer, now: datetime) -> Transfer:
    """The row the planner writes for a plain transfer at `now` (ledger/planning.py)."""
    return Transfer(
        id=operation.id,
        kind=TransferKind.SINGLE,
        unit=operation.unit,
        debit_account_id=operation.debit_account_id,
        credit_account_id=operation.credit_account_id,
        amount_minor=operation.amount_minor,
        pending_id=None,
        reverses_id=None,
        chain_id=None,
        expires_at=None,
        code=operation.code,
        memo=operation.memo,
        actor=operation.actor,
        override_limits=False,
        effective_at=operation.effective_at or now,
        recorded_at=now,
    )


def _parameters(
    transfers: list[Transfer], operations: list[NewTransfer], now: datetime
) -> list[Any]:
    return [
        [transfer.id for transfer in transfers],
        [transfer.debit_account_id for transfer in transfers],
        [transfer.credit_account_id for transfer in transfers],
        [transfer.amount_minor for transfer in transfers],
        [transfer.unit.value for transfer in transfers],
        [transfer.code for transfer in transfers],
        [transfer.memo for transfer in transfers],
        [transfer.actor for transfer in transfers],
        [operation.effective_at for operation in operations],
        [transfer_hash_tail(transfer) for transfer in transfers],
        now,
    ]


@lru_cache(maxsize=8)
def _joined(joined_sql: str, call: str) -> str:
    """The call, with a joined step's statement run in the same statement (ADR 0068).

    The call is an uncorrelated subquery in a condition with no column in it, which
    PostgreSQL evaluates once, before the first row is asked of the joined statement:
    it runs even when the joined statement returns nothing, and a decline stops the
    statement before the joined rows are written.
    """
    return (
        f"WITH joined AS (\n{renumbered(joined_sql, _CALL_PARAMETER_COUNT)}\n)\n"
        f"SELECT * FROM joined WHERE ({call}) IS NOT NULL"
    )

"""Group-committed writes take turns across processes (ADRs 0060, 0072).

On PostgreSQL a batch of plain transfers is one statement of its own that waits for the
write turn (a transaction-level advisory lock) inside PostgreSQL, writes and commits as
it returns; writers that queue meanwhile leave in the process's next statement. Its
instant is taken before it waits, so a batch another process wrote first, later, makes
it decline; it is sent again with a new instant. Here an outside session holds the turn,
as another worker's batch would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ledger import Ledger, Transfer, Unit
from ledger.posting import WRITE_TURN_LOCK_KEY
from tests.conftest import TestDatabase
from tests.ledger.conftest import Funded, new_id, open_hours
from tests.ledger.raw_database import raw_database
from tests.support.locks import until_waiting_on_locks
from tests.support.statements import recorded_statements

LATER_WRITERS = 9


def _gift(ledger: Ledger, funded: Funded, transfer_id: object) -> asyncio.Task[Transfer]:
    return asyncio.create_task(
        ledger.transfer(
            id=transfer_id,
            debit_account_id=funded.alice,
            credit_account_id=funded.bob,
            amount_minor=1,
            unit=Unit.HOUR,
            code="gift",
            actor="member:alice",
        )
    )


async def _transactions_of(db: TestDatabase, ids: list[object]) -> list[set[str]]:
    """The ids' transactions (by xmin), each as the set of its transfers' ids, in order."""
    async with raw_database(db) as raw:
        rows = await raw.fetch(
            "SELECT id::text, xmin::text AS xmin FROM ledger_transfer WHERE id = ANY($1::uuid[])",
            ids,
        )
    by_transaction: dict[str, set[str]] = {}
    for row in rows:
        by_transaction.setdefault(row["xmin"], set()).add(row["id"])
    return sorted(by_transaction.values(), key=len)


@pytest.mark.postgres_only
async def test_a_batch_waits_for_the_turn_inside_its_statement(
    ledger: Ledger, funded: Funded, db: TestDatabase
) -> None:
    ids = [new_id() for _ in range(LATER_WRITERS + 1)]
    holder = await asyncpg.connect(db.url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", WRITE_TURN_LOCK_KEY)
        first = _gift(ledger, funded, ids[0])
        await until_waiting_on_locks(holder, 1)  # the first batch's statement waits
        later = [_gift(ledger, funded, transfer_id) for transfer_id in ids[1:]]
        await holder.execute("SELECT pg_advisory_unlock($1)", WRITE_TURN_LOCK_KEY)
        await asyncio.gather(first, *later)
    finally:
        await holder.close()
    transactions = await _transactions_of(db, ids)
    # The first alone; the nine that queued while it waited, together in the next.
    assert transactions == [{str(ids[0])}, {str(i) for i in ids[1:]}]


class _TickingClock:
    """A clock that moves on by a millisecond each time it is read."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.mark.postgres_only
async def test_a_batch_written_first_by_another_process_later_is_sent_again(
    db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's batch takes the turn first with a later instant: the call
    declines ("an account is newer") and the batch is sent again with a new instant,
    still as one statement, not planned in Python."""
    clock = _TickingClock()
    ledger = Ledger(db.engine, clock=clock)
    giver = await open_hours(ledger, "issuance", floor_minor=None)
    receiver = await open_hours(ledger, "member:bob")
    holder = await asyncpg.connect(db.url)
    log = recorded_statements(monkeypatch)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", WRITE_TURN_LOCK_KEY)
        gift = asyncio.create_task(
            ledger.transfer(
                id=new_id(),
                debit_account_id=giver.id,
                credit_account_id=receiver.id,
                amount_minor=30,
                unit=Unit.HOUR,
                code="gift",
                actor="member:alice",
            )
        )
        await until_waiting_on_locks(holder, 1)
        # What another process's batch would leave: the account written after the
        # instant this batch took (the clock has not been read since).
        written_later = clock.now + timedelta(microseconds=500)
        await holder.execute(
            "UPDATE ledger_account SET updated_at = $1 WHERE id = $2", written_later, receiver.id
        )
        await holder.execute("SELECT pg_advisory_unlock($1)", WRITE_TURN_LOCK_KEY)
        transfer = await gift
    finally:
        await holder.close()
    calls = [statement for statement in log if "ledger_post_plain_batch" in statement]
    assert len(calls) == 2, log
    assert not any("ledger_lock_for_write" in statement for statement in log)
    assert transfer.recorded_at > written_later
    assert (await ledger.balance(account_id=receiver.id)).balance_minor == 30
    assert (await ledger.verify()).ok

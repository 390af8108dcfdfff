"""Group-committed writes take turns across processes, each taking its queue then (ADR 0060).

On PostgreSQL a flusher waits for the write turn (a transaction-level advisory lock)
before it takes its batch, so every writer that queued while another process's batch
held the turn leaves in one transaction with it. Here an outside session holds the
turn, as another worker's batch would.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ledger import Ledger, Unit
from ledger.posting import WRITE_TURN_LOCK_KEY
from tests.conftest import TestDatabase
from tests.ledger.conftest import Funded, new_id
from tests.ledger.raw_database import raw_database
from tests.support.locks import until_waiting_on_locks

LATER_WRITERS = 9


@pytest.mark.postgres_only
async def test_writers_queued_behind_the_turn_leave_in_one_transaction(
    ledger: Ledger, funded: Funded, db: TestDatabase
) -> None:
    ids = [new_id() for _ in range(LATER_WRITERS + 1)]

    def gift(transfer_id: object) -> asyncio.Task[object]:
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

    holder = await asyncpg.connect(db.url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", WRITE_TURN_LOCK_KEY)
        first = gift(ids[0])
        await until_waiting_on_locks(holder, 1)  # the first write waits for the turn
        later = [gift(transfer_id) for transfer_id in ids[1:]]
        await holder.execute("SELECT pg_advisory_unlock($1)", WRITE_TURN_LOCK_KEY)
        await asyncio.gather(first, *later)
    finally:
        await holder.close()
    async with raw_database(db) as raw:
        transactions = await raw.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM ledger_transfer WHERE id = ANY($1::uuid[])",
            ids,
        )
    assert transactions == 1

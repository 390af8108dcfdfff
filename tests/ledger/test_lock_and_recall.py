"""A write that waited for another writer's locks recalls what that writer recorded.

The ledger locks a write's accounts, then reads the transfers and failures already
bound to its ids in a second statement (ledger/posting.py `_load`). On PostgreSQL at
READ COMMITTED that read must take its snapshot after the locks: one statement doing
both would read from a snapshot taken before the wait, plan the id afresh, and write
a transfer for an id whose failure the writer it waited for had just recorded.
(SQLite's one writer holds the whole database: no second writer can be in between.)
"""

from __future__ import annotations

import asyncio
import contextvars

import asyncpg
import pytest

from ledger import Ledger, Unit, write_transaction
from ledger.errors import LedgerError
from tests.conftest import TestDatabase
from tests.ledger.conftest import FUNDED_MINUTES, Funded, new_id
from tests.ledger.raw_database import raw_database
from tests.support.locks import until_waiting_on_locks

TOP_UP_MINUTES = 10  # what the holder adds to alice, so a fresh plan would now succeed


@pytest.mark.postgres_only
async def test_a_waiting_write_recalls_the_failure_its_holder_recorded(
    ledger: Ledger, funded: Funded, db: TestDatabase
) -> None:
    too_much = {
        "id": new_id(),
        "debit_account_id": funded.alice,
        "credit_account_id": funded.bob,
        "amount_minor": FUNDED_MINUTES + 1,
        "unit": Unit.HOUR,
        "code": "gift",
        "actor": "member:alice",
    }
    observer = await asyncpg.connect(db.url)
    try:
        async with write_transaction(db.engine):
            # Refused, and recorded, in the holder's transaction: alice and bob stay locked.
            with pytest.raises(LedgerError) as refused:
                await ledger.transfer(**too_much)
            await ledger.transfer(
                id=new_id(),
                debit_account_id=funded.issuance,
                credit_account_id=funded.alice,
                amount_minor=TOP_UP_MINUTES,
                unit=Unit.HOUR,
                code="welcome",
                actor="system",
            )
            # The same request again, in a transaction of its own (a fresh context, so it
            # does not join the holder's): it waits on alice's and bob's rows.
            again = asyncio.create_task(ledger.transfer(**too_much), context=contextvars.Context())
            await until_waiting_on_locks(observer, 1)
        with pytest.raises(LedgerError) as replayed:
            await again
    finally:
        await observer.close()
    assert type(replayed.value) is type(refused.value)
    assert replayed.value.data == refused.value.data
    async with raw_database(db) as raw:
        written = await raw.fetch("SELECT id FROM ledger_transfer WHERE id = $1", too_much["id"])
    assert written == []

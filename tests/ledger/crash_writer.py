"""A writer process for test_crash.py: writes ledger batches until it is killed.

Run as `python -m tests.ledger.crash_writer URL MODE HOLD_AT ISSUANCE A B C`
from the project root. Batch n is one `Ledger.batch()` call (one database
transaction) of `CHAINS_PER_BATCH` three-leg chains and `SINGLES_PER_BATCH`
single transfers, every transfer with the memo `batch n` and an id derived
from (n, position), so the parent can check each batch is whole or absent.

MODE `loop`: after each committed batch print `committed n` and go on.
MODE `hold`: like `loop`, but batch HOLD_AT is written inside a transaction
the writer opened itself, which it never commits: it prints `uncommitted n`
and blocks reading stdin until the parent kills it.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from uuid import UUID

from ledger import Chain, Ledger, NewTransfer, Unit, write_transaction
from ledger.model import BatchItem
from service import database

CRASH_NAMESPACE = uuid.UUID("0f5b7a2e-3c1d-4e8f-9a6b-5d4c3b2a1908")
CHAINS_PER_BATCH = 8
SINGLES_PER_BATCH = 40
TRANSFERS_PER_BATCH = CHAINS_PER_BATCH * 3 + SINGLES_PER_BATCH


def memo_of(batch: int) -> str:
    return f"batch {batch}"


def batch_items(batch: int, issuance: UUID, members: list[UUID]) -> list[BatchItem]:
    """The items of batch `batch`, the same in the writer and in the test."""
    ids = (uuid.uuid5(CRASH_NAMESPACE, f"{batch}:{position}") for position in itertools.count())

    def transfer(debit: UUID, credit: UUID, amount: int) -> NewTransfer:
        return NewTransfer(
            id=next(ids),
            debit_account_id=debit,
            credit_account_id=credit,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="system:crash-test",
            memo=memo_of(batch),
        )

    a, b, c = members
    items: list[BatchItem] = [
        # Funds enter at a and travel on within the same chain: b and c can
        # only pay on because the earlier legs of their own chain committed.
        Chain((transfer(issuance, a, 3), transfer(a, b, 2), transfer(b, c, 1)))
        for _ in range(CHAINS_PER_BATCH)
    ]
    items += [
        transfer(issuance, members[position % 3], 1 + position % 5)
        for position in range(SINGLES_PER_BATCH)
    ]
    return items


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(arguments: list[str]) -> None:
    url, mode, hold_at_text, issuance_text, *member_texts = arguments
    hold_at = int(hold_at_text)
    issuance = UUID(issuance_text)
    members = [UUID(text) for text in member_texts]
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    ledger = Ledger(engine, group_commit=False)
    for batch in itertools.count():
        items = batch_items(batch, issuance, members)
        if mode == "hold" and batch == hold_at:
            async with write_transaction(engine):
                results = await ledger.batch(items=items)
                if not all(result.ok for result in results):
                    raise SystemExit(f"batch {batch} refused: {results}")
                _say(f"uncommitted {batch}")
                sys.stdin.readline()  # the parent kills us while we wait here
            raise SystemExit("the parent was meant to kill this writer")
        results = await ledger.batch(items=items)
        if not all(result.ok for result in results):
            raise SystemExit(f"batch {batch} refused: {results}")
        _say(f"committed {batch}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

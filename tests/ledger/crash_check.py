"""A writer killed with SIGKILL leaves whole batches or nothing (ledger.md guarantee 8).

A separate Python process (tests/ledger/crash_writer.py) writes batches of
chained and single transfers, one database transaction per batch, and prints a
line after each commit. The test reads those lines (no timers) and kills the
writer:
- `loop`: right after it reports a number of committed batches, while it is
  busy writing the next ones, at whatever point it happens to be;
- `hold`: while it holds a transaction with a whole batch written but not
  committed (it says so, then blocks), so the kill lands mid-transaction
  every time.
Afterwards every batch is either all there or not there at all, every batch
reported committed is there, verify() is clean, and the ledger takes new
writes on the same accounts (the dead writer's locks are gone).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path
from uuid import UUID

from ledger import Ledger, NewTransfer
from ledger.model import BatchItem, Chain
from ledger.transactions import read_connection
from tests.conftest import TestDatabase
from tests.ledger.conftest import new_id, open_hours
from tests.ledger.crash_writer import TRANSFERS_PER_BATCH, batch_items, memo_of

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMITTED_BEFORE_KILL = 3
LINE_TIMEOUT_SECONDS = 60  # only a guard against a writer that hangs; never a sync point


async def _read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    raw = await asyncio.wait_for(process.stdout.readline(), LINE_TIMEOUT_SECONDS)
    if not raw:
        _, stderr = await process.communicate()
        raise AssertionError(f"the writer exited early: {stderr.decode()[-2000:]}")
    return raw.decode().strip()


def _operations(items: list[BatchItem]) -> list[NewTransfer]:
    operations: list[NewTransfer] = []
    for item in items:
        for operation in item.operations if isinstance(item, Chain) else (item,):
            assert isinstance(operation, NewTransfer)
            operations.append(operation)
    return operations


async def _batches_present(db: TestDatabase) -> Counter[str]:
    async with read_connection(db.engine) as connection:
        rows = await connection.fetch(
            "SELECT memo, count(*) AS n FROM ledger_transfer WHERE memo LIKE 'batch %' "
            "GROUP BY memo"
        )
    return Counter({row["memo"]: int(row["n"]) for row in rows})


async def killed_writer_leaves_whole_batches_or_nothing(
    db: TestDatabase, ledger: Ledger, mode: str
) -> None:
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    members = [(await open_hours(ledger, f"member:{name}")).id for name in "abc"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ledger.crash_writer",
        db.url,
        mode,
        str(COMMITTED_BEFORE_KILL),
        str(issuance.id),
        *(str(member) for member in members),
        cwd=PROJECT_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for batch in range(COMMITTED_BEFORE_KILL):
            assert await _read_line(process) == f"committed {batch}"
        if mode == "hold":
            assert await _read_line(process) == f"uncommitted {COMMITTED_BEFORE_KILL}"
    finally:
        process.send_signal(signal.SIGKILL)
        stdout, _ = await process.communicate()
    assert process.returncode == -signal.SIGKILL
    reported = COMMITTED_BEFORE_KILL + sum(
        line.startswith("committed") for line in stdout.decode().splitlines()
    )

    present = await _batches_present(db)
    # Whole or absent: each batch present has every one of its transfers...
    assert set(present.values()) == {TRANSFERS_PER_BATCH}, present
    # ...and the batches present are exactly the first few, every one the
    # writer reported committed among them (one more may have committed
    # before it could say so).
    committed = len(present)
    assert set(present) == {memo_of(batch) for batch in range(committed)}
    assert committed in (reported, reported + 1), (committed, reported)
    if mode == "hold":
        assert committed == COMMITTED_BEFORE_KILL, "the uncommitted batch must have vanished"

    # Balances are exactly those of the committed batches.
    expected: Counter[UUID] = Counter()
    for batch in range(committed):
        for operation in _operations(batch_items(batch, issuance.id, members)):
            expected[operation.debit_account_id] -= operation.amount_minor
            expected[operation.credit_account_id] += operation.amount_minor
    for account_id in (issuance.id, *members):
        assert (await ledger.balance(account_id=account_id)).balance_minor == expected[account_id]
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.transfers_checked == committed * TRANSFERS_PER_BATCH
    assert report.entries_checked == 2 * report.transfers_checked

    # The dead writer holds nothing: the next batch (the one it was writing,
    # with the same ids) goes in whole, as new transfers, and so do others.
    results = await ledger.batch(items=batch_items(committed, issuance.id, members))
    assert all(result.ok for result in results), results
    await ledger.transfer(
        id=new_id(),
        debit_account_id=members[0],
        credit_account_id=members[1],
        amount_minor=1,
        unit=issuance.unit,
        code="exchange",
        actor="member:a",
    )
    assert (await _batches_present(db))[memo_of(committed)] == TRANSFERS_PER_BATCH
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.transfers_checked == (committed + 1) * TRANSFERS_PER_BATCH + 1

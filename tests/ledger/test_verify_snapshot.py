"""verify() reads one snapshot (issue 13 item 5): live writes raise no false alarm.

Before, verify read account rows and entries in separate statements at READ
COMMITTED (or separate SQLite autocommit reads): a transfer committed in
between made a row disagree with its entries, and verify reported
`account_counters` on a healthy ledger. Here verify runs again and again while
writers move hours among a few accounts, and every report must be clean.
"""

from __future__ import annotations

import asyncio
import random

from ledger import ExceedsFloor, Ledger, Unit, VerifyReport
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours

WRITERS = 4
TRANSFERS_PER_WRITER = {"postgres": 60, "sqlite": 25}
VERIFY_RUNS_MIN = 5


async def test_verify_during_live_writes_sees_no_false_discrepancy(
    db: TestDatabase, clock: Clock
) -> None:
    # Own transactions: the most commits, so the most chances to land mid-verify.
    ledger = Ledger(db.engine, clock=clock, group_commit=False)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [(await open_hours(ledger, f"member:{n}")).id for n in range(4)]
    for member in members:
        await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=member,
            amount_minor=500,
            unit=Unit.HOUR,
            code="welcome",
            actor="system",
        )
    writers_left = WRITERS

    async def writer(seed: int) -> None:
        nonlocal writers_left
        rng = random.Random(seed)  # noqa: S311 - test data
        try:
            for _ in range(TRANSFERS_PER_WRITER[db.kind]):
                debit, credit = rng.sample(members, 2)
                try:
                    await ledger.transfer(
                        id=new_id(),
                        debit_account_id=debit,
                        credit_account_id=credit,
                        amount_minor=rng.randint(1, 60),
                        unit=Unit.HOUR,
                        code="exchange",
                        actor="member:test",
                    )
                except ExceedsFloor:
                    continue  # a member ran out: expected, anything else fails the test
        finally:
            writers_left -= 1

    reports: list[VerifyReport] = []

    async def verifier() -> None:
        while writers_left > 0 or len(reports) < VERIFY_RUNS_MIN:
            reports.append(await ledger.verify())

    await asyncio.gather(verifier(), *(writer(seed) for seed in range(WRITERS)))

    false_alarms = [report.summary() for report in reports if not report.ok]
    assert false_alarms == []
    # The runs really overlapped the writes: they saw different amounts of history.
    assert len({report.entries_checked for report in reports}) > 1

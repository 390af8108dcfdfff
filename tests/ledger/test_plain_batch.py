"""`ledger_post_plain_batch` (ADR 0070) writes what the Python planner would, byte for byte.

Random batches of plain transfers, over accounts with floors and ceilings, a closed
account, an account of another unit, an id never opened, ids written before, instants
before an account's last entry, and hostile memos and actors, are each written twice in
transactions that are rolled back: once by PostgreSQL's function, once by the planner
(ledger/posting.py `write_groups`). Every row of the three tables must then be the same;
where the function declines, the planner must have answered what the function cannot
(a refusal, a replay, a later instant). One of the two is then committed, so the chains
grow from batch to batch, and `ledger verify` must pass at the end.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger import Ledger, NewTransfer, Unit, write_transaction
from ledger.plain_batch import PlainBatchDeclined, write_plain_batch
from ledger.planning import Outcome
from ledger.posting import Group, write_groups
from ledger.sql import Connection
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours

pytestmark = pytest.mark.postgres_only

SEED = 20_261_207
BATCHES = 100
BATCH_GIFTS_MAX = 8
MEMBERS = 8
# Text the hash's canonical JSON must escape as Python does: quotes, backslashes,
# control characters, line separators, non-ASCII in and beyond the BMP.
MEMOS = (
    "",
    "a lift to the hospital",
    'she said "thank you" \\ twice / again',
    "tab\there\nnew line\rreturn",
    "\x01\x08\x0c\x1f\x7f controls",
    "café, Grüße, 漢字, 🙂",
    "\u2028line\u2029paragraph",
    "</script><b>",
    "\\u0000 written out",
)
ACTORS = ("member:alice", 'member:"quoted"', "coordinator:zoë", "system:sweeps\\nightly")
CODES = ("gift", "exchange", "welcome")
TABLES = ("ledger_transfer", "ledger_entry", "ledger_account")


class _UndoError(Exception):
    """Raised to leave a transaction without committing it."""


def _undo() -> None:
    raise _UndoError


async def _table_rows(connection: Connection) -> dict[str, list[str]]:
    """Every row of the three tables, as PostgreSQL's own JSON of all its columns."""
    return {
        table: [
            row["row"]
            for row in await connection.fetch(
                f"SELECT row_to_json(t)::text AS row FROM {table} AS t ORDER BY 1"
            )
        ]
        for table in TABLES
    }


Write = Callable[[Connection], Awaitable[list[Outcome] | None]]


async def _written_then_undone(
    db: TestDatabase, write: Write
) -> tuple[list[Outcome] | None, dict[str, list[str]] | None]:
    """What `write` answered and left in the tables, in a transaction rolled back after."""
    try:
        async with write_transaction(db.engine) as transaction:
            outcomes = await write(transaction.connection)
            rows = await _table_rows(transaction.connection)
            _undo()
    except _UndoError:
        return outcomes, rows
    except PlainBatchDeclined:
        return None, None


class _World:
    """The accounts and ids the random batches draw from."""

    def __init__(self, randomness: random.Random) -> None:
        self.random = randomness
        self.hour_accounts: list[uuid.UUID] = []
        self.odd_accounts: list[uuid.UUID] = []  # closed, other unit, never opened
        self.written_ids: list[uuid.UUID] = []

    def account(self) -> uuid.UUID:
        if self.odd_accounts and self.random.random() < 0.03:
            return self.random.choice(self.odd_accounts)
        return self.random.choice(self.hour_accounts)

    def transfer_id(self) -> uuid.UUID:
        if self.written_ids and self.random.random() < 0.02:
            return self.random.choice(self.written_ids)
        return new_id()

    def operation(self, now: datetime) -> NewTransfer:
        debit, credit = self.account(), self.account()
        while credit == debit:
            credit = self.account()
        large = self.random.random() < 0.05
        return NewTransfer(
            id=self.transfer_id(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount_minor=self.random.randint(200, 2_500) if large else self.random.randint(1, 90),
            unit=Unit.HOUR,
            code=self.random.choice(CODES),
            actor=self.random.choice(ACTORS),
            memo=self.random.choice(MEMOS),
            effective_at=(
                now - timedelta(minutes=self.random.randint(1, 600))
                if self.random.random() < 0.2
                else None
            ),
        )


async def _open_world(ledger: Ledger, clock: Clock, randomness: random.Random) -> _World:
    world = _World(randomness)
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    world.hour_accounts.append(issuance.id)
    for number in range(MEMBERS):
        member = await open_hours(
            ledger,
            f"member:{number}",
            floor_minor=randomness.choice((None, 0, -120)),
            ceiling_minor=randomness.choice((None, 600, 2_000)),
        )
        world.hour_accounts.append(member.id)
        minutes = randomness.randint(0, 900)
        if minutes:
            await ledger.transfer(
                id=new_id(),
                debit_account_id=issuance.id,
                credit_account_id=member.id,
                amount_minor=minutes,
                unit=Unit.HOUR,
                code="welcome",
                actor="system",
            )
        clock.advance(seconds=1)
    closed = await open_hours(ledger, "member:left")
    await ledger.close_account(account_id=closed.id)
    pounds = await ledger.open_account(unit=Unit.GBP, owner="community:1:pounds")
    world.odd_accounts.extend((closed.id, pounds.id, new_id()))
    return world


def _planner_answered_otherwise(outcomes: list[Outcome], now: datetime) -> bool:
    """What only the planner can answer: a refusal, a replay, or a later instant."""
    return any(
        outcome.error is not None
        or outcome.replayed
        or any(transfer.recorded_at > now for transfer in outcome.transfers)
        for outcome in outcomes
    )


async def test_the_function_writes_what_the_planner_writes(
    ledger: Ledger, db: TestDatabase, clock: Clock
) -> None:
    randomness = random.Random(SEED)  # noqa: S311 - a repeatable test, not a secret
    world = await _open_world(ledger, clock, randomness)
    declined = written = 0
    for _batch in range(BATCHES):
        step_back = randomness.random() < 0.05  # an instant before the last entry
        clock.advance(seconds=-30 if step_back else randomness.randint(1, 90))
        now = clock.now.replace(microsecond=randomness.randint(0, 999_999))
        groups: list[Group] = [
            ((world.operation(now),), None) for _ in range(randomness.randint(1, BATCH_GIFTS_MAX))
        ]
        if len({operations[0].id for operations, _ in groups}) < len(groups):
            continue  # the group committer never puts one id twice in a batch

        async def by_function(
            connection: Connection, groups: list[Group] = groups, now: datetime = now
        ) -> Any:
            return await write_plain_batch(connection, groups, now)

        async def by_planner(
            connection: Connection, groups: list[Group] = groups, now: datetime = now
        ) -> Any:
            return await write_groups(connection, groups, now)

        function_outcomes, function_rows = await _written_then_undone(db, by_function)
        planner_outcomes, planner_rows = await _written_then_undone(db, by_planner)
        assert planner_outcomes is not None
        if function_outcomes is None:
            declined += 1
            assert _planner_answered_otherwise(planner_outcomes, now), groups
            keep: Write = by_planner
        else:
            written += 1
            assert function_rows == planner_rows
            assert [o.transfers for o in function_outcomes] == [
                o.transfers for o in planner_outcomes
            ]
            assert not _planner_answered_otherwise(planner_outcomes, now)
            keep = by_function
        async with write_transaction(db.engine) as transaction:
            kept = await keep(transaction.connection)
        assert kept is not None
        world.written_ids.extend(t.id for outcome in kept for t in outcome.transfers)
    assert declined >= 10, declined  # the random batches reached the declines
    assert written >= 40, written
    report = await ledger.verify()
    assert report.ok, report

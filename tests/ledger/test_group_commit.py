"""Group commit: concurrent writes share transactions, each keeping its own outcome."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from ledger import (
    Connection,
    ExceedsFloor,
    JoinedStatement,
    Ledger,
    LedgerError,
    NewPending,
    NewTransfer,
    SharedAfter,
    Transfer,
    Unit,
)
from ledger.group_commit import GroupCommitter, TakeBatch
from ledger.planning import Outcome
from ledger.posting import AfterWrite, CheckJoined, Group
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours
from tests.ledger.raw_database import raw_database
from tests.support.statements import recorded_statements


def _group(transfer_id: uuid.UUID) -> Group:
    operation = NewTransfer(
        id=transfer_id,
        debit_account_id=new_id(),
        credit_account_id=new_id(),
        amount_minor=1,
        unit=Unit.HOUR,
        code="grant",
        actor="test",
    )
    return ((operation,), None)


async def test_writers_queued_together_leave_in_one_batch() -> None:
    batches: list[int] = []

    async def write(take: TakeBatch) -> list[Outcome]:
        groups, _afters = take()
        batches.append(len(groups))
        return [Outcome() for _ in groups]

    committer = GroupCommitter(write, flushers_max=1)
    await asyncio.gather(*(committer.submit(_group(new_id())) for _ in range(20)))
    assert batches == [20]


async def test_a_resent_id_waits_for_the_next_batch() -> None:
    batches: list[list[uuid.UUID]] = []

    async def write(take: TakeBatch) -> list[Outcome]:
        groups, _afters = take()
        batches.append([operations[0].id for operations, _ in groups])
        return [Outcome() for _ in groups]

    committer = GroupCommitter(write, flushers_max=1)
    same, other = new_id(), new_id()
    await asyncio.gather(
        committer.submit(_group(same)),
        committer.submit(_group(same)),
        committer.submit(_group(other)),
    )
    assert batches == [[same, other], [same]]


async def test_a_failed_write_reaches_every_writer_of_the_batch() -> None:
    async def write(_take: TakeBatch) -> list[Outcome]:
        raise RuntimeError("database gone")

    committer = GroupCommitter(write, flushers_max=2)
    results = await asyncio.gather(
        *(committer.submit(_group(new_id())) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)
    # The committer recovers: the next writer gets a flusher again.
    calls: list[int] = []

    async def working(take: TakeBatch) -> list[Outcome]:
        groups, _afters = take()
        calls.append(len(groups))
        return [Outcome() for _ in groups]

    committer._write_batch = working
    await committer.submit(_group(new_id()))
    assert calls == [1]


async def test_a_batch_is_taken_when_its_write_may_start() -> None:
    """Writers that queue while a write waits for its turn (ADR 0060) leave with it."""
    batches: list[int] = []
    turn = asyncio.Event()
    waiting = asyncio.Event()

    async def write(take: TakeBatch) -> list[Outcome]:
        waiting.set()
        await turn.wait()
        groups, _afters = take()
        batches.append(len(groups))
        return [Outcome() for _ in groups]

    committer = GroupCommitter(write, flushers_max=1)
    first = asyncio.ensure_future(committer.submit(_group(new_id())))
    await waiting.wait()
    later = [asyncio.ensure_future(committer.submit(_group(new_id()))) for _ in range(5)]
    turn.set()
    await asyncio.gather(first, *later)
    assert batches == [6]


@dataclass
class _SettlingCommitter:
    """A committer whose write takes its batch once the expected writers settled (ADR
    0072), the sizes of the batches it took, and an event set when a write waits."""

    committer: GroupCommitter
    batches: list[int]
    settling: asyncio.Event


def _settling_committer(bound_seconds: float) -> _SettlingCommitter:
    batches: list[int] = []
    settling = asyncio.Event()
    committers: list[GroupCommitter] = []

    async def write(take: TakeBatch) -> list[Outcome]:
        settling.set()
        await committers[0].settled(bound_seconds)
        groups, _afters = take()
        batches.append(len(groups))
        return [Outcome() for _ in groups]

    committers.append(GroupCommitter(write, flushers_max=1))
    return _SettlingCommitter(committers[0], batches, settling)


async def _expected_writer(committer: GroupCommitter, go: asyncio.Event, *, submits: bool) -> None:
    with committer.expecting():
        await go.wait()
        if submits:
            await committer.submit(_group(new_id()))


def _expected_writers(
    committer: GroupCommitter, go: asyncio.Event, count: int, *, submits: bool = True
) -> list[asyncio.Future[None]]:
    return [
        asyncio.ensure_future(_expected_writer(committer, go, submits=submits))
        for _ in range(count)
    ]


async def test_a_batch_waits_for_the_writers_said_to_be_coming() -> None:
    """Writers that said they are coming (a request that has begun to be a gift) are
    waited for before the batch is taken, so they leave together (ADR 0072)."""
    settling = _settling_committer(bound_seconds=60.0)
    first, later = asyncio.Event(), asyncio.Event()
    first.set()
    writers = _expected_writers(settling.committer, first, 1)
    writers += _expected_writers(settling.committer, later, 4)
    await settling.settling.wait()  # the first has queued and its write waits for the others
    later.set()
    await asyncio.gather(*writers)
    assert settling.batches == [5]


async def test_a_writer_said_to_be_coming_in_the_next_turn_leaves_with_the_batch() -> None:
    """A request read in the loop's turn after the others queued (its bytes came while
    they did) says it is coming then, and is waited for too."""
    settling = _settling_committer(bound_seconds=60.0)
    go = asyncio.Event()
    go.set()

    async def read_in_the_next_turn() -> None:
        await settling.settling.wait()  # the batch's write has begun to settle
        with settling.committer.expecting():
            await settling.committer.submit(_group(new_id()))

    first = _expected_writers(settling.committer, go, 1)
    late = asyncio.ensure_future(read_in_the_next_turn())
    await asyncio.gather(*first, late)
    assert settling.batches == [2]


async def test_a_writer_that_leaves_without_writing_is_not_waited_for() -> None:
    settling = _settling_committer(bound_seconds=60.0)
    first, later = asyncio.Event(), asyncio.Event()
    first.set()
    writers = _expected_writers(settling.committer, first, 1)
    writers += _expected_writers(settling.committer, later, 1, submits=False)
    await settling.settling.wait()
    later.set()  # it leaves its block having written nothing (a declined request)
    await asyncio.gather(*writers)
    assert settling.batches == [1]


async def test_a_writer_held_up_elsewhere_holds_the_batch_no_longer_than_the_bound() -> None:
    settling = _settling_committer(bound_seconds=0.01)
    [held_up] = _expected_writers(settling.committer, asyncio.Event(), 1)  # never let go
    await settling.committer.submit(_group(new_id()))  # answered although one is coming
    assert settling.batches == [1]
    held_up.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await held_up
    assert not settling.committer._expected  # leaving by cancellation counts as leaving


async def test_concurrent_transfers_keep_their_own_outcomes(ledger: Ledger) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(4)]
    await ledger.batch(
        items=[
            NewTransfer(
                id=new_id(),
                debit_account_id=issuance.id,
                credit_account_id=member.id,
                amount_minor=100,
                unit=Unit.HOUR,
                code="welcome",
                actor="system",
            )
            for member in members
        ]
    )
    amounts = [30, 80, 20, 50, 10, 90, 40, 60] * 3

    async def send(index: int, amount: int) -> int:
        payer, payee = members[index % 4], members[(index + 1) % 4]
        try:
            await ledger.transfer(
                id=new_id(),
                debit_account_id=payer.id,
                credit_account_id=payee.id,
                amount_minor=amount,
                unit=Unit.HOUR,
                code="exchange",
                actor="test",
            )
        except LedgerError as error:
            if error.code != "exceeds_floor":
                raise
            return 0
        return amount

    moved = await asyncio.gather(*(send(i, a) for i, a in enumerate(amounts)))
    assert 0 < sum(moved) < sum(amounts)  # some were refused, some went through
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert sum(balances) == 400
    assert min(balances) >= 0
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.transfers_checked == 4 + sum(1 for m in moved if m)


async def test_concurrent_resends_of_one_id_move_once(ledger: Ledger) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    transfer_id = new_id()
    results = await asyncio.gather(
        *(
            ledger.transfer(
                id=transfer_id,
                debit_account_id=issuance.id,
                credit_account_id=alice.id,
                amount_minor=45,
                unit=Unit.HOUR,
                code="grant",
                actor="system",
            )
            for _ in range(6)
        )
    )
    assert {result.id for result in results} == {transfer_id}
    assert len(set(results)) == 1
    assert (await ledger.balance(account_id=alice.id)).balance_minor == 45


@pytest.mark.parametrize("group_commit", [True, False])
async def test_group_commit_can_be_switched_off(db, group_commit: bool) -> None:
    ledger = Ledger(db.engine, group_commit=group_commit)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    await asyncio.gather(
        *(
            ledger.transfer(
                id=new_id(),
                debit_account_id=issuance.id,
                credit_account_id=alice.id,
                amount_minor=5,
                unit=Unit.HOUR,
                code="grant",
                actor="system",
            )
            for _ in range(10)
        )
    )
    assert (await ledger.balance(account_id=alice.id)).balance_minor == 50


class _AfterStepError(Exception):
    pass


async def _grant(
    ledger: Ledger,
    transfer_id: uuid.UUID,
    debit_account_id: uuid.UUID,
    credit_account_id: uuid.UUID,
    after: AfterWrite,
) -> Transfer:
    """Ten minutes with an after-step."""
    return await ledger.transfer(
        id=transfer_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount_minor=10,
        unit=Unit.HOUR,
        code="grant",
        actor="test",
        after=after,
    )


async def test_an_after_step_commits_with_its_transfer_or_takes_it_back(ledger: Ledger) -> None:
    """`after` runs in the shared transaction, only for new transfers (ADR 0037): one
    that raises fails its own writer alone and its transfer is not written; the
    others of the batch commit with their own steps."""
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    ran: list[uuid.UUID] = []

    def after_for(index: int) -> AfterWrite:
        async def after(_connection: Connection, written: Sequence[Transfer]) -> None:
            if index == 3:
                raise _AfterStepError
            ran.append(written[0].id)

        return after

    ids = [new_id() for _ in members]

    async def send(index: int) -> Transfer:
        return await _grant(ledger, ids[index], issuance.id, members[index].id, after_for(index))

    results = await asyncio.gather(*(send(i) for i in range(6)), return_exceptions=True)
    assert isinstance(results[3], _AfterStepError)
    # A step may run again when its batch is rolled back and split: only a run that
    # commits counts, so steps write only inside the transaction.
    assert set(ran) == {ids[i] for i in range(6) if i != 3}
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert balances == [10, 10, 10, 0, 10, 10]
    # A replay of a written id does not run its step again.
    ran.clear()
    await send(0)
    assert ran == []
    report = await ledger.verify()
    assert report.ok, report.summary()


async def test_shared_after_steps_of_one_write_run_together(ledger: Ledger) -> None:
    """Steps with one `write_all` get every new group of their write in one call (ADR
    0056); one that raises fails the write, and the split leaves its cause alone."""
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    calls: list[list[int]] = []
    committed: list[int] = []

    async def write_all(
        _connection: Connection, items: list[tuple[Any, Sequence[Transfer]]]
    ) -> None:
        indexes = [index for index, _written in items]
        calls.append(indexes)
        if 3 in indexes:
            raise _AfterStepError
        committed.extend(indexes)

    async def send(index: int) -> Transfer:
        step = SharedAfter(write_all, index)
        return await _grant(ledger, new_id(), issuance.id, members[index].id, step)

    results = await asyncio.gather(*(send(i) for i in range(6)), return_exceptions=True)
    assert isinstance(results[3], _AfterStepError)
    assert max(len(indexes) for indexes in calls) > 1  # writers shared one call
    assert sorted(committed) == [0, 1, 2, 4, 5]
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert balances == [10, 10, 10, 0, 10, 10]


_JOINED_STEP_TABLE = "CREATE TABLE joined_step_rows (item INTEGER PRIMARY KEY)"
_JOINED_STEP_INSERT = (
    "INSERT INTO joined_step_rows (item) SELECT * FROM unnest($1::int[]) RETURNING item"
)
_JOINED_STEP_INSERT_NOTHING = (
    "INSERT INTO joined_step_rows (item) SELECT * FROM unnest($1::int[]) WHERE false RETURNING item"
)


async def test_a_joined_step_is_written_by_the_write_statement(
    ledger: Ledger, db: TestDatabase
) -> None:
    """On PostgreSQL a shared step with a joined statement (ADR 0068) is written by the
    ledger's own write statement: `write_all` is not called, the rows commit with the
    transfers, and a check that raises fails the write as `write_all` would (the split
    leaves its cause alone). SQLite has no round trip to save and calls `write_all`."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    checked: list[list[int]] = []
    written_apart: list[list[int]] = []

    async def write_all(
        connection: Connection, items: list[tuple[Any, Sequence[Transfer]]]
    ) -> None:
        indexes = [index for index, _written in items]
        written_apart.append(indexes)
        if 3 in indexes:
            raise _AfterStepError
        await connection.execute_many(
            "INSERT INTO joined_step_rows (item) VALUES ($1)", [(index,) for index in indexes]
        )

    def prepare(items: list[tuple[Any, Sequence[Transfer]]]) -> tuple[list[Any], CheckJoined]:
        indexes = [index for index, _written in items]

        def check(rows: list[Any]) -> None:
            checked.append(sorted(row["item"] for row in rows))
            if 3 in indexes:
                raise _AfterStepError

        return [indexes], check

    joined = JoinedStatement(_JOINED_STEP_INSERT, prepare)

    async def send(index: int) -> Transfer:
        step = SharedAfter(write_all, index, joined)
        return await _grant(ledger, new_id(), issuance.id, members[index].id, step)

    results = await asyncio.gather(*(send(i) for i in range(6)), return_exceptions=True)
    assert isinstance(results[3], _AfterStepError)
    async with raw_database(db) as raw:
        rows = await raw.fetch("SELECT item FROM joined_step_rows ORDER BY item")
    assert [row["item"] for row in rows] == [0, 1, 2, 4, 5]
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert balances == [10, 10, 10, 0, 10, 10]
    if db.kind == "postgres":
        assert not written_apart
        assert max(len(items) for items in checked) > 1  # writers shared one statement
    else:
        assert not checked
        assert max(len(indexes) for indexes in written_apart) > 1


def _recording_step() -> SharedAfter:
    """A joined step whose rows only PostgreSQL's write statement may write."""

    async def write_all(
        _connection: Connection, _items: list[tuple[Any, Sequence[Transfer]]]
    ) -> None:
        raise AssertionError("the joined statement writes these rows on PostgreSQL")

    def prepare(items: list[tuple[Any, Sequence[Transfer]]]) -> tuple[list[Any], CheckJoined]:
        return [[index for index, _written in items]], lambda _rows: None

    # Its statement has no ON CONFLICT: it is its own strict form (ADR 0072).
    joined = JoinedStatement(_JOINED_STEP_INSERT, prepare, strict_sql=_JOINED_STEP_INSERT)
    return SharedAfter(write_all, None, joined)


def _numbered(step: SharedAfter, item: int) -> SharedAfter:
    return SharedAfter(step.write_all, item, step.joined)


@pytest.mark.postgres_only
async def test_a_batch_of_plain_transfers_is_one_statement(
    ledger: Ledger, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on the wire (ADRs 0070, 0072): one statement, outside any transaction,
    that takes the write turn, locks, checks and writes the transfers with the joined
    step's rows, and commits as it returns: no BEGIN, no COMMIT."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    step = _recording_step()
    log = recorded_statements(monkeypatch)  # the flusher's task too
    await asyncio.gather(
        *(
            _grant(ledger, new_id(), issuance.id, member.id, _numbered(step, n))
            for n, member in enumerate(members)
        )
    )
    assert log
    for statement in log:
        assert "pg_advisory_xact_lock" in statement, log
        assert "ledger_post_plain_batch" in statement, log
        assert "joined_step_rows" in statement, log
    async with raw_database(db) as raw:
        rows = await raw.fetch("SELECT item FROM joined_step_rows ORDER BY item")
    assert [row["item"] for row in rows] == list(range(6))


@pytest.mark.postgres_only
async def test_a_joined_step_without_a_strict_statement_is_written_in_a_transaction(
    ledger: Ledger, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement of its own commits as it returns, so a joined step whose check could
    still refuse (no strict statement) leaves the batch to the planner's transaction."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(3)]
    recording = _recording_step()
    assert recording.joined is not None
    lenient = JoinedStatement(recording.joined.sql, recording.joined.prepare)
    step = SharedAfter(recording.write_all, None, lenient)
    log = recorded_statements(monkeypatch)
    await asyncio.gather(
        *(
            _grant(ledger, new_id(), issuance.id, member.id, _numbered(step, n))
            for n, member in enumerate(members)
        )
    )
    assert not any("ledger_post_plain_batch" in statement for statement in log)
    for statements in _split_at_begin(log):
        assert "joined_step_rows" in statements[3]
        assert statements[-1].upper().startswith("COMMIT")
    async with raw_database(db) as raw:
        rows = await raw.fetch("SELECT item FROM joined_step_rows ORDER BY item")
    assert [row["item"] for row in rows] == [0, 1, 2]


@pytest.mark.postgres_only
async def test_a_batch_the_planner_writes_costs_five_statements(
    ledger: Ledger, db: TestDatabase, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """Counted on the wire (ADR 0068), for a batch that is not plain transfers (holds):
    BEGIN, the write turn, the accounts locked with the earlier attempts read, the write
    with the step's rows, COMMIT."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    step = _recording_step()

    def hold(n: int, member_id: uuid.UUID) -> Awaitable[Transfer]:
        operation = NewPending(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=member_id,
            amount_minor=10,
            unit=Unit.HOUR,
            code="grant",
            actor="test",
            expires_at=clock.now + timedelta(hours=1),
        )
        return ledger.execute(operation=operation, after=_numbered(step, n))

    log = recorded_statements(monkeypatch)  # the flusher's task too
    await asyncio.gather(*(hold(n, member.id) for n, member in enumerate(members)))
    transactions = _split_at_begin(log)
    assert transactions
    for statements in transactions:
        assert len(statements) == 5, statements
        assert "pg_advisory_xact_lock" in statements[1]
        assert "ledger_lock_for_write" in statements[2]
        assert "joined_step_rows" in statements[3]
        assert statements[4].upper().startswith("COMMIT")


@pytest.mark.postgres_only
async def test_a_joined_step_that_returns_nothing_still_has_the_batch_written(
    ledger: Ledger, db: TestDatabase
) -> None:
    """The call is asked for before the joined statement's first row (ADR 0070): a joined
    statement that returns no rows must not leave the transfers unwritten."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(4)]
    checked: list[int] = []

    def prepare(items: list[tuple[Any, Sequence[Transfer]]]) -> tuple[list[Any], CheckJoined]:
        return [[index for index, _written in items]], lambda rows: checked.append(len(rows))

    nothing = JoinedStatement(_JOINED_STEP_INSERT_NOTHING, prepare)
    step = SharedAfter(_recording_step().write_all, None, nothing)
    await asyncio.gather(
        *(
            _grant(ledger, new_id(), issuance.id, member.id, _numbered(step, n))
            for n, member in enumerate(members)
        )
    )
    assert checked and set(checked) == {0}
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert balances == [10, 10, 10, 10]


async def test_a_declined_plain_batch_is_planned_again(
    ledger: Ledger, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of plain transfers one of which the floor refuses: PostgreSQL's call writes
    nothing (ADRs 0070, 0072); the planner then writes the others, records the refusal,
    and stores only the accepted writers' step rows."""
    async with raw_database(db) as raw:
        await raw.execute(_JOINED_STEP_TABLE)
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    members = [await open_hours(ledger, f"member:{n}") for n in range(6)]
    step = _recording_step() if db.kind == "postgres" else None
    log = recorded_statements(monkeypatch)

    async def send(n: int) -> Transfer:
        # member:3 has nothing to give: the floor (0) refuses its gift.
        debit = members[3].id if n == 3 else issuance.id
        credit = members[4].id if n == 2 else members[(n + 1) % 6].id
        return await _grant(
            ledger, new_id(), debit, credit, _numbered(step, n) if step else _noop_after
        )

    results = await asyncio.gather(*(send(n) for n in range(6)), return_exceptions=True)
    assert isinstance(results[3], ExceedsFloor)
    assert all(isinstance(result, Transfer) for n, result in enumerate(results) if n != 3)
    balances = [(await ledger.balance(account_id=m.id)).balance_minor for m in members]
    assert balances == [10, 10, 10, 0, 10, 10]  # member:3 neither gave nor received
    report = await ledger.verify()
    assert report.ok, report
    if db.kind != "postgres":
        return
    async with raw_database(db) as raw:
        rows = await raw.fetch("SELECT item FROM joined_step_rows ORDER BY item")
        failures = await raw.fetchval("SELECT count(*) FROM ledger_failure")
    assert [row["item"] for row in rows] == [0, 1, 2, 4, 5]
    assert failures == 1
    # The refusal was found by PostgreSQL's call, sent alone, then planned in Python.
    calls = [n for n, statement in enumerate(log) if "ledger_post_plain_batch" in statement]
    plans = [n for n, statement in enumerate(log) if "ledger_lock_for_write" in statement]
    assert calls and plans and calls[0] < plans[0]


async def _noop_after(_connection: Connection, _transfers: Sequence[Transfer]) -> None:
    return None


def _split_at_begin(log: list[str]) -> list[list[str]]:
    transactions: list[list[str]] = []
    for statement in log:
        if statement.upper().startswith("BEGIN"):
            transactions.append([])
        if transactions:
            transactions[-1].append(statement)
    return transactions

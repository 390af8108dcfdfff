"""Concurrent writers (ledger.md guarantee 9): no lost update, no double spend, no deadlock.

Writers are asyncio tasks started together with asyncio.gather; nothing here
waits on a timer. Each scenario runs with group commit off (every write is a
transaction of its own, so on PostgreSQL up to 16 transactions contend for the
same account rows) and, where it changes the code path, with group commit on
(concurrent writes are planned together in shared transactions, several of
which still contend with each other).

The hot-account test runs on both engines: on SQLite the same tasks show that
writers queue correctly behind the one write lock. The races on one pending
transfer or one reversal and the opposite-direction test need row locks, so
they run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from ledger import Chain, Ledger, NewTransfer, Transfer, Unit, transactions
from ledger import errors as ledger_errors
from ledger.errors import LedgerError
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, fund, new_id, open_hours

WRITERS = 16
# Each SQLite write commits (and syncs) on its own: fewer of them show the same.
OPERATIONS_PER_WRITER = {"postgres": 25, "sqlite": 8}
HOT_FUNDING = 200
GROUP_COMMIT = pytest.mark.parametrize(
    "group_commit", [False, True], ids=["own-transactions", "group-commit"]
)


async def warm_pool(db: TestDatabase, connections: int) -> None:
    """Open pool connections up front, so racing tasks start together, not as each connects."""
    engine = db.engine
    if not isinstance(engine, PostgresEngine) or engine.pool is None:
        return
    pool = engine.pool
    held = await asyncio.gather(*(pool.acquire() for _ in range(connections)))
    for connection in held:
        await pool.release(connection)


async def table_count(db: TestDatabase, table: str) -> int:
    async with transactions.read_connection(db.engine) as connection:
        row = await connection.fetchrow(f"SELECT count(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


@pytest.fixture
def transient_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Every error the ledger's write loop considered retrying (deadlocks would show here)."""
    seen: list[BaseException] = []
    original = transactions.is_transient

    def spy(error: BaseException) -> bool:
        seen.append(error)
        return original(error)

    monkeypatch.setattr(transactions, "is_transient", spy)
    return seen


# (a) Many writers on a few hot accounts ---------------------------------------------


@dataclass
class Tally:
    """What the writers saw succeed and fail, to recompute every balance."""

    posted: Counter[UUID] = field(default_factory=Counter)  # signed change per account
    versions: Counter[UUID] = field(default_factory=Counter)  # entries per account
    transfers: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    def moved(self, transfer: Transfer, *, posts: bool) -> None:
        self.transfers += 1
        self.versions[transfer.debit_account_id] += 1
        self.versions[transfer.credit_account_id] += 1
        if posts:
            self.posted[transfer.debit_account_id] -= transfer.amount_minor
            self.posted[transfer.credit_account_id] += transfer.amount_minor


async def _hot_writer(
    ledger: Ledger, clock: Clock, hot: list[UUID], *, seed: int, tally: Tally, operations: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    for _ in range(operations):
        debit, credit = rng.sample(hot, 2)
        amount = rng.randint(1, 90)
        try:
            if rng.random() < 0.75:
                single = await ledger.transfer(
                    id=new_id(),
                    debit_account_id=debit,
                    credit_account_id=credit,
                    amount_minor=amount,
                    unit=Unit.HOUR,
                    code="exchange",
                    actor="member:test",
                )
                tally.moved(single, posts=True)
                continue
            pending = await ledger.pending_transfer(
                id=new_id(),
                debit_account_id=debit,
                credit_account_id=credit,
                amount_minor=amount,
                unit=Unit.HOUR,
                code="exchange",
                actor="member:test",
                expires_at=clock.now + timedelta(days=1),
            )
        except LedgerError as error:
            tally.refusals[error.code] += 1
            continue
        tally.moved(pending, posts=False)
        # Resolving a hold never needs more funds: it must always succeed.
        if rng.random() < 0.5:
            resolution = await ledger.post_pending(
                id=new_id(),
                pending_id=pending.id,
                actor="member:test",
                amount_minor=rng.randint(1, amount),
            )
            tally.moved(resolution, posts=True)
        else:
            resolution = await ledger.void_pending(
                id=new_id(), pending_id=pending.id, actor="member:test"
            )
            tally.moved(resolution, posts=False)


@GROUP_COMMIT
async def test_hot_accounts_many_writers_exact_totals(
    db: TestDatabase, clock: Clock, group_commit: bool
) -> None:
    ledger = Ledger(db.engine, clock=clock, group_commit=group_commit)
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    hot = [
        (await open_hours(ledger, f"member:hot{n}", floor_minor=floor)).id
        for n, floor in enumerate((0, 0, 0, -120))
    ]
    tally = Tally()
    for account in hot:
        funding = await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=account,
            amount_minor=HOT_FUNDING,
            unit=Unit.HOUR,
            code="welcome",
            actor="system:test",
        )
        tally.moved(funding, posts=True)
    await warm_pool(db, WRITERS)

    operations = OPERATIONS_PER_WRITER[db.kind]
    await asyncio.gather(
        *(
            _hot_writer(ledger, clock, hot, seed=seed, tally=tally, operations=operations)
            for seed in range(WRITERS)
        )
    )

    # Every refusal was the floor, and the floors were really contended.
    assert set(tally.refusals) == {"exceeds_floor"}, tally.refusals
    refused = tally.refusals["exceeds_floor"]
    assert refused > 0
    assert tally.transfers > WRITERS * operations / 2
    for account_id in [issuance.id, *hot]:
        account = await ledger.account(account_id=account_id)
        assert account.balance_minor == tally.posted[account_id], account.owner
        assert account.version == tally.versions[account_id], account.owner
        assert (account.debits_pending_minor, account.credits_pending_minor) == (0, 0)
        if account.floor_minor is not None:
            assert account.available_minor >= account.floor_minor
    assert await table_count(db, "ledger_transfer") == tally.transfers
    assert await table_count(db, "ledger_failure") == refused
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.entries_checked == 2 * tally.transfers


# (b) Many writers resolving or reversing the same transfer -----------------------------


@dataclass
class Pair:
    ledger: Ledger
    clock: Clock
    alice: UUID
    bob: UUID

    async def pay(self, amount: int) -> Transfer:
        return await self.ledger.transfer(
            id=new_id(),
            debit_account_id=self.alice,
            credit_account_id=self.bob,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:alice",
        )

    async def hold(self, amount: int, *, hours: int = 24) -> Transfer:
        return await self.ledger.pending_transfer(
            id=new_id(),
            debit_account_id=self.alice,
            credit_account_id=self.bob,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:alice",
            expires_at=self.clock.now + timedelta(hours=hours),
        )


async def race(contenders: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start every contender at once; return each one's result or exception."""
    return await asyncio.gather(*(contender() for contender in contenders), return_exceptions=True)


def split(results: list[Any]) -> tuple[list[Any], list[BaseException]]:
    failures = [result for result in results if isinstance(result, BaseException)]
    unexpected = [error for error in failures if not isinstance(error, LedgerError)]
    assert not unexpected, unexpected
    return [result for result in results if not isinstance(result, BaseException)], failures


@pytest.fixture
async def pair(db: TestDatabase, clock: Clock, request: pytest.FixtureRequest) -> Pair:
    ledger = Ledger(db.engine, clock=clock, group_commit=request.param)
    funds = await fund(ledger, minutes=1_000, actor="system:test")
    await warm_pool(db, 12)
    return Pair(ledger, clock, funds.alice, funds.bob)


PAIR_MODES = pytest.mark.parametrize(
    "pair", [False, True], ids=["own-transactions", "group-commit"], indirect=True
)


async def _post_and_void_race(pair: Pair) -> int:
    """Six posts and six voids of one pending at once; returns the amount posted."""
    ledger = pair.ledger
    pending = await pair.hold(100)
    contenders: list[Callable[[], Awaitable[Any]]] = []
    for n in range(6):
        post_id, void_id = new_id(), new_id()
        contenders.append(
            lambda post_id=post_id, n=n: ledger.post_pending(
                id=post_id, pending_id=pending.id, actor="member:alice", amount_minor=50 + 10 * n
            )
        )
        contenders.append(
            lambda void_id=void_id: ledger.void_pending(
                id=void_id, pending_id=pending.id, actor="member:bob"
            )
        )
    winners, losers = split(await race(contenders))
    assert len(winners) == 1, winners
    winner = winners[0]
    assert len(losers) == len(contenders) - 1
    for loser in losers:
        assert isinstance(loser, ledger_errors.PendingAlreadyResolved), loser
        assert loser.data == {
            "pending_id": str(pending.id),
            "resolution_id": str(winner.id),
            "resolution_kind": winner.kind.value,
        }
    return winner.amount_minor if winner.kind.value == "post" else 0


async def _same_post_sent_many_times(pair: Pair) -> Transfer:
    ledger = pair.ledger
    pending = await pair.hold(100)
    post_id = new_id()
    results = await race(
        [
            lambda: ledger.post_pending(
                id=post_id, pending_id=pending.id, actor="member:alice", amount_minor=70
            )
        ]
        * 10
    )
    same, failed = split(results)
    assert not failed, failed
    assert {transfer.id for transfer in same} == {post_id}
    assert all(transfer == same[0] for transfer in same), "re-sends must return the original"
    return same[0]


async def _expiry_race(pair: Pair) -> None:
    """Eight expiry sweeps and four posts of one expired pending at once."""
    ledger = pair.ledger
    pending = await pair.hold(100, hours=1)
    pair.clock.advance(hours=2)
    contenders: list[Callable[[], Awaitable[Any]]] = [ledger.expire_due for _ in range(8)]
    contenders += [
        lambda: ledger.post_pending(id=new_id(), pending_id=pending.id, actor="member:alice")
        for _ in range(4)
    ]
    results = await race(contenders)
    sweeps, _ = split(results[:8])
    expired = {transfer for sweep in sweeps for transfer in sweep}
    assert len(expired) == 1, expired
    (expiry,) = expired
    assert (expiry.kind.value, expiry.pending_id) == ("expire", pending.id)
    for refused in results[8:]:
        # Refused as expired, or (if the expiry committed first) as already resolved.
        assert isinstance(
            refused, ledger_errors.PendingExpired | ledger_errors.PendingAlreadyResolved
        ), refused


@pytest.mark.postgres_only
@PAIR_MODES
async def test_racing_resolutions_of_one_pending_have_one_winner(
    pair: Pair, db: TestDatabase
) -> None:
    ledger = pair.ledger
    posted = await _post_and_void_race(pair)
    resent = await _same_post_sent_many_times(pair)
    await _expiry_race(pair)
    posted += resent.amount_minor
    alice = await ledger.balance(account_id=pair.alice)
    bob = await ledger.balance(account_id=pair.bob)
    assert (alice.balance_minor, alice.debits_pending_minor) == (1_000 - posted, 0)
    assert (bob.balance_minor, bob.credits_pending_minor) == (posted, 0)
    # welcome, then per pending: the hold and its one resolution; nothing twice.
    assert await table_count(db, "ledger_transfer") == 1 + 3 * 2
    # The eleven losers of the first race and the four refused posts.
    assert await table_count(db, "ledger_failure") == 11 + 4
    report = await ledger.verify()
    assert report.ok, report.summary()


@pytest.mark.postgres_only
@PAIR_MODES
async def test_racing_reversals_never_exceed_the_original(pair: Pair, db: TestDatabase) -> None:
    ledger = pair.ledger
    whole = await pair.pay(100)
    in_parts = await pair.pay(100)
    resent = await pair.pay(100)

    def reverse(
        original: Transfer, amount: int | None, reversal_id: UUID
    ) -> Callable[[], Awaitable[Transfer]]:
        return lambda: ledger.reverse(
            id=reversal_id,
            reverses_id=original.id,
            actor="admin:1",
            reason="dispute",
            amount_minor=amount,
        )

    full, full_losers = split(await race([reverse(whole, None, new_id()) for _ in range(10)]))
    assert len(full) == 1
    assert full[0].amount_minor == 100
    for loser in full_losers:
        assert isinstance(loser, ledger_errors.AlreadyReversed), loser
        assert loser.data == {"transfer_id": str(whole.id)}

    part_ids = [new_id() for _ in range(10)]
    part_results = await race([reverse(in_parts, 30, part_id) for part_id in part_ids])
    parts, part_losers = split(part_results)
    assert len(parts) == 3, parts
    for loser in part_losers:
        assert isinstance(loser, ledger_errors.ReversalExceedsOriginal), loser
        assert loser.data["remaining_minor"] == 10
    # A refusal stays bound to its id: re-sending it fails the same way.
    loser_id, first_loser = next(
        (part_id, result)
        for part_id, result in zip(part_ids, part_results, strict=True)
        if isinstance(result, LedgerError)
    )
    with pytest.raises(ledger_errors.ReversalExceedsOriginal) as again:
        await reverse(in_parts, 30, loser_id)()
    assert again.value == first_loser

    same_id = new_id()
    same, failed = split(await race([reverse(resent, None, same_id)] * 10))
    assert not failed, failed
    assert {transfer.id for transfer in same} == {same_id}
    assert all(transfer == same[0] for transfer in same)

    assert (await ledger.balance(account_id=pair.bob)).balance_minor == 300 - 100 - 90 - 100
    tallies = await table_count(db, "ledger_reversal_tally")
    assert tallies == 3
    # 1 welcome, 3 payments, 1 + 3 + 1 reversals.
    assert await table_count(db, "ledger_transfer") == 9
    assert await table_count(db, "ledger_failure") == len(full_losers) + len(part_losers)
    report = await ledger.verify()
    assert report.ok, report.summary()


# (c) Opposite directions at once -------------------------------------------------------


def _legs(ids: list[UUID], amounts: Iterator[int]) -> Chain:
    """A chain moving funds around `ids` in the order given."""
    operations = tuple(
        NewTransfer(
            id=new_id(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount_minor=next(amounts),
            unit=Unit.HOUR,
            code="exchange",
            actor="member:test",
        )
        for debit, credit in itertools.pairwise(ids)
    )
    return Chain(operations)


@pytest.mark.postgres_only
async def test_opposite_directions_at_once_never_deadlock(
    db: TestDatabase, clock: Clock, transient_errors: list[BaseException]
) -> None:
    # Own transactions: every write contends for the row locks itself.
    ledger = Ledger(db.engine, clock=clock, group_commit=False)
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    a, b, c = [(await open_hours(ledger, f"member:{name}")).id for name in "abc"]
    for account in (a, b, c):
        await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=account,
            amount_minor=1_000,
            unit=Unit.HOUR,
            code="welcome",
            actor="system:test",
        )
    moved: Counter[UUID] = Counter()
    rounds = 15

    async def single(debit: UUID, credit: UUID, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - test data
        for _ in range(rounds):
            amount = rng.randint(1, 5)
            await ledger.transfer(
                id=new_id(),
                debit_account_id=debit,
                credit_account_id=credit,
                amount_minor=amount,
                unit=Unit.HOUR,
                code="exchange",
                actor="member:test",
            )
            moved[debit] -= amount
            moved[credit] += amount

    async def chained(ring: list[UUID], seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - test data
        for _ in range(rounds):
            chain = _legs(ring, iter(rng.randint(1, 5) for _ in ring))
            await ledger.chain(operations=chain.operations)
            for operation in chain.operations:
                assert isinstance(operation, NewTransfer)
                moved[operation.debit_account_id] -= operation.amount_minor
                moved[operation.credit_account_id] += operation.amount_minor

    await warm_pool(db, 16)
    # gather() without return_exceptions: any error that escapes fails the test.
    await asyncio.gather(
        *(single(a, b, seed) for seed in range(6)),
        *(single(b, a, seed) for seed in range(6, 12)),
        # Chains lock three accounts, named in opposite orders.
        *(chained([a, b, c, a], seed) for seed in range(12, 14)),
        *(chained([c, b, a, c], seed) for seed in range(14, 16)),
    )
    deadlocks = [e for e in transient_errors if isinstance(e, asyncpg.DeadlockDetectedError)]
    assert not deadlocks, f"{len(deadlocks)} deadlocks were detected and retried"
    for account in (a, b, c):
        balance = await ledger.balance(account_id=account)
        assert balance.balance_minor == 1_000 + moved[account]
    assert sum(moved.values()) == 0
    transfers = 3 + 12 * rounds + 4 * rounds * 3
    assert await table_count(db, "ledger_transfer") == transfers
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.entries_checked == 2 * transfers

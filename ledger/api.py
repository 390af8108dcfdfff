"""The ledger's public API: one `Ledger` per database engine.

Every method is keyword-only and typed. Writes run in a transaction of their
own (retried on deadlock, serialization failure or a racing duplicate id),
or join the caller's transaction opened with `ledger.write_transaction()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from piccolo.engine.base import Engine

from ledger import account_changes, accounts, errors, posting, queries, validation
from ledger.checkpoint import Checkpoint, read_checkpoint, verify_with_checkpoint
from ledger.group_commit import GroupCommitter, TakeBatch
from ledger.limits import (
    EXPIRE_BATCH_MAX,
    GROUP_COMMIT_FLUSHERS,
    GROUP_COMMIT_SETTLE_SECONDS_MAX,
    PLAIN_BATCH_ATTEMPTS_MAX,
    STATEMENT_PAGE_SIZE_DEFAULT,
)
from ledger.model import (
    Account,
    Applied,
    Balance,
    BatchItem,
    BatchResult,
    Chain,
    ExpirePending,
    LimitMove,
    NewPending,
    NewTransfer,
    Operation,
    PostPending,
    Reverse,
    StatementPage,
    Transfer,
    TrialBalance,
    Unit,
    VoidPending,
)
from ledger.plain_batch import PlainBatchDeclined, PlainBatchNewer, write_plain_batch
from ledger.planning import Outcome
from ledger.posting import AfterWrite
from ledger.sql import Dialect, to_utc
from ledger.transactions import (
    WriteTransaction,
    autocommit_connection,
    dialect_of,
    is_transient,
    read_connection,
    run_write,
    snapshot_connection,
)
from ledger.verify import VerifyReport, verify

# Ids the ledger derives itself (expiries, default chain ids) are UUIDv5 in
# this namespace, so re-running the same step derives the same id.
LEDGER_NAMESPACE = uuid.UUID("6f1f3c2e-8d4b-5a8e-9c61-2b7f0e6d4a10")


def expire_id(pending_id: UUID) -> UUID:
    """The id of the transfer that expires `pending_id`: the one formula.

    `expire_due` and any caller expiring a hold itself (e.g. account closure)
    derive the same id, so two ways of expiring one hold move it once.
    """
    return uuid.uuid5(LEDGER_NAMESPACE, f"expire:{pending_id}")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Double-entry store of hours and money on one SQLite or PostgreSQL database."""

    def __init__(
        self,
        engine: Engine[Any],
        *,
        clock: Callable[[], datetime] = utc_now,
        group_commit: bool = True,
    ) -> None:
        """`group_commit` lets concurrent writes share transactions (ledger/group_commit.py)."""
        self._engine = engine
        self._clock = clock
        self._group_commit = group_commit
        # One committer per event loop: asyncio futures belong to their loop.
        self._committers: dict[int, GroupCommitter] = {}

    def _now(self) -> datetime:
        return to_utc(self._clock())

    # Accounts ------------------------------------------------------------------

    async def open_account(
        self,
        *,
        unit: Unit,
        owner: str,
        floor_minor: int | None = 0,
        ceiling_minor: int | None = None,
        account_id: UUID | None = None,
    ) -> Account:
        """Open an account; `floor_minor=None` means no floor (system accounts).

        With an explicit `account_id` this is idempotent: opening the same
        account again returns it.
        """
        validation.check_unit(unit)
        accounts.check_owner(owner)
        accounts.check_limits(floor_minor, ceiling_minor)
        if (floor_minor is not None and floor_minor > 0) or (
            ceiling_minor is not None and ceiling_minor < 0
        ):
            raise errors.LimitsBelowPosition(balance_minor=0, available_minor=0)
        new_id = account_id or uuid.uuid4()
        now = self._now()

        async def work(transaction: WriteTransaction) -> Account:
            return await accounts.open_account(
                transaction.connection,
                account_id=new_id,
                unit=unit,
                owner=owner,
                floor_minor=floor_minor,
                ceiling_minor=ceiling_minor,
                now=now,
            )

        return await run_write(self._engine, work)

    async def close_account(self, *, account_id: UUID) -> Account:
        """Close an account with a zero balance and nothing pending; it takes no new transfers."""
        now = self._now()

        async def work(transaction: WriteTransaction) -> Account:
            return await accounts.close_account(
                transaction.connection, account_id=account_id, now=now
            )

        return await run_write(self._engine, work)

    async def set_limits(
        self, *, account_id: UUID, floor_minor: int | None, ceiling_minor: int | None
    ) -> Account:
        accounts.check_limits(floor_minor, ceiling_minor)
        now = self._now()

        async def work(transaction: WriteTransaction) -> Account:
            return await accounts.set_limits(
                transaction.connection,
                account_id=account_id,
                floor_minor=floor_minor,
                ceiling_minor=ceiling_minor,
                now=now,
            )

        return await run_write(self._engine, work)

    # Transfers -----------------------------------------------------------------

    async def transfer(
        self,
        *,
        id: UUID,  # noqa: A002 - the caller's transfer id is the idempotency key
        debit_account_id: UUID,
        credit_account_id: UUID,
        amount_minor: int,
        unit: Unit,
        code: str,
        actor: str,
        memo: str = "",
        effective_at: datetime | None = None,
        after: AfterWrite | None = None,
    ) -> Transfer:
        """Move `amount_minor` from the debit account to the credit account.

        `after`, if given, runs inside the write's transaction when the
        transfer is new (not a replay of its id, not refused), with the
        transaction's connection: the caller's own rows commit with it.
        """
        return await self.execute(
            after=after,
            operation=NewTransfer(
                id=id,
                debit_account_id=debit_account_id,
                credit_account_id=credit_account_id,
                amount_minor=amount_minor,
                unit=unit,
                code=code,
                actor=actor,
                memo=memo,
                effective_at=effective_at,
            ),
        )

    async def pending_transfer(
        self,
        *,
        id: UUID,  # noqa: A002
        debit_account_id: UUID,
        credit_account_id: UUID,
        amount_minor: int,
        unit: Unit,
        code: str,
        actor: str,
        expires_at: datetime,
        memo: str = "",
        effective_at: datetime | None = None,
    ) -> Transfer:
        """Reserve funds until posted, voided, or `expires_at` passes."""
        return await self.execute(
            operation=NewPending(
                id=id,
                debit_account_id=debit_account_id,
                credit_account_id=credit_account_id,
                amount_minor=amount_minor,
                unit=unit,
                code=code,
                actor=actor,
                expires_at=expires_at,
                memo=memo,
                effective_at=effective_at,
            )
        )

    async def post_pending(
        self,
        *,
        id: UUID,  # noqa: A002
        pending_id: UUID,
        actor: str,
        amount_minor: int | None = None,
        memo: str = "",
        effective_at: datetime | None = None,
    ) -> Transfer:
        """Post a pending transfer in full, or `amount_minor` of it (the rest is released)."""
        return await self.execute(
            operation=PostPending(
                id=id,
                pending_id=pending_id,
                actor=actor,
                amount_minor=amount_minor,
                memo=memo,
                effective_at=effective_at,
            )
        )

    async def void_pending(
        self,
        *,
        id: UUID,  # noqa: A002
        pending_id: UUID,
        actor: str,
        memo: str = "",
    ) -> Transfer:
        """Release a pending transfer; nothing moves."""
        return await self.execute(
            operation=VoidPending(id=id, pending_id=pending_id, actor=actor, memo=memo)
        )

    async def reverse(
        self,
        *,
        id: UUID,  # noqa: A002
        reverses_id: UUID,
        actor: str,
        reason: str,
        amount_minor: int | None = None,
        code: str = "reversal",
        override_limits: bool = False,
    ) -> Transfer:
        """Move a posted transfer's funds back, in full (default) or in part."""
        return await self.execute(
            operation=Reverse(
                id=id,
                reverses_id=reverses_id,
                actor=actor,
                reason=reason,
                amount_minor=amount_minor,
                code=code,
                override_limits=override_limits,
            )
        )

    async def expire_due(
        self, *, now: datetime | None = None, limit: int = EXPIRE_BATCH_MAX
    ) -> list[Transfer]:
        """Expire every pending transfer whose time has passed (up to `limit`)."""
        instant = to_utc(now) if now is not None else self._now()
        async with read_connection(self._engine) as connection:
            due = await queries.due_pending_ids(connection, now=instant, limit=limit)
        if not due:
            return []
        items: list[BatchItem] = [
            ExpirePending(id=expire_id(pending_id), pending_id=pending_id) for pending_id in due
        ]
        results = await self.batch(items=items, now=instant)
        return [transfer for result in results for transfer in result.transfers]

    async def execute(self, *, operation: Operation, after: AfterWrite | None = None) -> Transfer:
        """Write one operation (any kind); raises its error if refused."""
        return (await self.apply(operation=operation, after=after)).transfer

    async def apply(self, *, operation: Operation, after: AfterWrite | None = None) -> Applied:
        """`execute`, also saying whether the id was already written (an idempotent replay).

        A caller that records something of its own for a new transfer (an audit
        line) does so only when `replayed` is False, in the same transaction:
        no pre-read, which two concurrent requests could both find empty.
        """
        now = self._now()
        validation.check_operation(operation)
        outcome = (await self._write([((operation,), None)], now, after=after))[0]
        return Applied(transfer=outcome.transfers[0], replayed=outcome.replayed)

    async def chain(
        self, *, operations: Sequence[Operation], chain_id: UUID | None = None
    ) -> list[Transfer]:
        """Write transfers that all commit or all fail (a group exchange)."""
        now = self._now()
        chain = Chain(tuple(operations), chain_id or _default_chain_id(operations))
        validation.check_chain(chain)
        outcome = await self._write([(chain.operations, chain.chain_id)], now)
        return outcome[0].transfers

    async def batch(
        self, *, items: Sequence[BatchItem], now: datetime | None = None
    ) -> list[BatchResult]:
        """Write many independent operations or chains in one database transaction.

        Each item succeeds or fails on its own; the result list matches `items`.
        Items refused for their shape are reported without touching the database.
        """
        instant = to_utc(now) if now is not None else self._now()
        validation.check_batch_size(items)
        results: list[BatchResult | None] = [None] * len(items)
        groups: list[posting.Group] = []
        positions: list[int] = []
        for position, item in enumerate(items):
            chain = _as_chain(item)
            try:
                if isinstance(item, Chain):
                    validation.check_chain(chain)
                else:
                    validation.check_operation(item)
            except errors.LedgerError as error:
                results[position] = BatchResult(transfers=(), error=error)
                continue
            groups.append((chain.operations, chain.chain_id))
            positions.append(position)
        if groups:
            if now is None:
                outcomes = await self._write(groups, instant, raise_first=False)
            else:
                # The group committer plans at the clock's time; an explicit
                # instant (expire_due's) must be the one the write is planned at.
                outcomes = await self._write_now(groups, instant)
            for position, outcome in zip(positions, outcomes, strict=True):
                results[position] = BatchResult(tuple(outcome.transfers), outcome.error)
        return [result for result in results if result is not None]

    async def _write(
        self,
        groups: list[posting.Group],
        now: datetime,
        *,
        raise_first: bool = True,
        after: AfterWrite | None = None,
    ) -> list[Outcome]:
        joined = self._engine.current_transaction.get() is not None
        if self._group_commit and len(groups) == 1 and not joined:
            outcomes = [await self._committer().submit(groups[0], after)]
        else:
            outcomes = await self._write_now(groups, now, [after] if after else [])
        if raise_first:
            for outcome in outcomes:
                if outcome.error is not None:
                    raise outcome.error
        return outcomes

    async def _write_now(
        self,
        groups: list[posting.Group],
        now: datetime,
        afters: Sequence[AfterWrite | None] = (),
    ) -> list[Outcome]:
        async def work(transaction: WriteTransaction) -> list[Outcome]:
            return await posting.write_groups(transaction.connection, groups, now, afters)

        return await run_write(self._engine, work)

    async def _write_batch(self, take: TakeBatch) -> list[Outcome]:
        """A group-committed write.

        On PostgreSQL a batch of plain transfers is written by one statement of its own
        that takes the write turn, writes and commits (ADRs 0070, 0072). Anything else,
        or a batch that statement declines, is planned in Python in a transaction that
        takes the turn first and then the batch queued by then (ADR 0060).
        """
        if self._is_postgres:
            outcomes = await self._write_plain_alone(take)
            if outcomes is not None:
                return outcomes

        async def work(transaction: WriteTransaction) -> list[Outcome]:
            connection = transaction.connection
            await posting.take_write_turn(connection)
            groups, afters = take()
            if not groups:
                return []
            return await posting.write_groups(connection, groups, self._now(), afters)

        return await run_write(self._engine, work)

    async def _write_plain_alone(self, take: TakeBatch) -> list[Outcome] | None:
        """The batch written by a statement of its own, which waits for the turn inside
        PostgreSQL and commits as it returns; or None: not plain transfers, declined, or
        failed in a way the planner's transaction may cure (ADR 0072).

        The batch is taken before the statement is sent, so first the writers this
        process said were coming are given the time to queue (`expecting_write`).
        """
        await self._committer().settled(GROUP_COMMIT_SETTLE_SECONDS_MAX)
        groups, afters = take()
        if not groups:
            return []
        for _attempt in range(PLAIN_BATCH_ATTEMPTS_MAX):
            try:
                async with autocommit_connection(self._engine) as connection:
                    return await write_plain_batch(
                        connection, groups, self._now(), afters, alone=True
                    )
            except PlainBatchNewer:
                continue  # another process wrote these accounts later: a new instant
            except PlainBatchDeclined:
                return None
            except Exception as error:
                if is_transient(error):
                    return None  # a key or id written meanwhile: the planner judges it
                raise
        return None

    def expecting_write(self) -> contextlib.AbstractContextManager[None]:
        """Say that the current task is about to write one transfer (a request that has
        begun to be a gift): a batch of plain transfers waits for it (ADR 0072)."""
        if not self._group_commit:
            return contextlib.nullcontext()
        return self._committer().expecting()

    def _committer(self) -> GroupCommitter:
        loop_id = id(asyncio.get_running_loop())
        committer = self._committers.get(loop_id)
        if committer is None:
            committer = GroupCommitter(self._write_batch, flushers_max=GROUP_COMMIT_FLUSHERS)
            self._committers = {loop_id: committer}  # forget committers of closed loops
        return committer

    @property
    def _is_postgres(self) -> bool:
        return dialect_of(self._engine) is Dialect.POSTGRES

    # Reads ---------------------------------------------------------------------

    async def account(self, *, account_id: UUID, lock: bool = False) -> Account:
        """One account; `lock=True` inside a write transaction holds its row until commit
        (PostgreSQL FOR UPDATE; SQLite's one writer already holds the database)."""
        async with read_connection(self._engine) as connection:
            return await accounts.existing_account(connection, account_id, lock=lock)

    async def limit_moves(self, *, transfer_ids: Sequence[UUID]) -> list[LimitMove]:
        """Floors and ceilings moved by these reversals (override_limits), before and after.

        Call it in the transaction that wrote them to read the ledger's own locked result.
        """
        async with read_connection(self._engine) as connection:
            return await account_changes.limit_moves(connection, transfer_ids)

    async def balance(self, *, account_id: UUID) -> Balance:
        """Current balance and available balance: one row read, whatever the history."""
        account = await self.account(account_id=account_id)
        return Balance(
            account_id=account.id,
            unit=account.unit,
            balance_minor=account.balance_minor,
            available_minor=account.available_minor,
            debits_pending_minor=account.debits_pending_minor,
            credits_pending_minor=account.credits_pending_minor,
            version=account.version,
        )

    async def balance_at(self, *, account_id: UUID, at: datetime) -> int:
        """Posted balance as recorded at instant `at` (0 before the first entry)."""
        async with read_connection(self._engine) as connection:
            found = await queries.balance_at(connection, account_id=account_id, at=to_utc(at))
        if found is None:
            raise errors.AccountNotFound(account_id=str(account_id))
        return found

    async def statement(
        self,
        *,
        account_id: UUID,
        limit: int = STATEMENT_PAGE_SIZE_DEFAULT,
        cursor: str | None = None,
    ) -> StatementPage:
        """One page of an account's entries, newest first; pass `next_cursor` for older ones."""
        async with read_connection(self._engine) as connection:
            try:
                page = await queries.statement(
                    connection, account_id=account_id, limit=limit, cursor=cursor
                )
            except errors.LedgerError:
                await accounts.existing_account(connection, account_id)  # named first, as always
                raise
            # Every entry names its account (a foreign key), so a page with lines shows the
            # account is there: only an empty page costs a second read.
            if not page.lines:
                await accounts.existing_account(connection, account_id)
            return page

    async def trial_balance(self, *, unit: Unit) -> TrialBalance:
        validation.check_unit(unit)
        async with read_connection(self._engine) as connection:
            return await queries.trial_balance(connection, unit=unit)

    async def get_transfer(self, *, transfer_id: UUID) -> Transfer:
        async with read_connection(self._engine) as connection:
            found = await queries.transfer_by_id(connection, transfer_id)
        if found is None:
            raise errors.TransferNotFound(transfer_id=str(transfer_id))
        return found

    async def open_pending_ids(self, *, account_id: UUID) -> list[UUID]:
        """Unresolved pending transfers on an account (oldest first, at most EXPIRE_BATCH_MAX)."""
        async with read_connection(self._engine) as connection:
            return await queries.open_pending_ids(connection, account_id=account_id)

    async def verify(self, *, checkpoint: Checkpoint | None = None) -> VerifyReport:
        """Recompute every chain, balance, account row and per-unit sum; see ledger.verify.

        All of it is read from one snapshot, so live writes cause no false alarm.
        With a `checkpoint` (ledger.checkpoint), also prove that nothing it
        signed was removed, reordered or rewound since.
        """
        async with snapshot_connection(self._engine) as connection:
            return await verify_with_checkpoint(connection, checkpoint)

    async def checkpoint(self) -> tuple[VerifyReport, Checkpoint | None]:
        """Verify, then read every chain head from the same snapshot.

        No checkpoint is taken of a ledger that fails verification: signing
        tampered history would vouch for it.
        """
        async with snapshot_connection(self._engine) as connection:
            report = await verify(connection)
            if not report.ok:
                return report, None
            return report, await read_checkpoint(connection, self._now())


def _default_chain_id(operations: Sequence[Operation]) -> UUID | None:
    if not operations:
        return None
    return uuid.uuid5(LEDGER_NAMESPACE, f"chain:{operations[0].id}")


def _as_chain(item: BatchItem) -> Chain:
    if isinstance(item, Chain):
        return Chain(item.operations, item.chain_id or _default_chain_id(item.operations))
    return Chain((item,), None)

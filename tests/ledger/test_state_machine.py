"""A Hypothesis state machine against an in-memory reference model of the ledger.

Every operation's outcome is predicted by the model before the ledger runs it:
the transfers it returns (all their fields) or the exact error (code and
data, and `field` for exists_with_different_<field>). After every step the
model and the ledger must agree on every account (balance, available,
pending, version), per-unit zero sum (trial balance), and balance_at for past
instants; verify() and account limits are checked every few steps and at
teardown, where the statements are also compared entry by entry with the
model's history.

The test is synchronous: each Hypothesis example gets its own fresh database
and its own private event loop. The database is cloned from a seed written
once per test (accounts, grants, exchanges and holds, every answer checked);
the model starts from the same seed, computed in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from piccolo.engine.base import Engine

from ledger import (
    LEDGER_NAMESPACE,
    Chain,
    ExpirePending,
    Ledger,
    NewPending,
    NewTransfer,
    PostPending,
    Reverse,
    Transfer,
    TransferKind,
    Unit,
    VoidPending,
    errors,
)
from ledger.errors import LedgerError
from ledger.limits import (
    AMOUNT_MINOR_MAX,
    BATCH_ITEMS_MAX,
    BATCH_TRANSFERS_MAX,
    CHAIN_TRANSFERS_MAX,
    PENDING_TIMEOUT_SECONDS_MAX,
)
from ledger.model import Operation
from service import database
from tests.conftest import admin_execute, postgres_url
from tests.ledger.conftest import Clock

T = TypeVar("T")
Fields = list[tuple[str, Any]]
Item = Operation | Chain

TEST_NAMESPACE = uuid.UUID("0d7a4c52-41c9-4f4e-9d53-7c1b6f0a9e11")
GHOST_ACCOUNT = uuid.uuid5(TEST_NAMESPACE, "account:ghost")
GHOST_TRANSFER = uuid.uuid5(TEST_NAMESPACE, "transfer:ghost")
EXPIRY_ACTOR = "system:expiry"
THOROUGH_EVERY_STEPS = 8  # verify() and account limits
DATABASES_TOGETHER = 5
_database_counter = itertools.count()

# (key, unit, floor, ceiling): few accounts so limits and hot accounts are hit often.
ACCOUNTS: tuple[tuple[str, Unit, int | None, int | None], ...] = (
    ("sys", Unit.HOUR, None, None),  # community issuance: no floor
    ("a", Unit.HOUR, 0, 600),
    ("b", Unit.HOUR, 0, None),
    ("c", Unit.HOUR, -120, 300),  # a small credit line
    ("d", Unit.HOUR, 0, 200),
    ("gbp", Unit.GBP, None, None),  # only ever a unit_mismatch target
    ("closed", Unit.HOUR, 0, None),  # closed right after opening
)
HOUR_KEYS = ("sys", "a", "b", "c", "d")
ACCOUNT_IDS = {key: uuid.uuid5(TEST_NAMESPACE, f"account:{key}") for key, *_ in ACCOUNTS}
# Written once per test into the seed database every example is cloned from:
# welcome grants so members can spend at once, exchanges that make some
# reversals break a limit (b has spent more than its grant; d is near its
# ceiling, so giving back what it paid b goes past it), and holds to post or void.
SEED_GRANTS = (("a", 300), ("b", 200), ("c", 150), ("d", 120))
SEED_EXCHANGES = (("b", "a", 150), ("c", "d", 70), ("d", "b", 60))
SEED_HOLDS = (("a", "b", 30, 600), ("c", "d", 20, 300), ("sys", "c", 40, 900))
KIND_OF = {
    NewTransfer: TransferKind.SINGLE,
    NewPending: TransferKind.PENDING,
    PostPending: TransferKind.POST,
    VoidPending: TransferKind.VOID,
    ExpirePending: TransferKind.EXPIRE,
    Reverse: TransferKind.REVERSAL,
}
REVERSIBLE = (TransferKind.SINGLE, TransferKind.POST)


def _json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# The reference model ---------------------------------------------------------------


@dataclass
class ModelAccount:
    id: UUID
    unit: Unit
    floor: int | None
    ceiling: int | None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    closed: bool = False
    # One (recorded_at, balance after, transfer id) per entry, oldest first.
    history: list[tuple[datetime, int, UUID]] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.balance - self.debits_pending

    @property
    def ceiling_measure(self) -> int:
        return self.balance + self.credits_pending

    def balance_at(self, instant: datetime) -> int:
        found = 0
        for recorded_at, balance, _ in self.history:
            if recorded_at > instant:
                break
            found = balance
        return found

    def copy(self) -> ModelAccount:
        return dataclasses.replace(self, history=list(self.history))


def request_fields(operation: Operation, chain_id: UUID | None) -> Fields:
    """What a request asks for, field by field, kind first and chain id last."""
    op = operation
    body: Fields
    if isinstance(op, NewTransfer):
        body = [
            ("debit_account_id", op.debit_account_id),
            ("credit_account_id", op.credit_account_id),
            ("amount_minor", op.amount_minor),
            ("unit", op.unit),
            ("code", op.code),
            ("actor", op.actor),
            ("memo", op.memo),
            ("effective_at", op.effective_at),
        ]
    elif isinstance(op, NewPending):
        body = [
            ("debit_account_id", op.debit_account_id),
            ("credit_account_id", op.credit_account_id),
            ("amount_minor", op.amount_minor),
            ("unit", op.unit),
            ("code", op.code),
            ("actor", op.actor),
            ("expires_at", op.expires_at),
            ("memo", op.memo),
            ("effective_at", op.effective_at),
        ]
    elif isinstance(op, PostPending):
        body = [
            ("pending_id", op.pending_id),
            ("actor", op.actor),
            ("amount_minor", op.amount_minor),
            ("memo", op.memo),
            ("effective_at", op.effective_at),
        ]
    elif isinstance(op, VoidPending):
        body = [("pending_id", op.pending_id), ("actor", op.actor), ("memo", op.memo)]
    elif isinstance(op, ExpirePending):
        body = [("pending_id", op.pending_id), ("actor", op.actor)]
    else:
        body = [
            ("reverses_id", op.reverses_id),
            ("actor", op.actor),
            ("memo", op.reason),
            ("amount_minor", op.amount_minor),
            ("code", op.code),
            ("override_limits", op.override_limits),
            ("effective_at", op.effective_at),
        ]
    return [("kind", KIND_OF[type(op)]), *body, ("chain_id", chain_id)]


def stored_fields(transfer: Transfer) -> dict[str, Any]:
    return {
        "kind": transfer.kind,
        "debit_account_id": transfer.debit_account_id,
        "credit_account_id": transfer.credit_account_id,
        "amount_minor": transfer.amount_minor,
        "unit": transfer.unit,
        "code": transfer.code,
        "actor": transfer.actor,
        "memo": transfer.memo,
        "effective_at": transfer.effective_at,
        "expires_at": transfer.expires_at,
        "pending_id": transfer.pending_id,
        "reverses_id": transfer.reverses_id,
        "override_limits": transfer.override_limits,
        "chain_id": transfer.chain_id,
    }


def _differs(name: str, existing: Any, requested: Any) -> errors.ExistsWithDifferentField:
    return errors.ExistsWithDifferentField(
        field=name, existing=_json(existing), requested=_json(requested)
    )


def _valid_amount(amount: int) -> bool:
    return 0 < amount <= AMOUNT_MINOR_MAX


def shape_error(operation: Operation) -> LedgerError | None:
    """Refusals that need neither the database nor the clock (never recorded against the id)."""
    op = operation
    if isinstance(op, NewTransfer | NewPending):
        if op.debit_account_id == op.credit_account_id:
            return errors.SameAccount(account_id=str(op.debit_account_id))
        if not _valid_amount(op.amount_minor):
            return errors.AmountInvalid(
                amount_minor=str(op.amount_minor), max_minor=AMOUNT_MINOR_MAX
            )
    elif isinstance(op, PostPending | Reverse):
        if op.amount_minor is not None and not _valid_amount(op.amount_minor):
            return errors.AmountInvalid(
                amount_minor=str(op.amount_minor), max_minor=AMOUNT_MINOR_MAX
            )
        if isinstance(op, Reverse) and not op.reason.strip():
            return errors.ReasonRequired()
    # Text no engine stores alike (a NUL) is refused after the checks above.
    text, field = (op.reason, "reason") if isinstance(op, Reverse) else (_memo(op), "memo")
    if "\x00" in text:
        return errors.TextInvalid(field=field)
    return None


def _memo(op: Operation) -> str:
    return "" if isinstance(op, ExpirePending) else op.memo


def expiry_window_error(op: NewPending, now: datetime) -> LedgerError | None:
    """The clock-dependent check, after idempotency (errors.py step 2b); not recorded."""
    latest = now + timedelta(seconds=PENDING_TIMEOUT_SECONDS_MAX)
    if now < op.expires_at <= latest:
        return None
    return errors.ExpiryInvalid(
        expires_at=op.expires_at.isoformat(), max_seconds=PENDING_TIMEOUT_SECONDS_MAX
    )


def chain_shape_error(operations: Sequence[Operation]) -> LedgerError | None:
    ids = [op.id for op in operations]
    if not 1 <= len(ids) <= CHAIN_TRANSFERS_MAX or len(set(ids)) != len(ids):
        return errors.ChainInvalid(transfers=len(ids), max_transfers=CHAIN_TRANSFERS_MAX)
    for op in operations:
        error = shape_error(op)
        if error is not None:
            return error
    return None


def default_chain_id(operations: Sequence[Operation]) -> UUID:
    # ledger.api documents default chain ids as UUIDv5 of the first transfer id.
    return uuid.uuid5(LEDGER_NAMESPACE, f"chain:{operations[0].id}")


class Model:
    """What the ledger must hold, computed without any database."""

    def __init__(self) -> None:
        self.accounts: dict[UUID, ModelAccount] = {}
        self.transfers: dict[UUID, Transfer] = {}
        self.failures: dict[UUID, tuple[Fields, LedgerError]] = {}
        # The request that made an id a transfer or a recorded failure.
        self.origins: dict[UUID, tuple[Operation, UUID | None]] = {}
        self.resolutions: dict[UUID, Transfer] = {}  # pending id -> post/void/expire
        self.reversed: dict[UUID, int] = {}

    def clone(self) -> Model:
        other = Model()
        other.accounts = {key: account.copy() for key, account in self.accounts.items()}
        other.transfers = dict(self.transfers)
        other.failures = dict(self.failures)
        other.origins = dict(self.origins)
        other.resolutions = dict(self.resolutions)
        other.reversed = dict(self.reversed)
        return other

    def adopt(self, draft: Model) -> None:
        self.__dict__.update(draft.__dict__)

    # Writing -----------------------------------------------------------------------

    def write_group(
        self, operations: Sequence[Operation], chain_id: UUID | None, now: datetime
    ) -> tuple[list[Transfer], LedgerError | None]:
        """One operation or one chain: all of it or nothing."""
        draft = self.clone()
        written: list[Transfer] = []
        for op in operations:
            try:
                written.append(draft.apply(op, chain_id, now))
            except LedgerError as error:
                self._record_failure(operations, chain_id, op.id, error)
                return [], error
        self.adopt(draft)
        return written, None

    def _record_failure(
        self,
        operations: Sequence[Operation],
        chain_id: UUID | None,
        failed_id: UUID,
        error: LedgerError,
    ) -> None:
        if not error.recorded:
            return  # an idempotency or expiry-window refusal says nothing about the ids
        for op in operations:
            if op.id in self.failures or op.id in self.transfers:
                continue
            own: LedgerError = error
            if op.id != failed_id:
                own = errors.ChainFailed(failed_transfer_id=str(failed_id), failed_code=error.code)
            self.failures[op.id] = (request_fields(op, chain_id), own)
            self.origins[op.id] = (op, chain_id)

    def earlier_answer(self, op: Operation, chain_id: UUID | None) -> Transfer | None:
        """Idempotency: the stored transfer, or the first failure raised again; None if new."""
        requested = request_fields(op, chain_id)
        stored = self.transfers.get(op.id)
        if stored is not None:
            existing = stored_fields(stored)
            for name, value in requested:
                if value is None and name in ("amount_minor", "effective_at"):
                    continue
                if existing[name] != value:
                    raise _differs(name, existing[name], value)
            return stored
        if op.id in self.failures:
            first, error = self.failures[op.id]
            first_fields = dict(first)
            for name, value in requested:
                if first_fields.get(name) != value:
                    raise _differs(name, first_fields.get(name), value)
            raise error
        return None

    def apply(self, op: Operation, chain_id: UUID | None, now: datetime) -> Transfer:
        earlier = self.earlier_answer(op, chain_id)
        if earlier is not None:
            return earlier
        if isinstance(op, NewPending):
            window_error = expiry_window_error(op, now)
            if window_error is not None:
                raise window_error
        if isinstance(op, NewTransfer | NewPending):
            transfer = self._apply_new(op, chain_id, now)
        elif isinstance(op, Reverse):
            transfer = self._apply_reversal(op, chain_id, now)
        else:
            transfer = self._apply_resolution(op, chain_id, now)
        self.transfers[op.id] = transfer
        self.origins[op.id] = (op, chain_id)
        return transfer

    def _usable(self, account_id: UUID, unit: Unit, *, closed_ok: bool = False) -> ModelAccount:
        account = self.accounts.get(account_id)
        if account is None:
            raise errors.AccountNotFound(account_id=str(account_id))
        if account.unit != unit:
            raise errors.UnitMismatch(
                account_id=str(account_id), account_unit=account.unit.value, unit=str(unit)
            )
        if account.closed and not closed_ok:
            raise errors.AccountClosed(account_id=str(account_id))
        return account

    def _apply_new(
        self, op: NewTransfer | NewPending, chain_id: UUID | None, now: datetime
    ) -> Transfer:
        debit = self._usable(op.debit_account_id, op.unit)
        credit = self._usable(op.credit_account_id, op.unit)
        pending = isinstance(op, NewPending)
        transfer = Transfer(
            id=op.id,
            kind=TransferKind.PENDING if pending else TransferKind.SINGLE,
            unit=op.unit,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_minor=op.amount_minor,
            pending_id=None,
            reverses_id=None,
            chain_id=chain_id,
            expires_at=op.expires_at if isinstance(op, NewPending) else None,
            code=op.code,
            memo=op.memo,
            actor=op.actor,
            override_limits=False,
            effective_at=op.effective_at or now,
            recorded_at=now,
        )
        amount = op.amount_minor
        if pending:
            self._move(transfer, debit, (0, 0, amount, 0), credit, (0, 0, 0, amount))
        else:
            self._move(transfer, debit, (amount, 0, 0, 0), credit, (0, amount, 0, 0))
        return transfer

    def _apply_resolution(
        self, op: PostPending | VoidPending | ExpirePending, chain_id: UUID | None, now: datetime
    ) -> Transfer:
        pending = self.transfers.get(op.pending_id)
        if pending is None:
            raise errors.PendingNotFound(pending_id=str(op.pending_id))
        if pending.kind is not TransferKind.PENDING:
            raise errors.PendingKindInvalid(pending_id=str(pending.id), kind=pending.kind.value)
        resolution = self.resolutions.get(pending.id)
        if resolution is not None:
            raise errors.PendingAlreadyResolved(
                pending_id=str(pending.id),
                resolution_id=str(resolution.id),
                resolution_kind=resolution.kind.value,
            )
        assert pending.expires_at is not None
        expired = now >= pending.expires_at
        if isinstance(op, ExpirePending) and not expired:
            raise errors.PendingNotExpired(
                pending_id=str(pending.id), expires_at=pending.expires_at.isoformat()
            )
        if not isinstance(op, ExpirePending) and expired:
            raise errors.PendingExpired(
                pending_id=str(pending.id), expires_at=pending.expires_at.isoformat()
            )
        debit = self._usable(pending.debit_account_id, pending.unit, closed_ok=True)
        credit = self._usable(pending.credit_account_id, pending.unit, closed_ok=True)
        held = pending.amount_minor
        if isinstance(op, PostPending):
            posted = held if op.amount_minor is None else op.amount_minor
            if posted > held:
                raise errors.PostExceedsPending(
                    pending_id=str(pending.id), amount_minor=posted, pending_minor=held
                )
            kind, amount = TransferKind.POST, posted
            debit_delta = (posted, 0, -held, 0)
            credit_delta = (0, posted, 0, -held)
        else:
            kind = TransferKind.VOID if isinstance(op, VoidPending) else TransferKind.EXPIRE
            amount, debit_delta, credit_delta = held, (0, 0, -held, 0), (0, 0, 0, -held)
        transfer = Transfer(
            id=op.id,
            kind=kind,
            unit=pending.unit,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount_minor=amount,
            pending_id=pending.id,
            reverses_id=None,
            chain_id=chain_id,
            expires_at=None,
            code=pending.code,
            memo="" if isinstance(op, ExpirePending) else op.memo,
            actor=op.actor,
            override_limits=False,
            effective_at=(op.effective_at if isinstance(op, PostPending) else None) or now,
            recorded_at=now,
        )
        self.resolutions[pending.id] = transfer
        self._move(transfer, debit, debit_delta, credit, credit_delta)
        return transfer

    def _apply_reversal(self, op: Reverse, chain_id: UUID | None, now: datetime) -> Transfer:
        original = self.transfers.get(op.reverses_id)
        if original is None:
            raise errors.ReversalTargetNotFound(transfer_id=str(op.reverses_id))
        if original.kind not in REVERSIBLE:
            raise errors.ReversalKindInvalid(transfer_id=str(original.id), kind=original.kind.value)
        debit = self._usable(original.credit_account_id, original.unit)
        credit = self._usable(original.debit_account_id, original.unit)
        remaining = original.amount_minor - self.reversed.get(original.id, 0)
        if remaining == 0:
            raise errors.AlreadyReversed(transfer_id=str(original.id))
        amount = remaining if op.amount_minor is None else op.amount_minor
        if amount > remaining:
            raise errors.ReversalExceedsOriginal(
                transfer_id=str(original.id), amount_minor=amount, remaining_minor=remaining
            )
        transfer = Transfer(
            id=op.id,
            kind=TransferKind.REVERSAL,
            unit=original.unit,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_minor=amount,
            pending_id=None,
            reverses_id=original.id,
            chain_id=chain_id,
            expires_at=None,
            code=op.code,
            memo=op.reason,
            actor=op.actor,
            override_limits=op.override_limits,
            effective_at=op.effective_at or now,
            recorded_at=now,
        )
        self.reversed[original.id] = self.reversed.get(original.id, 0) + amount
        self._move(
            transfer,
            debit,
            (amount, 0, 0, 0),
            credit,
            (0, amount, 0, 0),
            override_limits=op.override_limits,
        )
        return transfer

    def _move(
        self,
        transfer: Transfer,
        debit: ModelAccount,
        debit_delta: tuple[int, int, int, int],
        credit: ModelAccount,
        credit_delta: tuple[int, int, int, int],
        *,
        override_limits: bool = False,
    ) -> None:
        available_before = debit.available
        credit_balance_before = credit.balance
        for account, delta in ((debit, debit_delta), (credit, credit_delta)):
            account.debits_posted += delta[0]
            account.credits_posted += delta[1]
            account.debits_pending += delta[2]
            account.credits_pending += delta[3]
        if debit.floor is not None and debit.available < debit.floor:
            if not override_limits:
                raise errors.ExceedsFloor(
                    account_id=str(debit.id),
                    available_minor=available_before,
                    floor_minor=debit.floor,
                    amount_minor=transfer.amount_minor,
                )
            debit.floor = debit.available
        if credit.ceiling is not None and credit.ceiling_measure > credit.ceiling:
            if not override_limits:
                raise errors.ExceedsCeiling(
                    account_id=str(credit.id),
                    balance_minor=credit_balance_before,
                    ceiling_minor=credit.ceiling,
                    amount_minor=transfer.amount_minor,
                )
            credit.ceiling = credit.ceiling_measure
        for account in (debit, credit):
            account.history.append((transfer.recorded_at, account.balance, transfer.id))

    # Reads -------------------------------------------------------------------------

    def entry_count(self) -> int:
        return sum(len(account.history) for account in self.accounts.values())

    def due_pending(self, now: datetime) -> list[Transfer]:
        due = [
            transfer
            for transfer in self.transfers.values()
            if transfer.kind is TransferKind.PENDING
            and transfer.id not in self.resolutions
            and transfer.expires_at is not None
            and transfer.expires_at <= now
        ]
        return sorted(due, key=lambda transfer: (transfer.expires_at, str(transfer.id)))


# The seed ----------------------------------------------------------------------------


def seed_operations(now: datetime) -> list[Operation]:
    ids = ACCOUNT_IDS
    moves = [("sys", key, amount, "welcome") for key, amount in SEED_GRANTS]
    moves += [(debit, credit, amount, "exchange") for debit, credit, amount in SEED_EXCHANGES]
    operations: list[Operation] = [
        NewTransfer(
            id=uuid.uuid5(TEST_NAMESPACE, f"seed:{code}:{debit}:{credit}"),
            debit_account_id=ids[debit],
            credit_account_id=ids[credit],
            amount_minor=amount,
            unit=Unit.HOUR,
            code=code,
            actor="system:seed",
        )
        for debit, credit, amount, code in moves
    ]
    operations += [
        NewPending(
            id=uuid.uuid5(TEST_NAMESPACE, f"seed:hold:{debit}:{credit}"),
            debit_account_id=ids[debit],
            credit_account_id=ids[credit],
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:1",
            expires_at=now + timedelta(seconds=seconds),
        )
        for debit, credit, amount, seconds in SEED_HOLDS
    ]
    return operations


def seed_model(now: datetime) -> Model:
    model = Model()
    for key, unit, floor, ceiling in ACCOUNTS:
        model.accounts[ACCOUNT_IDS[key]] = ModelAccount(
            id=ACCOUNT_IDS[key], unit=unit, floor=floor, ceiling=ceiling, closed=key == "closed"
        )
    for op in seed_operations(now):
        _, error = model.write_group((op,), None, now)
        assert error is None, error
    return model


async def write_seed(url: str) -> None:
    """Open the accounts and write the seed through the ledger, checking every answer."""
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    try:
        clock = Clock()
        ledger = Ledger(engine, clock=clock)
        model = seed_model(clock.now)
        for key, unit, floor, ceiling in ACCOUNTS:
            opened = await ledger.open_account(
                unit=unit,
                owner="community:1:issuance" if key == "sys" else f"member:{key}",
                floor_minor=floor,
                ceiling_minor=ceiling,
                account_id=ACCOUNT_IDS[key],
            )
            assert (opened.id, opened.unit, opened.floor_minor, opened.ceiling_minor) == (
                ACCOUNT_IDS[key],
                unit,
                floor,
                ceiling,
            )
            assert (opened.balance_minor, opened.version, opened.closed_at) == (0, 0, None)
            if key == "closed":
                closed = await ledger.close_account(account_id=opened.id)
                assert closed.closed_at == clock.now
        for op in seed_operations(clock.now):
            assert await ledger.execute(operation=op) == model.transfers[op.id]
        report = await ledger.verify()
        assert report.ok, report.summary()
    finally:
        await database.release(engine)


# Strategies --------------------------------------------------------------------------

# Mostly the five HOUR accounts (sys most of all: it funds the others); now and
# then an account of another unit, a closed one, or one that does not exist.
account_keys = st.sampled_from(["sys"] * 6 + ["a", "b", "c", "d"] * 5 + ["gbp", "closed", "ghost"])


def _distinct(pair: tuple[str, str]) -> tuple[str, str]:
    # Debit and credit may be the same only for "a" (same_account stays rare).
    debit, credit = pair
    if debit == credit and debit != "a":
        credit = "b" if debit != "b" else "c"
    return debit, credit


account_pairs = st.tuples(account_keys, account_keys).map(_distinct)
amounts = st.one_of(st.integers(1, 90), st.integers(0, 700))
partial_amounts = st.one_of(st.none(), st.integers(1, 60), st.integers(1, 300))
expiries = st.one_of(st.integers(1, 300), st.integers(-60, 900))  # seconds from now
codes = st.sampled_from(["exchange", "gift", "welcome"])
# A NUL (hostile text, refused as text_invalid) now and then.
memos = st.sampled_from(["", "gardening", "lift to the clinic"] * 3 + ["lift\x00"])
reasons = st.sampled_from(["dispute"] * 5 + ["correction"] * 2 + [" ", "dispute\x00"])
targets = st.sampled_from(["open", "open", "open", "open", "own", "any", "local", "ghost"])
picks = st.integers(0, 1_000)
effective_offsets = st.one_of(st.none(), st.none(), st.integers(-86_400, 0))

op_specs = st.one_of(
    st.tuples(st.just("transfer"), account_pairs, amounts, codes),
    st.tuples(st.just("pending"), account_pairs, amounts, expiries),
    st.tuples(st.just("post"), targets, picks, partial_amounts),
    st.tuples(st.just("void"), targets, picks),
    st.tuples(st.just("reverse"), targets, picks, partial_amounts, st.booleans()),
    st.tuples(st.just("expire"), targets, picks),
    st.tuples(st.just("resend"), picks),
    st.tuples(st.just("conflict"), picks, picks),
)
# Requests likely to succeed, so that whole chains commit too, not only fail.
hour_pairs = st.tuples(st.sampled_from(HOUR_KEYS), st.sampled_from(HOUR_KEYS)).map(_distinct)
small_amounts = st.integers(1, 40)
likely_specs = st.one_of(
    st.tuples(st.just("transfer"), hour_pairs, small_amounts, codes),
    st.tuples(st.just("pending"), hour_pairs, small_amounts, st.integers(60, 900)),
    st.tuples(st.just("post"), st.sampled_from(["local", "open"]), picks, st.none()),
    st.tuples(st.just("reverse"), st.just("open"), picks, st.integers(1, 10), st.just(value=False)),
)
chain_specs = st.lists(st.one_of(likely_specs, likely_specs, op_specs), min_size=2, max_size=4)
batch_specs = st.lists(
    st.one_of(
        op_specs.map(lambda spec: ("single", spec)),
        likely_specs.map(lambda spec: ("single", spec)),
        chain_specs.map(lambda specs: ("chain", specs[:3])),
    ),
    min_size=2,
    max_size=5,
)


def compared_fields(op: Operation) -> list[str]:
    """The fields a re-send of `op` is compared on (each one can be changed by `mutate`)."""
    return [name for name, _ in request_fields(op, None)]


def _pick(candidates: Sequence[T], index: int) -> T | None:
    return candidates[index % len(candidates)] if candidates else None


def _step(method: Callable[..., None]) -> Callable[..., None]:
    """Mark the machine unhealthy while a step runs, so teardown checks only a clean state."""

    @functools.wraps(method)
    def wrapper(self: LedgerMachine, **kwargs: Any) -> None:
        self.healthy = False
        method(self, **kwargs)
        self.healthy = True

    return wrapper


# Where each example's database comes from ----------------------------------------------


@dataclass(frozen=True)
class Target:
    """The per-test seeded database each example starts from (a file or a database name)."""

    kind: str
    workdir: Path
    seed: str
    # PostgreSQL databases are created and dropped a few at a time: concurrent
    # statements share their WAL flushes and checkpoints, and cost far less.
    spare: list[str] = field(default_factory=list)  # created, not used yet
    to_drop: list[str] = field(default_factory=list)  # used by finished examples


class LedgerMachine(RuleBasedStateMachine):
    target: Target

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.model = Model()
        self.ids = itertools.count()
        self.keys: dict[str, UUID] = {}
        self.sent: list[tuple[Operation, UUID | None]] = []
        self.steps = 0
        self.healthy = True
        self.engine: Engine[Any] | None = None
        self.ledger: Ledger | None = None
        self.sqlite_path: Path | None = None
        self.postgres_name: str | None = None

    # Plumbing ------------------------------------------------------------------------

    def run(self, awaitable: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def attempt(self, awaitable: Coroutine[Any, Any, T]) -> tuple[T | None, LedgerError | None]:
        try:
            return self.run(awaitable), None
        except LedgerError as error:
            return None, error

    @property
    def now(self) -> datetime:
        return self.clock.now

    @property
    def api(self) -> Ledger:
        assert self.ledger is not None
        return self.ledger

    def new_id(self) -> UUID:
        return uuid.uuid5(TEST_NAMESPACE, f"transfer:{next(self.ids)}")

    def account_id(self, key: str) -> UUID:
        return GHOST_ACCOUNT if key == "ghost" else self.keys[key]

    async def open_database(self) -> None:
        if self.target.kind == "sqlite":
            number = next(_database_counter)
            self.sqlite_path = self.target.workdir / f"machine_{number}.sqlite3"
            shutil.copyfile(self.target.seed, self.sqlite_path)
            url = f"sqlite:///{self.sqlite_path}"
        else:
            if not self.target.spare:
                await create_databases(self.target)
            self.postgres_name = name = self.target.spare.pop()
            url = postgres_url(name)
        self.engine = database.engine_from_url(url)
        await database.prepare(self.engine)
        self.ledger = Ledger(self.engine, clock=self.clock)

    async def close_database(self) -> None:
        try:
            if self.engine is not None:
                await database.release(self.engine)
        finally:
            if self.postgres_name is not None:
                self.target.to_drop.append(self.postgres_name)
                if len(self.target.to_drop) >= DATABASES_TOGETHER:
                    await drop_databases(self.target.to_drop)
            if self.sqlite_path is not None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)

    def teardown(self) -> None:
        try:
            if self.ledger is not None and self.healthy:
                self.run(self.final_checks())
        finally:
            try:
                self.run(self.close_database())
            finally:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
                self.loop.close()

    # Comparing the ledger with the model ------------------------------------------------

    def check_outcome(
        self,
        actual: Any,
        actual_error: LedgerError | None,
        expected: Any,
        expected_error: LedgerError | None,
    ) -> None:
        if expected_error is not None:
            assert actual_error is not None, (
                f"expected {expected_error.describe()}, the ledger returned {actual}"
            )
            assert type(actual_error) is type(expected_error), (
                f"expected {expected_error.describe()}, got {actual_error.describe()}"
            )
            assert actual_error.data == expected_error.data, (
                f"expected {expected_error.describe()}, got {actual_error.describe()}"
            )
            if isinstance(expected_error, errors.ExistsWithDifferentField):
                assert isinstance(actual_error, errors.ExistsWithDifferentField)
                assert actual_error.field == expected_error.field
                assert actual_error.code == f"exists_with_different_{actual_error.field}"
            return
        assert actual_error is None, f"unexpected {actual_error.describe()}"
        assert actual == expected

    def predict_single(self, op: Operation) -> tuple[Transfer | None, LedgerError | None]:
        error = shape_error(op)
        if error is not None:
            return None, error
        written, error = self.model.write_group((op,), None, self.now)
        return (written[0] if written else None), error

    async def call_single(self, op: Operation) -> Transfer:
        api = self.api
        if isinstance(op, NewTransfer):
            return await api.transfer(
                id=op.id,
                debit_account_id=op.debit_account_id,
                credit_account_id=op.credit_account_id,
                amount_minor=op.amount_minor,
                unit=op.unit,
                code=op.code,
                actor=op.actor,
                memo=op.memo,
                effective_at=op.effective_at,
            )
        if isinstance(op, NewPending):
            return await api.pending_transfer(
                id=op.id,
                debit_account_id=op.debit_account_id,
                credit_account_id=op.credit_account_id,
                amount_minor=op.amount_minor,
                unit=op.unit,
                code=op.code,
                actor=op.actor,
                expires_at=op.expires_at,
                memo=op.memo,
                effective_at=op.effective_at,
            )
        if isinstance(op, PostPending):
            return await api.post_pending(
                id=op.id,
                pending_id=op.pending_id,
                actor=op.actor,
                amount_minor=op.amount_minor,
                memo=op.memo,
                effective_at=op.effective_at,
            )
        if isinstance(op, VoidPending):
            return await api.void_pending(
                id=op.id, pending_id=op.pending_id, actor=op.actor, memo=op.memo
            )
        if isinstance(op, Reverse) and op.effective_at is None:
            return await api.reverse(
                id=op.id,
                reverses_id=op.reverses_id,
                actor=op.actor,
                reason=op.reason,
                amount_minor=op.amount_minor,
                code=op.code,
                override_limits=op.override_limits,
            )
        return await api.execute(operation=op)

    def send_single(self, op: Operation) -> tuple[Transfer | None, LedgerError | None]:
        expected, expected_error = self.predict_single(op)
        actual, actual_error = self.attempt(self.call_single(op))
        self.check_outcome(actual, actual_error, expected, expected_error)
        self.sent.append((op, None))
        return actual, actual_error

    def send_chain(
        self, operations: list[Operation], chain_id: UUID | None
    ) -> tuple[list[Transfer] | None, LedgerError | None]:
        effective_chain_id = chain_id or default_chain_id(operations)
        expected: list[Transfer] | None = None
        expected_error = chain_shape_error(operations)
        if expected_error is None:
            expected, expected_error = self.model.write_group(
                operations, effective_chain_id, self.now
            )
        actual, actual_error = self.attempt(
            self.api.chain(operations=operations, chain_id=chain_id)
        )
        self.check_outcome(actual, actual_error, expected, expected_error)
        self.sent.extend((op, effective_chain_id) for op in operations)
        return actual, actual_error

    def send_batch(self, items: list[Item]) -> None:
        now = self.now
        ids = [op.id for item in items for op in _operations(item)]
        if len(set(ids)) != len(ids):
            expected_batch_error = errors.BatchInvalid(
                items=len(items), max_items=BATCH_ITEMS_MAX, max_transfers=BATCH_TRANSFERS_MAX
            )
            _, actual_error = self.attempt(self.api.batch(items=items))
            self.check_outcome(None, actual_error, None, expected_batch_error)
            return
        expected: list[tuple[tuple[Transfer, ...], LedgerError | None]] = []
        for item in items:
            operations = _operations(item)
            chain_id = None
            if isinstance(item, Chain):
                chain_id = item.chain_id or default_chain_id(operations)
                error = chain_shape_error(operations)
            else:
                error = shape_error(item)
            written: list[Transfer] = []
            if error is None:
                written, error = self.model.write_group(operations, chain_id, now)
            expected.append((tuple(written), error))
            self.sent.extend((op, chain_id) for op in operations)
        results = self.run(self.api.batch(items=items))
        assert len(results) == len(items)
        for result, (transfers, error) in zip(results, expected, strict=True):
            actual_error = result.error
            assert actual_error is None or isinstance(actual_error, LedgerError), actual_error
            self.check_outcome(result.transfers, actual_error, transfers, error)
            assert result.ok == (error is None)
            if error is not None:
                assert result.transfers == (), "a refused item must report no transfers"

    # Building requests from drawn specs ------------------------------------------------

    def target_id(self, selector: str, pick: int, want: str, local: Sequence[Operation]) -> UUID:
        """A transfer id to refer to: `want` is 'pending' or 'reversible'."""
        model = self.model
        if selector == "local":
            # Earlier requests of the same chain or batch: new ones, or re-uses of the
            # id of a stored transfer of the wanted kind (re-sent, or with other content).
            wanted = (TransferKind.PENDING,) if want == "pending" else REVERSIBLE
            new_type = NewPending if want == "pending" else NewTransfer | PostPending
            mine = [
                op.id
                for op in local
                if isinstance(op, new_type)
                or (op.id in model.transfers and model.transfers[op.id].kind in wanted)
            ]
            if mine:
                return mine[pick % len(mine)]
            selector = "open"
        if selector == "ghost":
            return GHOST_TRANSFER
        if selector == "any":
            return _pick(list(model.transfers), pick) or GHOST_TRANSFER
        kinds = (TransferKind.PENDING,) if want == "pending" else REVERSIBLE
        own = [t for t in model.transfers.values() if t.kind in kinds]
        if want == "pending":
            still_open = [t for t in own if t.id not in model.resolutions]
        else:
            still_open = [t for t in own if model.reversed.get(t.id, 0) < t.amount_minor]
        # "open" falls back to a decided one, then to an id nobody wrote.
        candidates = (still_open or own) if selector == "open" else own
        found = _pick(candidates, pick)
        return GHOST_TRANSFER if found is None else found.id

    def build(self, spec: tuple[Any, ...], local: Sequence[Operation]) -> Operation:
        """A request from a drawn spec; `local` are the earlier requests of its chain or batch."""
        builder: Callable[..., Operation] = getattr(self, f"_build_{spec[0]}")
        return builder(local, *spec[1:])

    def _build_transfer(
        self, _local: Sequence[Operation], accounts: tuple[str, str], amount: int, code: str
    ) -> Operation:
        return NewTransfer(
            id=self.new_id(),
            debit_account_id=self.account_id(accounts[0]),
            credit_account_id=self.account_id(accounts[1]),
            amount_minor=amount,
            unit=Unit.HOUR,
            code=code,
            actor="member:1",
        )

    def _build_pending(
        self, _local: Sequence[Operation], accounts: tuple[str, str], amount: int, expires_in: int
    ) -> Operation:
        return NewPending(
            id=self.new_id(),
            debit_account_id=self.account_id(accounts[0]),
            credit_account_id=self.account_id(accounts[1]),
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:1",
            expires_at=self.now + timedelta(seconds=expires_in),
        )

    def _build_post(
        self, local: Sequence[Operation], selector: str, pick: int, amount: int | None
    ) -> Operation:
        pending_id = self.target_id(selector, pick, "pending", local)
        return PostPending(
            id=self.new_id(), pending_id=pending_id, actor="member:1", amount_minor=amount
        )

    def _build_void(self, local: Sequence[Operation], selector: str, pick: int) -> Operation:
        pending_id = self.target_id(selector, pick, "pending", local)
        return VoidPending(id=self.new_id(), pending_id=pending_id, actor="member:1")

    def _build_expire(self, local: Sequence[Operation], selector: str, pick: int) -> Operation:
        pending_id = self.target_id(selector, pick, "pending", local)
        return ExpirePending(id=self.new_id(), pending_id=pending_id)

    def _build_reverse(
        self,
        local: Sequence[Operation],
        selector: str,
        pick: int,
        amount: int | None,
        override: bool,
    ) -> Operation:
        return Reverse(
            id=self.new_id(),
            reverses_id=self.target_id(selector, pick, "reversible", local),
            actor="coordinator:1",
            reason="dispute",
            amount_minor=amount,
            override_limits=override,
        )

    def _build_conflict(self, _local: Sequence[Operation], pick: int, which: int) -> Operation:
        """A decided id with one field of its request changed."""
        origin_id = _pick(list(self.model.origins), pick)
        assert origin_id is not None  # the seed decided some ids
        op, chain_id = self.model.origins[origin_id]
        fields = [name for name in compared_fields(op) if name != "chain_id"]
        return self.mutate(op, chain_id, fields[which % len(fields)])[0]

    def _build_resend(self, _local: Sequence[Operation], pick: int) -> Operation:
        earlier = _pick(self.sent, pick)
        assert earlier is not None  # the seed was sent
        return earlier[0]

    def mutate(
        self, op: Operation, chain_id: UUID | None, name: str
    ) -> tuple[Operation, UUID | None]:
        """The same id with exactly one field of the request changed."""
        if name == "chain_id":
            return op, (self.new_id() if chain_id is None else None)
        if name == "kind":
            return self._other_kind(op), chain_id
        attribute = "reason" if name == "memo" and isinstance(op, Reverse) else name
        value = getattr(op, attribute)
        stored = self.model.transfers.get(op.id)
        changed: Any
        if name in ("debit_account_id", "credit_account_id"):
            assert isinstance(op, NewTransfer | NewPending)
            taken = {op.debit_account_id, op.credit_account_id}
            changed = next(self.keys[key] for key in HOUR_KEYS if self.keys[key] not in taken)
        elif name in ("pending_id", "reverses_id"):
            changed = self.new_id()
        elif name == "amount_minor":
            # Left out ("all of it") on the first request: differ from what was stored.
            changed = (value or (stored.amount_minor if stored else 0)) + 1
        elif name == "effective_at":
            # Left out ("now") on the first request: differ from what was stored.
            changed = (value or (stored.effective_at if stored else self.now)) - timedelta(hours=1)
        else:
            changed = {
                "unit": lambda: Unit.GBP if value is Unit.HOUR else Unit.HOUR,
                "code": lambda: "refund" if value != "refund" else "gift",
                "actor": lambda: value + "x",
                "memo": lambda: value + "!",
                "expires_at": lambda: value + timedelta(seconds=1),
                "override_limits": lambda: not value,
            }[name]()
        return dataclasses.replace(op, **{attribute: changed}), chain_id

    def _other_kind(self, op: Operation) -> Operation:
        if isinstance(op, VoidPending):
            return NewTransfer(
                id=op.id,
                debit_account_id=self.keys["sys"],
                credit_account_id=self.keys["a"],
                amount_minor=1,
                unit=Unit.HOUR,
                code="gift",
                actor=op.actor,
            )
        return VoidPending(
            id=op.id, pending_id=getattr(op, "pending_id", GHOST_TRANSFER), actor=op.actor
        )

    # Rules -------------------------------------------------------------------------------

    @initialize()
    def open_seeded_database(self) -> None:
        self.run(self.open_database())
        self.keys = dict(ACCOUNT_IDS)
        self.model = seed_model(self.now)
        self.sent = [(op, None) for op in seed_operations(self.now)]

    @rule(
        accounts=account_pairs,
        amount=amounts,
        code=codes,
        memo=memos,
        effective=effective_offsets,
    )
    @_step
    def transfer(
        self,
        accounts: tuple[str, str],
        amount: int,
        code: str,
        memo: str,
        effective: int | None,
    ) -> None:
        debit, credit = accounts
        self.send_single(
            NewTransfer(
                id=self.new_id(),
                debit_account_id=self.account_id(debit),
                credit_account_id=self.account_id(credit),
                amount_minor=amount,
                unit=Unit.HOUR,
                code=code,
                actor="member:1",
                memo=memo,
                effective_at=None if effective is None else self.now + timedelta(seconds=effective),
            )
        )

    @rule(
        accounts=account_pairs,
        amount=amounts,
        expires_in=expiries,
        wrong_unit=st.sampled_from([False] * 9 + [True]),
    )
    @_step
    def pending_transfer(
        self, accounts: tuple[str, str], amount: int, expires_in: int, wrong_unit: bool
    ) -> None:
        debit, credit = accounts
        self.send_single(
            NewPending(
                id=self.new_id(),
                debit_account_id=self.account_id(debit),
                credit_account_id=self.account_id(credit),
                amount_minor=amount,
                unit=Unit.GBP if wrong_unit else Unit.HOUR,
                code="exchange",
                actor="member:1",
                expires_at=self.now + timedelta(seconds=expires_in),
                memo="held",
            )
        )

    @rule(selector=targets, pick=picks, amount=partial_amounts, memo=memos)
    @_step
    def post_pending(self, selector: str, pick: int, amount: int | None, memo: str) -> None:
        pending_id = self.target_id(selector, pick, "pending", ())
        self.send_single(
            PostPending(
                id=self.new_id(),
                pending_id=pending_id,
                actor="member:1",
                amount_minor=amount,
                memo=memo,
            )
        )

    @rule(selector=targets, pick=picks, memo=memos)
    @_step
    def void_pending(self, selector: str, pick: int, memo: str) -> None:
        pending_id = self.target_id(selector, pick, "pending", ())
        self.send_single(
            VoidPending(id=self.new_id(), pending_id=pending_id, actor="member:1", memo=memo)
        )

    @rule(
        selector=targets,
        pick=picks,
        amount=partial_amounts,
        override=st.booleans(),
        reason=reasons,
        code=st.sampled_from(["reversal", "dispute_reversal", "refund"]),
    )
    @_step
    def reverse(
        self,
        *,
        selector: str,
        pick: int,
        amount: int | None,
        override: bool,
        reason: str,
        code: str,
    ) -> None:
        reverses_id = self.target_id(selector, pick, "reversible", ())
        self.send_single(
            Reverse(
                id=self.new_id(),
                reverses_id=reverses_id,
                actor="coordinator:1",
                reason=reason,
                amount_minor=amount,
                code=code,
                override_limits=override,
            )
        )

    @rule(seconds=st.integers(1, 400))
    @_step
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(seconds=st.integers(0, 600))
    @_step
    def expire_due(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)
        now = self.now
        expected: list[Transfer] = []
        for pending in self.model.due_pending(now):
            op = ExpirePending(
                id=uuid.uuid5(LEDGER_NAMESPACE, f"expire:{pending.id}"), pending_id=pending.id
            )
            written, error = self.model.write_group((op,), None, now)
            assert error is None, error
            expected += written
            self.sent.append((op, None))
        expired = self.run(self.api.expire_due())
        assert expired == expected
        assert all(t.kind is TransferKind.EXPIRE and t.actor == EXPIRY_ACTOR for t in expired)

    @rule(specs=chain_specs, explicit_id=st.booleans())
    @_step
    def chain(self, specs: list[tuple[Any, ...]], explicit_id: bool) -> None:
        operations: list[Operation] = []
        for spec in specs:
            operations.append(self.build(spec, operations))
        self.send_chain(operations, self.new_id() if explicit_id else None)

    @rule(specs=batch_specs)
    @_step
    def batch(self, specs: list[tuple[str, Any]]) -> None:
        items: list[Item] = []
        local: list[Operation] = []
        for shape, spec in specs:
            if shape == "single":
                op = self.build(spec, local)
                local.append(op)
                items.append(op)
            else:
                members: list[Operation] = []
                for member_spec in spec:
                    members.append(self.build(member_spec, [*local, *members]))
                local += members
                items.append(Chain(tuple(members), self.new_id()))
        self.send_batch(items)

    @rule(pick=picks, which=picks, conflict_first=st.booleans(), partial=st.booleans())
    @_step
    def batch_reusing_referenced_id(
        self, pick: int, which: int, conflict_first: bool, partial: bool
    ) -> None:
        """One batch (as group commit makes of concurrent requests): a re-use of a
        stored transfer's id with other content, and a request referring to that transfer."""
        stored_ids = [key for key in self.model.origins if key in self.model.transfers]
        stored = self.model.transfers[stored_ids[pick % len(stored_ids)]]
        op, chain_id = self.model.origins[stored.id]
        fields = [name for name in compared_fields(op) if name != "chain_id"]
        conflict = self.mutate(op, chain_id, fields[which % len(fields)])[0]
        amount = 1 if partial else None
        reference: Operation
        if stored.kind is TransferKind.PENDING:
            reference = PostPending(
                id=self.new_id(), pending_id=stored.id, actor="member:1", amount_minor=amount
            )
        else:
            reference = Reverse(
                id=self.new_id(),
                reverses_id=stored.id,
                actor="coordinator:1",
                reason="dispute",
                amount_minor=amount,
            )
        self.send_batch([conflict, reference] if conflict_first else [reference, conflict])

    @rule(pick=picks, via_batch=st.booleans())
    @_step
    def resend_same(self, pick: int, via_batch: bool) -> None:
        """Re-send an id the ledger decided before, with the same content: nothing moves."""
        origin_id = _pick(list(self.model.origins), pick)
        if origin_id is None:
            return
        op, chain_id = self.model.origins[origin_id]
        stored = self.model.transfers.get(op.id)
        recorded = self.model.failures.get(op.id)
        entries_before = self.model.entry_count()
        if via_batch:
            item: Item = op if chain_id is None else Chain((op,), chain_id)
            self.send_batch([item])
            # The model wrote nothing, and the invariant holds the ledger to it.
            assert self.model.entry_count() == entries_before
            return
        if chain_id is None:
            actual, error = self.send_single(op)
            transfers = None if actual is None else [actual]
        else:
            transfers, error = self.send_chain([op], chain_id)
        assert self.model.entry_count() == entries_before
        # Beyond agreeing with the model: exactly the original answer, even when a
        # pending's expiry has passed since (guarantee 5 comes before the window).
        if stored is not None:
            assert error is None
            assert transfers == [stored]
        else:
            assert recorded is not None
            assert error == recorded[1]

    @rule(pick=picks, which=picks)
    @_step
    def resend_different(self, pick: int, which: int) -> None:
        """Re-send a decided id with one field changed: exists_with_different_<field>."""
        origin_id = _pick(list(self.model.origins), pick)
        if origin_id is None:
            return
        op, chain_id = self.model.origins[origin_id]
        fields = compared_fields(op)
        name = fields[which % len(fields)]
        changed, changed_chain_id = self.mutate(op, chain_id, name)
        if changed_chain_id is None:
            _, error = self.send_single(changed)
        else:
            _, error = self.send_chain([changed], changed_chain_id)
        assert error is not None
        if isinstance(error, errors.ExistsWithDifferentField):
            assert error.field == name
        else:
            # Only a request-shape refusal may come first (never the expiry window).
            assert not error.recorded, error.describe()

    # Invariants -----------------------------------------------------------------------

    @invariant()
    def ledger_matches_model(self) -> None:
        self.healthy = False
        self.steps += 1
        self.run(self.check_state(thorough=self.steps % THOROUGH_EVERY_STEPS == 0))
        self.healthy = True

    async def check_state(self, *, thorough: bool) -> None:
        # One read transaction per step: the ledger's reads join it, so they see
        # one snapshot and do not open a connection each.
        assert self.engine is not None
        async with self.engine.transaction():
            await self.check_snapshot(thorough=thorough)

    async def check_snapshot(self, *, thorough: bool) -> None:
        """Every step: balances, zero sum per unit, balance_at. Every few steps: the rest."""
        api = self.api
        model = self.model
        for account in model.accounts.values():
            balance = await api.balance(account_id=account.id)
            assert (
                balance.balance_minor,
                balance.available_minor,
                balance.debits_pending_minor,
                balance.credits_pending_minor,
                balance.version,
            ) == (
                account.balance,
                account.available,
                account.debits_pending,
                account.credits_pending,
                len(account.history),
            ), f"account {account.id}"
        for unit in Unit:
            trial = await api.trial_balance(unit=unit)
            assert trial.balanced
            accounts = [a for a in model.accounts.values() if a.unit is unit]
            assert trial.total_debits_minor == sum(a.debits_posted for a in accounts)
            assert trial.total_credits_minor == sum(a.credits_posted for a in accounts)
            assert sum(row.balance_minor for row in trial.rows) == 0
            assert {row.account_id: row.balance_minor for row in trial.rows} == {
                a.id: a.balance for a in accounts
            }
        await self.check_balance_at()
        if thorough:
            await self.check_limits()
            await self.check_verify()

    async def check_limits(self) -> None:
        # Limits move only when a reversal overrides them; a discrepancy persists.
        for account in self.model.accounts.values():
            row = await self.api.account(account_id=account.id)
            assert (row.floor_minor, row.ceiling_minor) == (account.floor, account.ceiling)
            assert (row.closed_at is not None) == account.closed

    async def check_balance_at(self) -> None:
        """Posted balances at a past instant, cycling through recorded instants and accounts.

        Two accounts at the instant itself, and a third a microsecond before it
        (entries recorded at the instant must not count then).
        """
        instants = sorted(
            {entry[0] for account in self.model.accounts.values() for entry in account.history}
        )
        instant = instants[self.steps % len(instants)]
        keys = [HOUR_KEYS[(self.steps + offset) % len(HOUR_KEYS)] for offset in range(3)]
        probes = [
            (keys[0], instant),
            (keys[1], instant),
            (keys[2], instant - timedelta(microseconds=1)),
        ]
        for key, probe in probes:
            account = self.model.accounts[self.keys[key]]
            found = await self.api.balance_at(account_id=account.id, at=probe)
            assert found == account.balance_at(probe), (key, probe)

    async def check_verify(self) -> None:
        report = await self.api.verify()
        assert report.ok, report.summary()
        assert report.entries_checked == self.model.entry_count()
        assert report.transfers_checked == len(self.model.transfers)
        assert report.accounts_checked == len(self.model.accounts)

    async def final_checks(self) -> None:
        assert self.engine is not None
        async with self.engine.transaction():  # one connection for all reads
            await self.check_snapshot(thorough=True)
            await self.check_history()

    async def check_history(self) -> None:
        # Every statement, newest first and paged, is the model's history reversed.
        for account in self.model.accounts.values():
            lines = []
            cursor = None
            while True:
                page = await self.api.statement(account_id=account.id, limit=7, cursor=cursor)
                lines += page.lines
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert [
                (line.version, line.balance_after_minor, line.transfer.id, line.recorded_at)
                for line in lines
            ] == [
                (version, balance, transfer_id, recorded_at)
                for version, (recorded_at, balance, transfer_id) in reversed(
                    list(enumerate(account.history, start=1))
                )
            ]
            assert all(line.transfer == self.model.transfers[line.transfer.id] for line in lines)
        # (Each transfer has entries, so the statements above covered all of them.)
        # A refused id left nothing behind.
        for failed_id in self.model.failures:
            with pytest.raises(errors.TransferNotFound):
                await self.api.get_transfer(transfer_id=failed_id)


async def create_databases(target: Target) -> None:
    names = [
        f"timebank_machine_{os.getpid()}_{next(_database_counter)}"
        for _ in range(DATABASES_TOGETHER)
    ]
    target.spare.extend(names)  # dropped at the end even if some creation fails
    await asyncio.gather(
        *(admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{target.seed}"') for name in names)
    )


async def drop_databases(names: list[str]) -> None:
    dropping = list(names)
    names.clear()
    await asyncio.gather(
        *(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)') for name in dropping)
    )


def _operations(item: Item) -> tuple[Operation, ...]:
    return item.operations if isinstance(item, Chain) else (item,)


def test_ledger_state_machine(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if db_kind == "sqlite":
        seed_path = tmp_path / "seed.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), seed_path)
        asyncio.run(write_seed(f"sqlite:///{seed_path}"))
        with contextlib.closing(sqlite3.connect(seed_path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
        seed = str(seed_path)
    else:
        seed = f"timebank_machine_seed_{os.getpid()}_{next(_database_counter)}"
        template = request.getfixturevalue("postgres_template")
        asyncio.run(admin_execute(f'CREATE DATABASE "{seed}" TEMPLATE "{template}"'))
    target = Target(kind=db_kind, workdir=tmp_path, seed=seed)
    try:
        if db_kind == "postgres":
            asyncio.run(write_seed(postgres_url(seed)))

        class Machine(LedgerMachine):
            pass

        Machine.target = target
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=25,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        if db_kind == "postgres":
            asyncio.run(drop_databases([*target.to_drop, *target.spare, seed]))

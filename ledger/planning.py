"""Planning a write in memory: decide each operation's outcome against locked state.

Nothing here touches the database. `posting.py` loads and locks the rows a
write needs, hands them to a `Plan`, and writes back what the plan produced.
Because every check runs in memory before any write, a refused operation
leaves nothing behind, and one refused batch item never disturbs another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger import errors
from ledger.hashing import entry_hash_with_tail, transfer_hash_tail
from ledger.model import (
    REVERSIBLE_KINDS,
    ExpirePending,
    NewPending,
    NewTransfer,
    Operation,
    PostPending,
    Reverse,
    Transfer,
    TransferKind,
    VoidPending,
)
from ledger.rows import AccountState
from ledger.validation import check_expiry_window

# (debits_posted, credits_posted, debits_pending, credits_pending) changes.
Delta = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class EntryRow:
    account_id: UUID
    version: int
    transfer_id: UUID
    counters: tuple[int, int, int, int]
    recorded_at: datetime
    previous_hash: str
    hash: str

    @property
    def balance_minor(self) -> int:
        return self.counters[1] - self.counters[0]


@dataclass(frozen=True, slots=True)
class Resolution:
    id: UUID
    kind: str


@dataclass(slots=True)
class Known:
    """What the database said before planning (all read under the account locks)."""

    accounts: dict[UUID, AccountState]
    transfers: dict[UUID, Transfer]  # referenced and already-existing transfers
    failures: dict[UUID, tuple[dict[str, Any], errors.LedgerError]]
    resolutions: dict[UUID, Resolution]  # pending id -> its post/void/expire
    reversed_minor: dict[UUID, int]  # transfer id -> amount reversed so far


@dataclass(slots=True)
class Outcome:
    transfers: list[Transfer] = field(default_factory=list)
    error: errors.LedgerError | None = None
    # Every operation of the group was already written: an idempotent replay.
    replayed: bool = False


@dataclass(slots=True)
class Plan:
    """Accumulates the writes of every accepted group; refused groups add only failures."""

    known: Known
    now: datetime  # recorded_at of this write: never before an account's last entry
    # The instant the write was asked for (the caller's clock, or the instant given
    # to batch()); `now` is this, moved later if an account's history already is.
    requested_at: datetime
    new_transfers: list[Transfer] = field(default_factory=list)
    new_entries: list[EntryRow] = field(default_factory=list)
    changed_accounts: dict[UUID, AccountState] = field(default_factory=dict)
    tallies: dict[UUID, tuple[int, int]] = field(default_factory=dict)  # id -> (original, added)
    failures: list[tuple[UUID, dict[str, Any], errors.LedgerError]] = field(default_factory=list)

    def apply_group(self, operations: tuple[Operation, ...], chain_id: UUID | None) -> Outcome:
        """Plan one operation or one chain; all of it is accepted or none."""
        draft = _Draft(self, chain_id)
        outcome = Outcome()
        for operation in operations:
            try:
                outcome.transfers.append(draft.apply(operation))
            except errors.LedgerError as error:
                self._record_group_failure(operations, chain_id, operation.id, error)
                # Nothing of a refused group is written, so it reports no transfers.
                return Outcome(error=error)
        draft.merge_into_plan()
        outcome.replayed = len(draft.replayed_ids) == len(operations)
        return outcome

    def _record_group_failure(
        self,
        operations: tuple[Operation, ...],
        chain_id: UUID | None,
        failed_id: UUID,
        error: errors.LedgerError,
    ) -> None:
        if not error.recorded:
            return  # a shape or idempotency refusal says nothing about the ids
        for operation in operations:
            if operation.id in self.known.failures or operation.id in self.known.transfers:
                continue  # already decided: an earlier attempt owns this id
            own_error = error
            if operation.id != failed_id:
                own_error = errors.ChainFailed(
                    failed_transfer_id=str(failed_id), failed_code=error.code
                )
            if own_error.recorded:
                request = request_fields(operation, chain_id)
                self.failures.append((operation.id, request, own_error))
                self.known.failures[operation.id] = (request, own_error)


class _Draft:
    """One group's tentative changes, merged into the plan only if all succeed."""

    def __init__(self, plan: Plan, chain_id: UUID | None) -> None:
        self.plan = plan
        self.chain_id = chain_id
        self.accounts: dict[UUID, AccountState] = {}
        self.transfers: list[Transfer] = []
        self.entries: list[EntryRow] = []
        self.resolutions: dict[UUID, Resolution] = {}
        self.reversed_minor: dict[UUID, int] = {}
        self.replayed_ids: set[UUID] = set()  # answered from an earlier write of the id

    # Lookups see this draft's changes first, then the plan's, then the database's.

    def account(self, account_id: UUID) -> AccountState | None:
        if account_id in self.accounts:
            return self.accounts[account_id]
        base = self.plan.changed_accounts.get(account_id) or self.plan.known.accounts.get(
            account_id
        )
        if base is None:
            return None
        copy = base.copy()
        self.accounts[account_id] = copy
        return copy

    def transfer(self, transfer_id: UUID) -> Transfer | None:
        for transfer in (*self.transfers, *self.plan.new_transfers):
            if transfer.id == transfer_id:
                return transfer
        return self.plan.known.transfers.get(transfer_id)

    def resolution(self, pending_id: UUID) -> Resolution | None:
        return self.resolutions.get(pending_id) or self.plan.known.resolutions.get(pending_id)

    def reversed_so_far(self, transfer_id: UUID) -> int:
        if transfer_id in self.reversed_minor:
            return self.reversed_minor[transfer_id]
        return self.plan.known.reversed_minor.get(transfer_id, 0)

    # Applying one operation.

    def apply(self, operation: Operation) -> Transfer:
        existing = self._idempotent_answer(operation)
        if existing is not None:
            self.replayed_ids.add(operation.id)
            return existing
        if isinstance(operation, NewTransfer | NewPending):
            return self._apply_new(operation)
        if isinstance(operation, PostPending | VoidPending | ExpirePending):
            return self._apply_resolution(operation)
        return self._apply_reversal(operation)

    def _idempotent_answer(self, operation: Operation) -> Transfer | None:
        # The request's fields are built only for an id seen before: a new id (nearly
        # every write) has nothing to be compared with.
        known = self.plan.known
        stored = known.transfers.get(operation.id)
        if stored is not None:
            request = request_fields(operation, self.chain_id)
            _compare(request, stored_fields(stored), optional_in_request=True)
            return stored
        if operation.id in known.failures:
            first_request, first_error = known.failures[operation.id]
            _compare(
                request_fields(operation, self.chain_id), first_request, optional_in_request=False
            )
            raise first_error
        return None

    def _apply_new(self, operation: NewTransfer | NewPending) -> Transfer:
        if isinstance(operation, NewPending):
            # After the idempotency lookup (step 2b in errors.py): the window moves
            # with the clock, and a decided id keeps its first answer regardless.
            check_expiry_window(operation.expires_at, self.plan.requested_at)
        debit = self._usable_account(operation.debit_account_id, operation.unit)
        credit = self._usable_account(operation.credit_account_id, operation.unit)
        pending = isinstance(operation, NewPending)
        transfer = self._transfer(
            operation,
            kind=TransferKind.PENDING if pending else TransferKind.SINGLE,
            debit=debit,
            credit=credit,
            amount_minor=operation.amount_minor,
            code=operation.code,
            memo=operation.memo,
            expires_at=operation.expires_at if isinstance(operation, NewPending) else None,
            effective_at=operation.effective_at,
        )
        amount = operation.amount_minor
        if pending:
            self._move(transfer, debit, (0, 0, amount, 0), credit, (0, 0, 0, amount))
        else:
            self._move(transfer, debit, (amount, 0, 0, 0), credit, (0, amount, 0, 0))
        return transfer

    def _apply_resolution(self, operation: PostPending | VoidPending | ExpirePending) -> Transfer:
        pending = self._open_pending(operation)
        debit = self._usable_account(pending.debit_account_id, pending.unit, closed_ok=True)
        credit = self._usable_account(pending.credit_account_id, pending.unit, closed_ok=True)
        held = pending.amount_minor
        if isinstance(operation, PostPending):
            posted = held if operation.amount_minor is None else operation.amount_minor
            if posted > held:
                raise errors.PostExceedsPending(
                    pending_id=str(pending.id), amount_minor=posted, pending_minor=held
                )
            kind, amount = TransferKind.POST, posted
            debit_delta: Delta = (posted, 0, -held, 0)
            credit_delta: Delta = (0, posted, 0, -held)
        else:
            kind = TransferKind.VOID if isinstance(operation, VoidPending) else TransferKind.EXPIRE
            amount, debit_delta, credit_delta = held, (0, 0, -held, 0), (0, 0, 0, -held)
        transfer = self._transfer(
            operation,
            kind=kind,
            debit=debit,
            credit=credit,
            amount_minor=amount,
            code=pending.code,
            memo="" if isinstance(operation, ExpirePending) else operation.memo,
            pending_id=pending.id,
            effective_at=operation.effective_at if isinstance(operation, PostPending) else None,
        )
        self.resolutions[pending.id] = Resolution(transfer.id, kind.value)
        self._move(transfer, debit, debit_delta, credit, credit_delta)
        return transfer

    def _open_pending(self, operation: PostPending | VoidPending | ExpirePending) -> Transfer:
        pending = self.transfer(operation.pending_id)
        if pending is None:
            raise errors.PendingNotFound(pending_id=str(operation.pending_id))
        if pending.kind is not TransferKind.PENDING:
            raise errors.PendingKindInvalid(pending_id=str(pending.id), kind=pending.kind.value)
        resolution = self.resolution(pending.id)
        if resolution is not None:
            raise errors.PendingAlreadyResolved(
                pending_id=str(pending.id),
                resolution_id=str(resolution.id),
                resolution_kind=resolution.kind,
            )
        assert pending.expires_at is not None  # noqa: S101 - schema: pending rows have one
        expired = self.plan.now >= pending.expires_at
        if isinstance(operation, ExpirePending) and not expired:
            raise errors.PendingNotExpired(
                pending_id=str(pending.id), expires_at=pending.expires_at.isoformat()
            )
        if not isinstance(operation, ExpirePending) and expired:
            raise errors.PendingExpired(
                pending_id=str(pending.id), expires_at=pending.expires_at.isoformat()
            )
        return pending

    def _apply_reversal(self, operation: Reverse) -> Transfer:
        original = self.transfer(operation.reverses_id)
        if original is None:
            raise errors.ReversalTargetNotFound(transfer_id=str(operation.reverses_id))
        if original.kind not in REVERSIBLE_KINDS:
            raise errors.ReversalKindInvalid(transfer_id=str(original.id), kind=original.kind)
        # Funds go back: the original's credit account is debited.
        debit = self._usable_account(original.credit_account_id, original.unit)
        credit = self._usable_account(original.debit_account_id, original.unit)
        amount = self._reversal_amount(operation, original)
        transfer = self._transfer(
            operation,
            kind=TransferKind.REVERSAL,
            debit=debit,
            credit=credit,
            amount_minor=amount,
            code=operation.code,
            memo=operation.reason,
            reverses_id=original.id,
            override_limits=operation.override_limits,
            effective_at=operation.effective_at,
        )
        self.reversed_minor[original.id] = self.reversed_so_far(original.id) + amount
        self._move(
            transfer,
            debit,
            (amount, 0, 0, 0),
            credit,
            (0, amount, 0, 0),
            override_limits=operation.override_limits,
        )
        return transfer

    def _reversal_amount(self, operation: Reverse, original: Transfer) -> int:
        remaining = original.amount_minor - self.reversed_so_far(original.id)
        if remaining == 0:
            raise errors.AlreadyReversed(transfer_id=str(original.id))
        requested = remaining if operation.amount_minor is None else operation.amount_minor
        if requested > remaining:
            raise errors.ReversalExceedsOriginal(
                transfer_id=str(original.id), amount_minor=requested, remaining_minor=remaining
            )
        return requested

    def _usable_account(
        self, account_id: UUID, unit: Any, *, closed_ok: bool = False
    ) -> AccountState:
        account = self.account(account_id)
        if account is None:
            raise errors.AccountNotFound(account_id=str(account_id))
        if account.unit != unit:
            raise errors.UnitMismatch(
                account_id=str(account_id), account_unit=account.unit.value, unit=str(unit)
            )
        if account.closed_at is not None and not closed_ok:
            raise errors.AccountClosed(account_id=str(account_id))
        return account

    def _transfer(
        self,
        operation: Operation,
        *,
        kind: TransferKind,
        debit: AccountState,
        credit: AccountState,
        amount_minor: int,
        code: str,
        memo: str,
        effective_at: datetime | None,
        pending_id: UUID | None = None,
        reverses_id: UUID | None = None,
        expires_at: datetime | None = None,
        override_limits: bool = False,
    ) -> Transfer:
        return Transfer(
            id=operation.id,
            kind=kind,
            unit=debit.unit,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_minor=amount_minor,
            pending_id=pending_id,
            reverses_id=reverses_id,
            chain_id=self.chain_id,
            expires_at=expires_at,
            code=code,
            memo=memo,
            actor=operation.actor,
            override_limits=override_limits,
            effective_at=effective_at or self.plan.now,
            recorded_at=self.plan.now,
        )

    def _move(
        self,
        transfer: Transfer,
        debit: AccountState,
        debit_delta: Delta,
        credit: AccountState,
        credit_delta: Delta,
        *,
        override_limits: bool = False,
    ) -> None:
        available_before = debit.available_minor
        balance_before = credit.balance_minor
        _add(debit, debit_delta)
        _add(credit, credit_delta)
        _check_floor(debit, transfer, available_before, override_limits=override_limits)
        _check_ceiling(credit, transfer, balance_before, override_limits=override_limits)
        self.transfers.append(transfer)
        tail = transfer_hash_tail(transfer)  # the same for both entries
        for account in (debit, credit):
            self.entries.append(self._entry(account, transfer, tail))

    def _entry(self, account: AccountState, transfer: Transfer, tail: str) -> EntryRow:
        account.version += 1
        digest = entry_hash_with_tail(
            previous_hash=account.head_hash,
            account_id=account.id,
            version=account.version,
            counters_after=account.counters,
            transfer_tail=tail,
        )
        entry = EntryRow(
            account_id=account.id,
            version=account.version,
            transfer_id=transfer.id,
            counters=account.counters,
            recorded_at=transfer.recorded_at,
            previous_hash=account.head_hash,
            hash=digest,
        )
        account.head_hash = digest
        account.updated_at = transfer.recorded_at
        return entry

    def merge_into_plan(self) -> None:
        plan = self.plan
        plan.new_transfers.extend(self.transfers)
        plan.new_entries.extend(self.entries)
        plan.changed_accounts.update(self.accounts)
        plan.known.resolutions.update(self.resolutions)
        for transfer_id, total in self.reversed_minor.items():
            original = self.transfer(transfer_id)
            assert original is not None  # noqa: S101 - looked up when the reversal was planned
            already = plan.known.reversed_minor.get(transfer_id, 0)
            _, added = plan.tallies.get(transfer_id, (original.amount_minor, 0))
            plan.tallies[transfer_id] = (original.amount_minor, added + total - already)
            plan.known.reversed_minor[transfer_id] = total


def _add(account: AccountState, delta: Delta) -> None:
    account.debits_posted += delta[0]
    account.credits_posted += delta[1]
    account.debits_pending += delta[2]
    account.credits_pending += delta[3]


def _check_floor(
    account: AccountState, transfer: Transfer, available_before: int, *, override_limits: bool
) -> None:
    floor = account.floor_minor
    if floor is None or account.available_minor >= floor:
        return
    if override_limits:
        account.floor_minor = account.available_minor
        return
    raise errors.ExceedsFloor(
        account_id=str(account.id),
        available_minor=available_before,
        floor_minor=floor,
        amount_minor=transfer.amount_minor,
    )


def _check_ceiling(
    account: AccountState, transfer: Transfer, balance_before: int, *, override_limits: bool
) -> None:
    ceiling = account.ceiling_minor
    if ceiling is None or account.ceiling_measure_minor <= ceiling:
        return
    if override_limits:
        account.ceiling_minor = account.ceiling_measure_minor
        return
    raise errors.ExceedsCeiling(
        account_id=str(account.id),
        # The balance before this transfer (a pending one leaves it unchanged).
        balance_minor=balance_before,
        ceiling_minor=ceiling,
        amount_minor=transfer.amount_minor,
    )


# Idempotency: the content of a request, compared field by field -------------------

KIND_OF_OPERATION: dict[type, TransferKind] = {
    NewTransfer: TransferKind.SINGLE,
    NewPending: TransferKind.PENDING,
    PostPending: TransferKind.POST,
    VoidPending: TransferKind.VOID,
    ExpirePending: TransferKind.EXPIRE,
    Reverse: TransferKind.REVERSAL,
}


def _json(value: object) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def request_fields(operation: Operation, chain_id: UUID | None) -> dict[str, Any]:
    """What the caller asked for, as comparable JSON values (kind first)."""
    fields: dict[str, Any] = {"kind": KIND_OF_OPERATION[type(operation)].value}
    names = [f.name for f in dataclasses.fields(operation) if f.name != "id"]
    for name in names:
        value = getattr(operation, name)
        fields["memo" if name == "reason" else name] = _json(value)
    fields["chain_id"] = _json(chain_id)
    return fields


def stored_fields(transfer: Transfer) -> dict[str, Any]:
    return {
        "kind": transfer.kind.value,
        "debit_account_id": str(transfer.debit_account_id),
        "credit_account_id": str(transfer.credit_account_id),
        "amount_minor": transfer.amount_minor,
        "unit": transfer.unit.value,
        "code": transfer.code,
        "actor": transfer.actor,
        "memo": transfer.memo,
        "effective_at": transfer.effective_at.isoformat(),
        "expires_at": _json(transfer.expires_at),
        "pending_id": _json(transfer.pending_id),
        "reverses_id": _json(transfer.reverses_id),
        "override_limits": transfer.override_limits,
        "chain_id": _json(transfer.chain_id),
    }


# Fields a caller may leave out (None) and the ledger then fills in.
_DEFAULTED_FIELDS = frozenset({"amount_minor", "effective_at"})


def _compare(request: dict[str, Any], stored: dict[str, Any], *, optional_in_request: bool) -> None:
    for name, requested in request.items():
        if optional_in_request and requested is None and name in _DEFAULTED_FIELDS:
            continue
        if name not in stored and optional_in_request:
            continue  # e.g. `code` of a post: taken from its pending transfer
        existing = stored.get(name)
        if existing != requested:
            raise errors.ExistsWithDifferentField(
                field=name, existing=_json(existing), requested=_json(requested)
            )

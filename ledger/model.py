"""The ledger's values: units, accounts, transfers, entries, and write requests.

All amounts are integers of the unit's minor unit (`*_minor`): minutes for
HOUR, pence for GBP. All instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class Unit(enum.StrEnum):
    """What an account holds. The minor unit is the integer stored."""

    HOUR = "HOUR"  # minor unit: minute
    GBP = "GBP"  # minor unit: penny

    @property
    def minor_per_major(self) -> int:
        return MINOR_PER_MAJOR[self]


MINOR_PER_MAJOR = {Unit.HOUR: 60, Unit.GBP: 100}


class TransferKind(enum.StrEnum):
    SINGLE = "single"  # moves posted funds at once
    PENDING = "pending"  # reserves funds until posted, voided or expired
    POST = "post"  # posts a pending transfer, fully or partly
    VOID = "void"  # releases a pending transfer
    EXPIRE = "expire"  # releases a pending transfer whose time ran out
    REVERSAL = "reversal"  # moves posted funds back, fully or partly


RESOLUTION_KINDS = frozenset({TransferKind.POST, TransferKind.VOID, TransferKind.EXPIRE})
REVERSIBLE_KINDS = frozenset({TransferKind.SINGLE, TransferKind.POST})


@dataclass(frozen=True, slots=True)
class Account:
    id: UUID
    unit: Unit
    owner: str
    floor_minor: int | None
    ceiling_minor: int | None
    debits_posted_minor: int
    credits_posted_minor: int
    debits_pending_minor: int
    credits_pending_minor: int
    version: int
    head_hash: str
    created_at: datetime
    closed_at: datetime | None

    @property
    def balance_minor(self) -> int:
        return self.credits_posted_minor - self.debits_posted_minor

    @property
    def available_minor(self) -> int:
        """What can still be spent: the balance less everything on hold."""
        return self.balance_minor - self.debits_pending_minor


class AccountChangeKind(enum.StrEnum):
    """Why an account's limits or closure changed (the account change log)."""

    OPENED = "opened"
    BACKFILLED = "backfilled"  # the state found when the log began (migration)
    LIMITS = "limits"  # set_limits
    LIMITS_OVERRIDE = "limits_override"  # moved by a reversal with override_limits
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class AccountChange:
    """One link of an account's change log: the limits and closure after a change."""

    account_id: UUID
    sequence: int
    kind: str
    unit: Unit
    owner: str
    floor_minor: int | None
    ceiling_minor: int | None
    closed_at: datetime | None
    transfer_id: UUID | None
    recorded_at: datetime
    previous_hash: str


@dataclass(frozen=True, slots=True)
class LimitMove:
    """A floor or ceiling a reversal with override_limits moved: before and after."""

    account_id: UUID
    transfer_id: UUID  # the (last) reversal of the write that moved it
    floor_before_minor: int | None
    floor_after_minor: int | None
    ceiling_before_minor: int | None
    ceiling_after_minor: int | None

    @property
    def floor_moved(self) -> bool:
        return self.floor_before_minor != self.floor_after_minor

    @property
    def ceiling_moved(self) -> bool:
        return self.ceiling_before_minor != self.ceiling_after_minor


@dataclass(frozen=True, slots=True)
class Balance:
    account_id: UUID
    unit: Unit
    balance_minor: int
    available_minor: int
    debits_pending_minor: int
    credits_pending_minor: int
    version: int


@dataclass(frozen=True, slots=True)
class Transfer:
    id: UUID
    kind: TransferKind
    unit: Unit
    debit_account_id: UUID
    credit_account_id: UUID
    amount_minor: int
    pending_id: UUID | None
    reverses_id: UUID | None
    chain_id: UUID | None
    expires_at: datetime | None
    code: str
    memo: str
    actor: str
    override_limits: bool
    effective_at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Applied:
    """What one write request did (`Ledger.apply`).

    `replayed` is True when the request's id was already written by an earlier,
    identical request: the stored transfer is returned and nothing moved now.
    The answer is read under the accounts' locks, so of two concurrent requests
    with one id exactly one sees False. Inside a caller's write transaction it is
    exact; a caller writes its own side effects (an audit line) only when False.
    """

    transfer: Transfer
    replayed: bool


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One account's side of one transfer, with the balance right after it."""

    account_id: UUID
    version: int
    transfer: Transfer
    # Signed change of the posted balance: + credit, - debit.
    change_minor: int
    balance_after_minor: int
    debits_pending_after_minor: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class StatementPage:
    lines: tuple[StatementLine, ...]
    # Pass back as `cursor` for the next (older) page; None on the last page.
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account_id: UUID
    owner: str
    debits_posted_minor: int
    credits_posted_minor: int
    balance_minor: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    unit: Unit
    rows: tuple[TrialBalanceRow, ...]
    total_debits_minor: int
    total_credits_minor: int

    @property
    def balanced(self) -> bool:
        return self.total_debits_minor == self.total_credits_minor


# Write requests ---------------------------------------------------------------
# Each request names its own id: the caller's idempotency key.


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """Move `amount_minor` from the debit account to the credit account now."""

    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount_minor: int
    unit: Unit
    code: str
    actor: str
    memo: str = ""
    effective_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewPending:
    """Reserve `amount_minor` until posted, voided, or `expires_at` passes."""

    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount_minor: int
    unit: Unit
    code: str
    actor: str
    expires_at: datetime
    memo: str = ""
    effective_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PostPending:
    """Post a pending transfer: all of it, or `amount_minor` of it (the rest is released)."""

    id: UUID
    pending_id: UUID
    actor: str
    amount_minor: int | None = None
    memo: str = ""
    effective_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VoidPending:
    """Release a pending transfer; nothing moves."""

    id: UUID
    pending_id: UUID
    actor: str
    memo: str = ""


@dataclass(frozen=True, slots=True)
class ExpirePending:
    """Release a pending transfer whose expiry has passed (written by expire_due)."""

    id: UUID
    pending_id: UUID
    actor: str = "system:expiry"


@dataclass(frozen=True, slots=True)
class Reverse:
    """Move posted funds back: all of the original, or `amount_minor` of it.

    `override_limits` lets a correction take an account past its floor or
    ceiling (a dispute resolved after the hours were spent); the account's
    limit is then moved to its new position, so the database rule still
    holds and the account cannot go further.
    """

    id: UUID
    reverses_id: UUID
    actor: str
    reason: str
    amount_minor: int | None = None
    code: str = "reversal"
    override_limits: bool = False
    effective_at: datetime | None = None


Operation = NewTransfer | NewPending | PostPending | VoidPending | ExpirePending | Reverse


@dataclass(frozen=True, slots=True)
class Chain:
    """Transfers that commit together or not at all (ledger.md guarantee 8)."""

    operations: tuple[Operation, ...]
    chain_id: UUID | None = None


BatchItem = Operation | Chain


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one batch item: its transfers, or the error that refused it."""

    transfers: tuple[Transfer, ...]
    error: Exception | None

    @property
    def ok(self) -> bool:
        return self.error is None

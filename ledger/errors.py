"""Typed ledger errors that carry data, and the order in which they are checked.

Each error has a stable snake_case `code` (the service maps it to an RFC 9457
problem) and a `data` dict of JSON values (ids as strings) saying exactly what
was wrong, e.g. the available balance for `exceeds_floor`.

Precedence: when a request is wrong in several ways, the first failing check
in this list is the one reported, always, on both engines.

1. Request shape, checked without the database and without the clock (never
   recorded against the id): `same_account`, `amount_invalid`, `code_invalid`,
   `text_invalid` (a NUL character or text that is not encodable as UTF-8,
   such as a lone surrogate, in any text field), `memo_too_long`,
   `actor_invalid`, `reason_required`, `expiry_invalid` (an
   instant without a time zone), `chain_invalid`, `batch_invalid`,
   `unit_invalid`.
2. Idempotency: the id was used before. Same content: the original transfer is
   returned, or, if the first attempt failed, its error is raised again.
   Different content: `exists_with_different_<field>` naming the first field
   that differs (fields compared in the order of `COMPARED_FIELDS`).
2b. Time window of a new pending transfer: `expiry_invalid` unless `expires_at`
   is after the write's instant and within PENDING_TIMEOUT_SECONDS_MAX of it.
   It depends on the clock, so it comes after idempotency (a re-sent decided id
   gets its first answer even once its expiry has passed), and like a shape
   error it is not recorded against the id.
3. Accounts, debit account first: `account_not_found`, `unit_mismatch`,
   `account_closed`.
4. References: `pending_not_found`, `pending_kind_invalid`,
   `pending_already_resolved`, `pending_expired`, `pending_not_expired` (not
   recorded: an expiry tried too early must not bind its id before it is due),
   `post_exceeds_pending`, `reversal_target_not_found`, `reversal_kind_invalid`,
   `already_reversed`, `reversal_exceeds_original`.
5. Limits, debit account first: `exceeds_floor`, `exceeds_ceiling`.
6. Chains: every other transfer of a failed chain fails with `chain_failed`,
   naming the transfer that failed and its code.

Errors from steps 3 to 6 are business failures: they are recorded against the
transfer id, so re-sending the same id keeps failing with the same error
(ledger.md guarantee 5) even if the balance has changed since.
"""

from __future__ import annotations

from typing import Any, ClassVar

JsonValue = str | int | bool | None


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    # A class attribute, except for exists_with_different_<field>, set per instance.
    code: str = "ledger_error"
    # Business failures are recorded against the transfer id; shape errors are not.
    recorded: ClassVar[bool] = False
    message: ClassVar[str] = "the ledger refused the request"

    def __init__(self, **data: JsonValue) -> None:
        self.data: dict[str, JsonValue] = dict(data)
        super().__init__(self.describe())

    def describe(self) -> str:
        details = ", ".join(f"{key}={value}" for key, value in self.data.items())
        return f"{self.code}: {self.message}" + (f" ({details})" if details else "")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, LedgerError) and other.code == self.code and other.data == self.data
        )

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.data.items()))))


class BusinessError(LedgerError):
    """A well-formed request the ledger's state refuses; recorded against the id."""

    recorded = True


# 1. Request shape -------------------------------------------------------------


class SameAccount(LedgerError):
    code = "same_account"
    message = "the debit and credit accounts must differ"


class AmountInvalid(LedgerError):
    code = "amount_invalid"
    message = "the amount must be a whole number of minor units, above zero and within the limit"


class CodeInvalid(LedgerError):
    code = "code_invalid"
    message = "the code must be lowercase letters, digits or underscores, starting with a letter"


class TextInvalid(LedgerError):
    """Text the database cannot store or the hash cannot encode: NUL, lone surrogates."""

    code = "text_invalid"
    message = "the text holds a NUL character or characters that are not valid Unicode"


class MemoTooLong(LedgerError):
    code = "memo_too_long"
    message = "the memo is too long"


class ActorInvalid(LedgerError):
    code = "actor_invalid"
    message = "the actor must be given and not too long"


class ReasonRequired(LedgerError):
    code = "reason_required"
    message = "a reversal needs a reason"


class ExpiryInvalid(LedgerError):
    code = "expiry_invalid"
    message = "a pending transfer must expire in the future and within the limit"


class ChainInvalid(LedgerError):
    code = "chain_invalid"
    message = "a chain needs between one and the maximum number of transfers, with distinct ids"


class BatchInvalid(LedgerError):
    code = "batch_invalid"
    message = "a batch needs between one and the maximum number of items, with distinct ids"


class UnitInvalid(LedgerError):
    code = "unit_invalid"
    message = "unknown unit"


class LimitsInvalid(LedgerError):
    code = "limits_invalid"
    message = "an account's floor must not exceed its ceiling, and both must be within the limit"


class OwnerInvalid(LedgerError):
    code = "owner_invalid"
    message = "an account's owner label must be given and not too long"


class PageSizeInvalid(LedgerError):
    code = "page_size_invalid"
    message = "the page size is outside the allowed range"


class CursorInvalid(LedgerError):
    code = "cursor_invalid"
    message = "the statement cursor is not one this ledger gave out"


# 2. Idempotency ---------------------------------------------------------------


class ExistsWithDifferentField(LedgerError):
    """The id was used before for a transfer whose `field` differs."""

    code = "exists_with_different_field"
    message = "this transfer id was used before with different content"

    def __init__(self, **data: JsonValue) -> None:
        self.field = str(data["field"])
        self.code = f"exists_with_different_{self.field}"
        super().__init__(**data)


# 3. Accounts ------------------------------------------------------------------


class AccountNotFound(BusinessError):
    code = "account_not_found"
    message = "no such account"


class UnitMismatch(BusinessError):
    code = "unit_mismatch"
    message = "the account holds a different unit"


class AccountClosed(BusinessError):
    code = "account_closed"
    message = "the account is closed"


# 4. References ----------------------------------------------------------------


class PendingNotFound(BusinessError):
    code = "pending_not_found"
    message = "no such pending transfer"


class PendingKindInvalid(BusinessError):
    code = "pending_kind_invalid"
    message = "the referenced transfer is not a pending transfer"


class PendingAlreadyResolved(BusinessError):
    code = "pending_already_resolved"
    message = "the pending transfer was already posted, voided or expired"


class PendingExpired(BusinessError):
    code = "pending_expired"
    message = "the pending transfer has expired"


class PendingNotExpired(BusinessError):
    code = "pending_not_expired"
    message = "the pending transfer has not reached its expiry"
    # Time-dependent like step 2b: recording it would bind the expiry id (one
    # formula, `expire_id`) to this refusal, so the real expiry later would
    # replay it and the hold would never be released.
    recorded = False


class PostExceedsPending(BusinessError):
    code = "post_exceeds_pending"
    message = "cannot post more than the pending amount"


class ReversalTargetNotFound(BusinessError):
    code = "reversal_target_not_found"
    message = "no such transfer to reverse"


class ReversalKindInvalid(BusinessError):
    code = "reversal_kind_invalid"
    message = "only posted movements (single or post transfers) can be reversed"


class AlreadyReversed(BusinessError):
    code = "already_reversed"
    message = "the transfer has already been reversed in full"


class ReversalExceedsOriginal(BusinessError):
    code = "reversal_exceeds_original"
    message = "the reversals would exceed the original amount"


# 5. Limits --------------------------------------------------------------------


class ExceedsFloor(BusinessError):
    code = "exceeds_floor"
    message = "the debit account does not have enough available"


class ExceedsCeiling(BusinessError):
    code = "exceeds_ceiling"
    message = "the credit account would go above its ceiling"


# 6. Chains --------------------------------------------------------------------


class ChainFailed(BusinessError):
    code = "chain_failed"
    message = "another transfer of the same chain failed, so none was written"


# Account management -----------------------------------------------------------


class AccountExists(LedgerError):
    code = "account_exists"
    message = "an account with this id exists with different details"


class AccountNotEmpty(LedgerError):
    code = "account_not_empty"
    message = "an account can be closed only with a zero balance and nothing pending"


class LimitsBelowPosition(LedgerError):
    code = "limits_below_position"
    message = "the new limits would not hold for the account's current position"


class TransferNotFound(LedgerError):
    code = "transfer_not_found"
    message = "no such transfer"


# Checkpoints (ledger/checkpoint.py) --------------------------------------------


class CheckpointKeyInvalid(LedgerError):
    code = "checkpoint_key_invalid"
    message = "TIMEBANK_CHECKPOINT_KEY must be set, at least the minimum length"


class CheckpointInvalid(LedgerError):
    code = "checkpoint_invalid"
    message = "the checkpoint is not one this key signed, or is not a checkpoint at all"


def _registry() -> dict[str, type[LedgerError]]:
    found: dict[str, type[LedgerError]] = {}
    pending: list[type[LedgerError]] = [LedgerError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found


ERRORS_BY_CODE: dict[str, type[LedgerError]] = _registry()


def error_from_record(code: str, data: dict[str, Any]) -> LedgerError:
    """Rebuild an error recorded against a transfer id."""
    if code.startswith("exists_with_different_"):
        return ExistsWithDifferentField(**data)
    return ERRORS_BY_CODE.get(code, LedgerError)(**data)

"""Request-shape checks: everything that can be refused without the database.

These run before a transaction opens (precedence step 1 in errors.py), and
depend on the request alone, never on the clock: a request refused here is
refused whenever it is sent. The one time-dependent check, the window of a
new pending transfer's `expires_at`, is `check_expiry_window`; planning calls
it after the idempotency lookup (step 2b), so re-sending a decided id after its
expiry has passed still gets the original answer (ledger.md guarantee 5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from ledger import errors
from ledger.limits import (
    ACTOR_CHARS_MAX,
    AMOUNT_MINOR_MAX,
    BATCH_ITEMS_MAX,
    BATCH_TRANSFERS_MAX,
    CHAIN_TRANSFERS_MAX,
    CODE_CHARS_MAX,
    MEMO_CHARS_MAX,
    PENDING_TIMEOUT_SECONDS_MAX,
)
from ledger.model import (
    BatchItem,
    Chain,
    ExpirePending,
    NewPending,
    NewTransfer,
    Operation,
    PostPending,
    Reverse,
    Unit,
    VoidPending,
)

_CODE_PATTERN = re.compile(rf"[a-z][a-z0-9_]{{0,{CODE_CHARS_MAX - 1}}}")


def check_amount(amount_minor: object) -> None:
    valid = (
        isinstance(amount_minor, int)
        and not isinstance(amount_minor, bool)
        and 0 < amount_minor <= AMOUNT_MINOR_MAX
    )
    if not valid:
        raise errors.AmountInvalid(amount_minor=str(amount_minor), max_minor=AMOUNT_MINOR_MAX)


def check_code(code: str) -> None:
    if not isinstance(code, str) or not _CODE_PATTERN.fullmatch(code):
        raise errors.CodeInvalid(code=str(code)[:CODE_CHARS_MAX], max_chars=CODE_CHARS_MAX)


def check_text(value: object, *, field: str) -> None:
    """Refuse text no engine can store alike: NUL (PostgreSQL refuses it in TEXT,
    SQLite keeps it) and anything UTF-8 cannot encode (lone surrogates, which
    would fail in hashing mid-write). Runs before the length checks."""
    if not isinstance(value, str):
        return  # the field's own check names the wrong type
    valid = "\x00" not in value
    if valid:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            valid = False
    if not valid:
        raise errors.TextInvalid(field=field)


def check_memo(memo: str, *, field: str = "memo") -> None:
    check_text(memo, field=field)
    if not isinstance(memo, str) or len(memo) > MEMO_CHARS_MAX:
        raise errors.MemoTooLong(max_chars=MEMO_CHARS_MAX)


def check_actor(actor: str) -> None:
    check_text(actor, field="actor")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > ACTOR_CHARS_MAX:
        raise errors.ActorInvalid(max_chars=ACTOR_CHARS_MAX)


def check_unit(unit: object) -> None:
    if not isinstance(unit, Unit):
        raise errors.UnitInvalid(unit=str(unit))


def check_instant(value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise errors.ExpiryInvalid(detail="instants must be timezone-aware")


def check_operation(operation: Operation) -> None:
    """Refuse a malformed operation, in the documented precedence order."""
    if isinstance(operation, NewTransfer | NewPending):
        if operation.debit_account_id == operation.credit_account_id:
            raise errors.SameAccount(account_id=str(operation.debit_account_id))
        check_amount(operation.amount_minor)
        check_unit(operation.unit)
        check_code(operation.code)
        check_instant(operation.effective_at)
        if isinstance(operation, NewPending) and operation.expires_at.tzinfo is None:
            raise errors.ExpiryInvalid(detail="expires_at must be timezone-aware")
    elif isinstance(operation, PostPending):
        if operation.amount_minor is not None:
            check_amount(operation.amount_minor)
        check_instant(operation.effective_at)
    elif isinstance(operation, Reverse):
        if operation.amount_minor is not None:
            check_amount(operation.amount_minor)
        check_code(operation.code)
        if not operation.reason.strip():
            raise errors.ReasonRequired
        check_instant(operation.effective_at)
    elif not isinstance(operation, VoidPending | ExpirePending):
        raise TypeError(f"not a ledger operation: {type(operation).__name__}")
    check_memo(_memo_of(operation), field="reason" if isinstance(operation, Reverse) else "memo")
    check_actor(operation.actor)


def _memo_of(operation: Operation) -> str:
    if isinstance(operation, Reverse):
        return operation.reason
    if isinstance(operation, ExpirePending):
        return ""
    return operation.memo


def check_expiry_window(expires_at: datetime, now: datetime) -> None:
    """A new pending transfer must expire after `now` and within the limit.

    Time-dependent, so not a shape check: planning runs it after the
    idempotency lookup, and its refusal is not recorded against the id.
    """
    latest = now + timedelta(seconds=PENDING_TIMEOUT_SECONDS_MAX)
    if not now < expires_at <= latest:
        raise errors.ExpiryInvalid(
            expires_at=expires_at.isoformat(), max_seconds=PENDING_TIMEOUT_SECONDS_MAX
        )


def check_chain(chain: Chain) -> None:
    ids = [operation.id for operation in chain.operations]
    if not 1 <= len(ids) <= CHAIN_TRANSFERS_MAX or len(set(ids)) != len(ids):
        raise errors.ChainInvalid(transfers=len(ids), max_transfers=CHAIN_TRANSFERS_MAX)
    for operation in chain.operations:
        check_operation(operation)


def check_batch_size(items: Sequence[BatchItem]) -> None:
    transfers = sum(len(item.operations) if isinstance(item, Chain) else 1 for item in items)
    ids = [
        operation.id
        for item in items
        for operation in (item.operations if isinstance(item, Chain) else (item,))
    ]
    if (
        not 1 <= len(items) <= BATCH_ITEMS_MAX
        or transfers > BATCH_TRANSFERS_MAX
        or len(set(ids)) != len(ids)
    ):
        raise errors.BatchInvalid(
            items=len(items), max_items=BATCH_ITEMS_MAX, max_transfers=BATCH_TRANSFERS_MAX
        )

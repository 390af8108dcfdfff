"""Hash chains over each account's entries (ledger.md guarantee 11).

Every entry's hash covers the previous entry's hash, the account's counters
after the transfer, and the whole content of the transfer itself, so changing
any transfer or entry row, or removing one, breaks the chain from that point.
The encoding is canonical JSON of plain values (ids as strings, instants as
integer microseconds since the epoch), identical on both engines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from uuid import UUID

from ledger.model import AccountChange, Transfer, Unit

HASH_FORMAT_VERSION = "timebank-ledger-v1"
# `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, byte for byte, without
# building an encoder for every entry hashed (a gift's write hashes two).
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How `_CANONICAL_JSON` (ensure_ascii=False) writes a string.
_JSON_STRING = json.encoder.encode_basestring


def epoch_microseconds(instant: datetime) -> int:
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _optional(value: UUID | datetime | None) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return epoch_microseconds(value)
    return str(value)


def genesis_hash(account_id: UUID, unit: Unit) -> str:
    """The chain head of an account with no entries yet."""
    payload = json.dumps([HASH_FORMAT_VERSION, "genesis", str(account_id), unit.value])
    return hashlib.sha256(payload.encode()).hexdigest()


def transfer_fields(transfer: Transfer) -> list[str | int | bool | None]:
    return [
        str(transfer.id),
        transfer.kind.value,
        transfer.unit.value,
        str(transfer.debit_account_id),
        str(transfer.credit_account_id),
        transfer.amount_minor,
        _optional(transfer.pending_id),
        _optional(transfer.reverses_id),
        _optional(transfer.chain_id),
        _optional(transfer.expires_at),
        transfer.code,
        transfer.memo,
        transfer.actor,
        transfer.override_limits,
        epoch_microseconds(transfer.effective_at),
        epoch_microseconds(transfer.recorded_at),
    ]


def entry_hash(
    *,
    previous_hash: str,
    account_id: UUID,
    version: int,
    transfer: Transfer,
    counters_after: tuple[int, int, int, int],
) -> str:
    """Hash of one entry; `counters_after` = (debits_posted, credits_posted,
    debits_pending, credits_pending) of the account after the transfer."""
    payload = _CANONICAL_JSON.encode(
        [
            HASH_FORMAT_VERSION,
            previous_hash,
            str(account_id),
            version,
            *counters_after,
            *transfer_fields(transfer),
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def transfer_hash_tail(transfer: Transfer) -> str:
    """The transfer's part of its entries' hash payloads, encoded once for both entries.

    `entry_hash`'s payload is one flat JSON array whose last items are the transfer's
    fields; this is their canonical JSON without its opening bracket, so
    `entry_hash_with_tail` joins it to an entry's own items byte for byte.
    """
    return _CANONICAL_JSON.encode(transfer_fields(transfer))[1:]


def entry_hash_with_tail(
    *,
    previous_hash: str,
    account_id: UUID,
    version: int,
    counters_after: tuple[int, int, int, int],
    transfer_tail: str,
) -> str:
    """`entry_hash`, given the transfer's `transfer_hash_tail` (the planner's path: a
    transfer's two entries encode its fields once). `entry_hash` stays the definition,
    and verify() recomputes every entry with it."""
    # The entry's own items as `_CANONICAL_JSON` writes them: strings escaped by the
    # encoder's own function, integers as int's repr (a UUID's text needs no escaping).
    debits_posted, credits_posted, debits_pending, credits_pending = counters_after
    head = (
        f"[{_JSON_STRING(HASH_FORMAT_VERSION)},{_JSON_STRING(previous_hash)},"
        f'"{account_id}",{int(version)!r},{int(debits_posted)!r},{int(credits_posted)!r},'
        f"{int(debits_pending)!r},{int(credits_pending)!r},"
    )
    return hashlib.sha256(f"{head}{transfer_tail}".encode()).hexdigest()


# Account changes (limits set, account closed) form a second chain per account,
# so floor, ceiling and closed_at are covered like the entries (ledger.md 11).


def account_change_genesis(account_id: UUID, unit: Unit) -> str:
    """The head of an account's change log before its first change."""
    payload = json.dumps([HASH_FORMAT_VERSION, "account-changes", str(account_id), unit.value])
    return hashlib.sha256(payload.encode()).hexdigest()


def account_change_hash(change: AccountChange) -> str:
    """Hash of one account change: the state after it, chained to the previous one.

    The account's unit and owner are hashed too, so changing them on the
    account row breaks this chain.
    """
    payload = _CANONICAL_JSON.encode(
        [
            HASH_FORMAT_VERSION,
            "account-change",
            change.previous_hash,
            str(change.account_id),
            change.unit.value,
            change.owner,
            change.sequence,
            change.kind,
            change.floor_minor,
            change.ceiling_minor,
            _optional(change.closed_at),
            _optional(change.transfer_id),
            epoch_microseconds(change.recorded_at),
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()

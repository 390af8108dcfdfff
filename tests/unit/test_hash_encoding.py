"""The entry hash's canonical JSON is the format every stored chain was made with.

The hashes are made by one encoder kept for the process (ledger/hashing.py); it must
give the bytes `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` gives,
or every chain written before would stop verifying.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import pytest

from ledger.hashing import HASH_FORMAT_VERSION, entry_hash, transfer_fields
from ledger.model import Transfer, TransferKind, Unit

ACCOUNT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
PREVIOUS_HASH = "0" * 64
RECORDED_AT = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)
# The hash of the first case below, as the ledger made it before the kept encoder.
PLAIN_MEMO_HASH = "00517d2f0db66a801ed65fd82163fce00a00cef322fe0162f4f8044800a850f0"

MEMOS = [
    "a lift to hospital",
    "Diolch yn fawr — £5, 10°C, ünïcödé",
    'quotes " and backslash \\ and slash /',
    "control \x00 \x01 \x1f \x7f and new\nline\ttab",
    "line separator \u2028 and emoji \U0001f600",
    "",
]


def _transfer(memo: str) -> Transfer:
    return Transfer(
        id=uuid.UUID("00000000-0000-4000-8000-0000000000aa"),
        kind=TransferKind.SINGLE,
        unit=Unit.HOUR,
        debit_account_id=ACCOUNT_ID,
        credit_account_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        amount_minor=60,
        pending_id=None,
        reverses_id=None,
        chain_id=None,
        expires_at=None,
        code="gift",
        memo=memo,
        actor="member:1",
        override_limits=False,
        effective_at=RECORDED_AT,
        recorded_at=RECORDED_AT,
    )


def _reference_hash(transfer: Transfer) -> str:
    payload = json.dumps(
        [
            HASH_FORMAT_VERSION,
            PREVIOUS_HASH,
            str(ACCOUNT_ID),
            3,
            *(0, 60, 0, 0),
            *transfer_fields(transfer),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@pytest.mark.parametrize("memo", MEMOS)
def test_entry_hash_bytes_are_the_format_of_every_stored_chain(memo: str) -> None:
    transfer = _transfer(memo)
    made = entry_hash(
        previous_hash=PREVIOUS_HASH,
        account_id=ACCOUNT_ID,
        version=3,
        transfer=transfer,
        counters_after=(0, 60, 0, 0),
    )
    assert made == _reference_hash(transfer)


def test_a_plain_entry_hash_is_pinned() -> None:
    made = entry_hash(
        previous_hash=PREVIOUS_HASH,
        account_id=ACCOUNT_ID,
        version=3,
        transfer=_transfer(MEMOS[0]),
        counters_after=(0, 60, 0, 0),
    )
    assert made == PLAIN_MEMO_HASH

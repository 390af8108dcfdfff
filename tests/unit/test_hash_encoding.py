"""The entry hash's canonical JSON is the format every stored chain was made with.

The hashes are made by one encoder kept for the process (ledger/hashing.py); it must
give the bytes `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` gives,
or every chain written before would stop verifying.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.hashing import (
    HASH_FORMAT_VERSION,
    entry_hash,
    entry_hash_with_tail,
    transfer_fields,
    transfer_hash_tail,
)
from ledger.model import Transfer, TransferKind, Unit
from ledger.rows import AccountState

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


@pytest.mark.parametrize("memo", MEMOS)
def test_the_planners_hash_is_the_reference_hash(memo: str) -> None:
    """The planner encodes a transfer's fields once for both its entries
    (`entry_hash_with_tail`); the bytes hashed must be the format's own."""
    transfer = _transfer(memo)
    made = entry_hash_with_tail(
        previous_hash=PREVIOUS_HASH,
        account_id=ACCOUNT_ID,
        version=3,
        counters_after=(0, 60, 0, 0),
        transfer_tail=transfer_hash_tail(transfer),
    )
    assert made == _reference_hash(transfer)


_TEXT = st.text(max_size=40)
_COUNTER = st.integers(min_value=0, max_value=10**12)
# Hypothesis takes naive bounds and adds the zone itself.
_INSTANT = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(
    previous_hash=_TEXT,
    version=st.integers(min_value=1, max_value=10**9),
    counters=st.tuples(_COUNTER, _COUNTER, _COUNTER, _COUNTER),
    memo=_TEXT,
    code=_TEXT,
    actor=_TEXT,
    kind=st.sampled_from(list(TransferKind)),
    optional_ids=st.tuples(*(st.one_of(st.none(), st.uuids()) for _ in range(3))),
    expires_at=st.one_of(st.none(), _INSTANT),
    effective_at=_INSTANT,
    override_limits=st.booleans(),
)
def test_the_planners_hash_matches_entry_hash_for_any_entry(  # noqa: PLR0917 - one per field
    previous_hash: str,
    version: int,
    counters: tuple[int, int, int, int],
    memo: str,
    code: str,
    actor: str,
    kind: TransferKind,
    optional_ids: tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None],
    expires_at: datetime | None,
    effective_at: datetime,
    override_limits: bool,
) -> None:
    pending_id, reverses_id, chain_id = optional_ids
    transfer = dataclasses.replace(
        _transfer(memo),
        kind=kind,
        code=code,
        actor=actor,
        pending_id=pending_id,
        reverses_id=reverses_id,
        chain_id=chain_id,
        expires_at=expires_at,
        effective_at=effective_at,
        override_limits=override_limits,
    )
    by_definition = entry_hash(
        previous_hash=previous_hash,
        account_id=ACCOUNT_ID,
        version=version,
        transfer=transfer,
        counters_after=counters,
    )
    by_planner = entry_hash_with_tail(
        previous_hash=previous_hash,
        account_id=ACCOUNT_ID,
        version=version,
        counters_after=counters,
        transfer_tail=transfer_hash_tail(transfer),
    )
    assert by_planner == by_definition


def test_an_account_copy_is_equal_and_apart() -> None:
    """`AccountState.copy` lists the fields by position: every field a distinct value,
    so a field missed or two swapped shows as a difference."""
    state = AccountState(
        id=ACCOUNT_ID,
        unit=Unit.HOUR,
        owner="member:1",
        floor_minor=-1,
        ceiling_minor=2,
        debits_posted=3,
        credits_posted=4,
        debits_pending=5,
        credits_pending=6,
        version=7,
        head_hash=PREVIOUS_HASH,
        created_at=RECORDED_AT,
        updated_at=datetime(2026, 12, 7, tzinfo=UTC),
        closed_at=datetime(2026, 12, 8, tzinfo=UTC),
    )
    copy = state.copy()
    assert copy == dataclasses.replace(state)
    assert copy is not state
    copy.version += 1
    assert state.version == 7

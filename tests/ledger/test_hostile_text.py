"""Hostile text (issue 13 item 4): refused as a shape error, and never sinks a group commit.

A NUL is refused by PostgreSQL's TEXT and kept by SQLite; a lone surrogate
cannot be encoded as UTF-8, so hashing it failed mid-write on both engines.
Either used to fail every writer that shared the poisoned transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from ledger import Account, Ledger, LedgerError, NewTransfer, TextInvalid, Transfer, Unit
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours

NUL = "a\x00b"
LONE_SURROGATE = "a\ud800b"
VALID_WRITERS = 11


async def _funded_pair(ledger: Ledger) -> tuple[Account, Account, Account]:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    bob = await open_hours(ledger, "member:bob")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=1_200,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    return issuance, alice, bob


def _writes(
    ledger: Ledger, alice: Account, bob: Account, clock: Clock, given: Transfer
) -> dict[str, Callable[[str], Awaitable[Any]]]:
    """Every ledger write that takes text, with the text in one field."""

    def pending(memo: str = "", actor: str = "member:alice") -> Awaitable[Transfer]:
        return ledger.pending_transfer(
            id=new_id(),
            debit_account_id=alice.id,
            credit_account_id=bob.id,
            amount_minor=10,
            unit=Unit.HOUR,
            code="exchange",
            actor=actor,
            memo=memo,
            expires_at=clock.now + timedelta(hours=1),
        )

    return {
        "transfer memo": lambda text: ledger.transfer(
            id=new_id(),
            debit_account_id=alice.id,
            credit_account_id=bob.id,
            amount_minor=10,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:alice",
            memo=text,
        ),
        "pending memo": lambda text: pending(memo=text),
        "actor": lambda text: pending(actor=text),
        "post memo": lambda text: ledger.post_pending(
            id=new_id(), pending_id=given.id, actor="member:alice", memo=text
        ),
        "void memo": lambda text: ledger.void_pending(
            id=new_id(), pending_id=given.id, actor="member:alice", memo=text
        ),
        "reversal reason": lambda text: ledger.reverse(
            id=new_id(), reverses_id=given.id, actor="admin:1", reason=text
        ),
        "account owner": lambda text: ledger.open_account(unit=Unit.HOUR, owner=text),
    }


@pytest.mark.parametrize("text", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
async def test_unstorable_text_is_a_shape_error_in_every_field(
    ledger: Ledger, clock: Clock, text: str
) -> None:
    _, alice, bob = await _funded_pair(ledger)
    hold = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=10,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(hours=1),
    )
    single = await ledger.transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=10,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
    )
    before = await ledger.verify()
    for name, write in _writes(ledger, alice, bob, clock, single).items():
        target_write = write
        if name in ("post memo", "void memo"):
            target_write = _writes(ledger, alice, bob, clock, hold)[name]
        with pytest.raises(TextInvalid) as refused:
            await target_write(text)
        assert refused.value.code == "text_invalid", name
        assert not refused.value.recorded  # a shape error binds no id
    after = await ledger.verify()
    assert after.ok, after.summary()
    # Nothing was written: no transfer, no entry, no account.
    assert (after.transfers_checked, after.entries_checked, after.accounts_checked) == (
        before.transfers_checked,
        before.entries_checked,
        before.accounts_checked,
    )


async def _send(ledger: Ledger, alice: Account, bob: Account, memo: str) -> Transfer:
    return await ledger.transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        memo=memo,
    )


async def test_one_poisoned_memo_among_concurrent_transfers_fails_alone(
    ledger: Ledger,
) -> None:
    _, alice, bob = await _funded_pair(ledger)
    memos = [f"help {n}" for n in range(VALID_WRITERS)]
    memos.insert(5, NUL)

    results = await asyncio.gather(
        *(_send(ledger, alice, bob, memo) for memo in memos), return_exceptions=True
    )

    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], TextInvalid), refused
    assert isinstance(results[5], TextInvalid)
    assert (await ledger.balance(account_id=bob.id)).balance_minor == 30 * VALID_WRITERS
    report = await ledger.verify()
    assert report.ok, report.summary()


def _poisons(db: TestDatabase) -> list[str]:
    # A lone surrogate fails in hashing on both engines; a NUL fails only
    # PostgreSQL's insert (SQLite stores it).
    return [LONE_SURROGATE, NUL] if db.kind == "postgres" else [LONE_SURROGATE]


async def test_group_commit_isolates_an_unexpected_failure_to_its_own_writer(
    db: TestDatabase, clock: Clock
) -> None:
    """An item the shape checks miss (a stand-in for any defect) fails alone.

    The poisoned group is handed to the group committer directly, as a writer
    would after validation, so the failure happens inside the shared
    transaction: on planning (hashing) or on the database's insert.
    """
    ledger = Ledger(db.engine, clock=clock, group_commit=True)
    _, alice, bob = await _funded_pair(ledger)
    committer = ledger._committer()  # the unit under test
    for round_number, poison in enumerate(_poisons(db)):
        poisoned = NewTransfer(
            id=new_id(),
            debit_account_id=alice.id,
            credit_account_id=bob.id,
            amount_minor=30,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:alice",
            memo=poison,
        )
        writers: list[Awaitable[Any]] = [
            _send(ledger, alice, bob, f"help {n}") for n in range(VALID_WRITERS)
        ]
        writers.insert(3, committer.submit(((poisoned,), None)))

        results = await asyncio.gather(*writers, return_exceptions=True)

        failed = [result for result in results if isinstance(result, BaseException)]
        assert len(failed) == 1, failed
        assert not isinstance(failed[0], LedgerError)  # the unexpected error, unchanged
        assert isinstance(results[3], BaseException)
        moved = 30 * VALID_WRITERS * (round_number + 1)
        assert (await ledger.balance(account_id=bob.id)).balance_minor == moved
    report = await ledger.verify()
    assert report.ok, report.summary()

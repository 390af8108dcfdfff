"""An explicit `now` given to expire_due() or batch() is the instant the write is planned at.

Regression: with group commit on, a write of one item went through the group
committer, which planned it at the ledger clock's time instead of the `now`
the caller gave. `expire_due(now=later)` then found a hold due, was refused
with pending_not_expired, and that refusal was recorded against the derived
expiry id, so every later sweep replayed it and the hold never expired.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import ExpirePending, Ledger, PendingNotExpired, Unit, expire_id
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours


@pytest.mark.parametrize("group_commit", [False, True], ids=["own-transactions", "group-commit"])
async def test_expire_due_plans_at_the_instant_it_was_given(
    db: TestDatabase, clock: Clock, group_commit: bool
) -> None:
    ledger = Ledger(db.engine, clock=clock, group_commit=group_commit)
    alice = await open_hours(ledger, "member:alice", floor_minor=None)
    bob = await open_hours(ledger, "member:bob")
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(hours=1),
    )
    later = clock.now + timedelta(hours=2)  # the ledger's own clock stays put

    expired = await ledger.expire_due(now=later)

    assert [(transfer.kind.value, transfer.pending_id) for transfer in expired] == [
        ("expire", pending.id)
    ]
    assert expired[0].recorded_at == later
    balance = await ledger.balance(account_id=alice.id)
    assert (balance.available_minor, balance.debits_pending_minor) == (0, 0)
    # Nothing is left due, and a second sweep changes nothing.
    assert await ledger.expire_due(now=later) == []

    # The same for a batch of one item given its instant.
    other = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(hours=1),
    )
    (result,) = await ledger.batch(
        items=[ExpirePending(id=new_id(), pending_id=other.id)], now=later
    )
    assert result.ok, result.error
    assert result.transfers[0].recorded_at == later
    report = await ledger.verify()
    assert report.ok, report.summary()


async def test_an_expiry_tried_before_it_is_due_does_not_bind_the_expiry_id(
    ledger: Ledger, clock: Clock
) -> None:
    """Regression: pending_not_expired was recorded under the expiry id, so the
    real expiry later replayed that refusal and the hold was never released."""
    alice = await open_hours(ledger, "member:alice", floor_minor=None)
    bob = await open_hours(ledger, "member:bob")
    hold = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(hours=1),
    )
    with pytest.raises(PendingNotExpired):
        await ledger.execute(operation=ExpirePending(id=expire_id(hold.id), pending_id=hold.id))

    clock.advance(hours=2)
    expired = await ledger.expire_due()

    assert [(transfer.id, transfer.kind.value) for transfer in expired] == [
        (expire_id(hold.id), "expire")
    ]
    balance = await ledger.balance(account_id=alice.id)
    assert balance.debits_pending_minor == 0

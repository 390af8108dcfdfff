from __future__ import annotations

from ledger import Ledger, Unit
from tests.ledger.conftest import Clock, new_id, open_hours


async def test_transfer_moves_hours_and_verify_is_clean(ledger: Ledger, clock: Clock) -> None:
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    bob = await open_hours(ledger, "member:bob")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=120,
        unit=Unit.HOUR,
        code="welcome",
        actor="system:test",
    )
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=bob.id,
        amount_minor=60,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.advance(hours=0).replace(year=2026, month=2),
    )
    assert (await ledger.balance(account_id=alice.id)).available_minor == 60
    post = await ledger.post_pending(
        id=new_id(), pending_id=pending.id, actor="member:alice", amount_minor=45
    )
    reversal = await ledger.reverse(
        id=new_id(), reverses_id=post.id, actor="admin:1", reason="dispute", amount_minor=15
    )
    assert reversal.amount_minor == 15
    assert (await ledger.balance(account_id=alice.id)).balance_minor == 120 - 45 + 15
    assert (await ledger.balance(account_id=bob.id)).balance_minor == 30
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.entries_checked == 8
    page = await ledger.statement(account_id=alice.id, limit=2)
    assert [line.version for line in page.lines] == [4, 3]
    assert page.next_cursor is not None
    older = await ledger.statement(account_id=alice.id, limit=2, cursor=page.next_cursor)
    assert [line.version for line in older.lines] == [2, 1]
    assert older.next_cursor is None

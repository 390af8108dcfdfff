from __future__ import annotations

from ledger import Ledger, Unit
from tests.ledger.conftest import Clock, fund, new_id


async def test_transfer_moves_hours_and_verify_is_clean(ledger: Ledger, clock: Clock) -> None:
    funds = await fund(ledger, minutes=120, actor="system:test")
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=funds.alice,
        credit_account_id=funds.bob,
        amount_minor=60,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.advance(hours=0).replace(year=2026, month=2),
    )
    assert (await ledger.balance(account_id=funds.alice)).available_minor == 60
    post = await ledger.post_pending(
        id=new_id(), pending_id=pending.id, actor="member:alice", amount_minor=45
    )
    reversal = await ledger.reverse(
        id=new_id(), reverses_id=post.id, actor="admin:1", reason="dispute", amount_minor=15
    )
    assert reversal.amount_minor == 15
    assert (await ledger.balance(account_id=funds.alice)).balance_minor == 120 - 45 + 15
    assert (await ledger.balance(account_id=funds.bob)).balance_minor == 30
    report = await ledger.verify()
    assert report.ok, report.summary()
    assert report.entries_checked == 8
    page = await ledger.statement(account_id=funds.alice, limit=2)
    assert [line.version for line in page.lines] == [4, 3]
    assert page.next_cursor is not None
    older = await ledger.statement(account_id=funds.alice, limit=2, cursor=page.next_cursor)
    assert [line.version for line in older.lines] == [2, 1]
    assert older.next_cursor is None

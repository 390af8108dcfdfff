"""Reads (guarantee 10), two-phase resolution (guarantee 6) and account management."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest

from ledger import Ledger, LedgerError, TransferKind, Unit
from ledger.limits import STATEMENT_PAGE_SIZE_MAX
from ledger.rows import transfer_from_row
from tests.ledger.conftest import Clock, fund, new_id, open_hours


async def test_balance_at_any_past_instant(ledger: Ledger, clock: Clock) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    start = clock.now
    amounts = [60, 30, 90]
    instants = []
    for amount in amounts:
        clock.advance(hours=1)
        await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=alice.id,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="grant",
            actor="system",
        )
        instants.append(clock.now)
    assert await ledger.balance_at(account_id=alice.id, at=start) == 0
    assert await ledger.balance_at(account_id=alice.id, at=instants[0]) == 60
    assert (
        await ledger.balance_at(account_id=alice.id, at=instants[1] + timedelta(minutes=30)) == 90
    )
    assert await ledger.balance_at(account_id=alice.id, at=instants[2]) == 180
    assert await ledger.balance_at(account_id=issuance.id, at=instants[2]) == -180
    with pytest.raises(LedgerError, match="account_not_found"):
        await ledger.balance_at(account_id=new_id(), at=start)


async def test_statement_pages_newest_first(ledger: Ledger) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    for amount in range(1, 8):
        await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=alice.id,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="grant",
            actor="system",
        )
    seen, cursor = [], None
    while True:
        page = await ledger.statement(account_id=alice.id, limit=3, cursor=cursor)
        seen += [(line.version, line.change_minor, line.balance_after_minor) for line in page.lines]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [version for version, _, _ in seen] == [7, 6, 5, 4, 3, 2, 1]
    assert seen[0] == (7, 7, 28)
    assert seen[-1] == (1, 1, 1)
    issuance_page = await ledger.statement(account_id=issuance.id, limit=1)
    assert issuance_page.lines[0].change_minor == -7


async def test_statement_lines_hold_the_transfers_as_written(ledger: Ledger, clock: Clock) -> None:
    """Rows read back are the values written, in the ledger's own types: UUIDs, the
    kinds' and units' members, instants in UTC (the row mapping's shortcuts keep that)."""
    funded = await fund(ledger)
    clock.advance(minutes=5)
    given = await ledger.transfer(
        id=new_id(),
        debit_account_id=funded.alice,
        credit_account_id=funded.bob,
        amount_minor=30,
        unit=Unit.HOUR,
        code="gift",
        actor="member:alice",
        memo="for the garden",
    )
    held = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=funded.alice,
        credit_account_id=funded.bob,
        amount_minor=20,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(days=2),
    )
    page = await ledger.statement(account_id=funded.alice, limit=2)
    assert [line.transfer for line in page.lines] == [held, given]
    for line in page.lines:
        transfer = line.transfer
        assert isinstance(transfer.id, uuid.UUID)
        assert isinstance(transfer.debit_account_id, uuid.UUID)
        assert transfer.kind in (TransferKind.PENDING, TransferKind.SINGLE)
        assert transfer.unit is Unit.HOUR
        assert transfer.recorded_at.utcoffset() == timedelta(0)
        assert line.recorded_at.tzinfo is not None
        assert line.recorded_at.utcoffset() == timedelta(0)
    assert page.lines[0].transfer.kind is TransferKind.PENDING
    assert page.lines[0].transfer.expires_at == clock.now + timedelta(days=2)


def test_rows_with_an_unknown_kind_or_unit_are_refused() -> None:
    row = {
        "id": str(uuid.uuid4()),
        "kind": "single",
        "unit": "HOUR",
        "debit_account_id": str(uuid.uuid4()),
        "credit_account_id": str(uuid.uuid4()),
        "amount_minor": 5,
        "pending_id": None,
        "reverses_id": None,
        "chain_id": None,
        "expires_at": None,
        "code": "gift",
        "memo": "",
        "actor": "system",
        "override_limits": 0,
        "effective_at": "2026-01-05 09:00:00.000000",
        "recorded_at": "2026-01-05 09:00:00.000000",
    }
    read = transfer_from_row(row)
    assert read.kind is TransferKind.SINGLE
    assert read.recorded_at.tzinfo is UTC
    with pytest.raises(ValueError, match="not a valid TransferKind"):
        transfer_from_row({**row, "kind": "gift"})
    with pytest.raises(ValueError, match="not a valid Unit"):
        transfer_from_row({**row, "unit": "EUR"})


async def test_statement_of_an_unknown_account_is_refused_first(ledger: Ledger) -> None:
    """A page with lines shows its account is there; an empty one, or a bad request for
    an account that is not, is answered `account_not_found` as before."""
    quiet = await open_hours(ledger, "member:quiet")
    assert (await ledger.statement(account_id=quiet.id)).lines == ()
    with pytest.raises(LedgerError, match="account_not_found"):
        await ledger.statement(account_id=new_id())
    with pytest.raises(LedgerError, match="account_not_found"):
        await ledger.statement(account_id=new_id(), limit=0)
    with pytest.raises(LedgerError, match="account_not_found"):
        await ledger.statement(account_id=new_id(), cursor="not-a-cursor")


@pytest.mark.parametrize("limit", [0, STATEMENT_PAGE_SIZE_MAX + 1])
async def test_statement_page_size_is_bounded(ledger: Ledger, limit: int) -> None:
    alice = await open_hours(ledger, "member:alice")
    with pytest.raises(LedgerError, match="page_size_invalid"):
        await ledger.statement(account_id=alice.id, limit=limit)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "djE6MA==", "eHl6"])
async def test_statement_refuses_foreign_cursors(ledger: Ledger, cursor: str) -> None:
    alice = await open_hours(ledger, "member:alice")
    with pytest.raises(LedgerError, match="cursor_invalid"):
        await ledger.statement(account_id=alice.id, cursor=cursor)


async def test_partial_post_releases_the_rest(ledger: Ledger, clock: Clock) -> None:
    funds = await fund(ledger, minutes=120, issuance_owner="issuance")
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=funds.alice,
        credit_account_id=funds.bob,
        amount_minor=90,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(days=2),
    )
    held = await ledger.balance(account_id=funds.alice)
    assert (held.balance_minor, held.available_minor, held.debits_pending_minor) == (120, 30, 90)
    post = await ledger.post_pending(id=new_id(), pending_id=pending.id, actor="a", amount_minor=60)
    assert post.amount_minor == 60 and post.code == "exchange"
    after = await ledger.balance(account_id=funds.alice)
    assert (after.balance_minor, after.available_minor, after.debits_pending_minor) == (60, 60, 0)
    assert (await ledger.balance(account_id=funds.bob)).credits_pending_minor == 0


async def test_expire_due_releases_only_due_holds(ledger: Ledger, clock: Clock) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=100,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    soon = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=issuance.id,
        amount_minor=10,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(hours=1),
    )
    await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=issuance.id,
        amount_minor=20,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(days=1),
    )
    assert await ledger.expire_due() == []
    clock.advance(hours=1)
    expired = await ledger.expire_due()
    assert [(t.kind.value, t.pending_id) for t in expired] == [("expire", soon.id)]
    assert await ledger.expire_due() == []  # idempotent: nothing left due
    assert (await ledger.balance(account_id=alice.id)).available_minor == 80
    assert (await ledger.verify()).ok


async def test_override_limits_moves_the_floor_to_the_new_position(ledger: Ledger) -> None:
    funds = await fund(ledger, minutes=60, issuance_owner="issuance")
    paid = await ledger.transfer(
        id=new_id(),
        debit_account_id=funds.alice,
        credit_account_id=funds.bob,
        amount_minor=60,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    await ledger.transfer(
        id=new_id(),
        debit_account_id=funds.bob,
        credit_account_id=funds.issuance,
        amount_minor=60,
        unit=Unit.HOUR,
        code="donation",
        actor="b",
    )
    with pytest.raises(LedgerError, match="exceeds_floor"):
        await ledger.reverse(id=new_id(), reverses_id=paid.id, actor="admin", reason="dispute")
    await ledger.reverse(
        id=new_id(),
        reverses_id=paid.id,
        actor="admin",
        reason="dispute",
        code="dispute_reversal",
        override_limits=True,
    )
    bob_now = await ledger.account(account_id=funds.bob)
    assert (bob_now.balance_minor, bob_now.floor_minor) == (-60, -60)
    with pytest.raises(LedgerError, match="exceeds_floor"):
        await ledger.transfer(
            id=new_id(),
            debit_account_id=funds.bob,
            credit_account_id=funds.alice,
            amount_minor=1,
            unit=Unit.HOUR,
            code="exchange",
            actor="b",
        )
    assert (await ledger.verify()).ok


async def test_close_account_needs_zero_balance(ledger: Ledger) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=5,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    with pytest.raises(LedgerError, match="account_not_empty"):
        await ledger.close_account(account_id=alice.id)
    await ledger.transfer(
        id=new_id(),
        debit_account_id=alice.id,
        credit_account_id=issuance.id,
        amount_minor=5,
        unit=Unit.HOUR,
        code="closure",
        actor="system",
    )
    closed = await ledger.close_account(account_id=alice.id)
    assert closed.closed_at is not None


async def test_set_limits_refuses_limits_the_position_breaks(ledger: Ledger) -> None:
    alice = await open_hours(ledger, "member:alice")
    changed = await ledger.set_limits(account_id=alice.id, floor_minor=-120, ceiling_minor=600)
    assert (changed.floor_minor, changed.ceiling_minor) == (-120, 600)
    with pytest.raises(LedgerError, match="limits_below_position"):
        await ledger.set_limits(account_id=alice.id, floor_minor=10, ceiling_minor=None)
    with pytest.raises(LedgerError, match="limits_invalid"):
        await ledger.set_limits(account_id=alice.id, floor_minor=10, ceiling_minor=5)


async def test_trial_balance_sums_to_zero(ledger: Ledger) -> None:
    issuance = await open_hours(ledger, "issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=75,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    trial = await ledger.trial_balance(unit=Unit.HOUR)
    assert trial.balanced and trial.total_debits_minor == 75
    assert sum(row.balance_minor for row in trial.rows) == 0
    assert (await ledger.trial_balance(unit=Unit.GBP)).rows == ()

"""ledger.md guarantee 5: the transfer id is the idempotency key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import Ledger, LedgerError, Unit
from tests.ledger.conftest import Clock, new_id, open_hours


async def _funded(ledger: Ledger) -> tuple:
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    bob = await open_hours(ledger, "member:bob")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=100,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    return issuance.id, alice.id, bob.id


async def test_same_id_same_content_returns_the_original_and_moves_nothing(
    ledger: Ledger, clock: Clock
) -> None:
    _, alice, bob = await _funded(ledger)
    request = {
        "id": new_id(),
        "debit_account_id": alice,
        "credit_account_id": bob,
        "amount_minor": 40,
        "unit": Unit.HOUR,
        "code": "exchange",
        "actor": "member:alice",
        "memo": "lift to the surgery",
    }
    first = await ledger.transfer(**request)
    clock.advance(minutes=3)
    again = await ledger.transfer(**request)
    assert again == first
    balance = await ledger.balance(account_id=alice)
    assert balance.balance_minor == 60
    assert balance.version == 2  # the welcome and one exchange, not two


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount_minor", 41), ("memo", "another memo"), ("code", "gift"), ("actor", "member:bob")],
)
async def test_same_id_different_content_names_the_field(
    ledger: Ledger, field: str, value: object
) -> None:
    _, alice, bob = await _funded(ledger)
    request = {
        "id": new_id(),
        "debit_account_id": alice,
        "credit_account_id": bob,
        "amount_minor": 40,
        "unit": Unit.HOUR,
        "code": "exchange",
        "actor": "member:alice",
        "memo": "lift",
    }
    await ledger.transfer(**request)
    with pytest.raises(LedgerError) as caught:
        await ledger.transfer(**{**request, field: value})
    assert caught.value.code == f"exists_with_different_{field}"
    assert caught.value.data["requested"] == value


async def test_an_id_used_for_another_kind_is_refused(ledger: Ledger, clock: Clock) -> None:
    _, alice, bob = await _funded(ledger)
    transfer_id = new_id()
    await ledger.transfer(
        id=transfer_id,
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=5,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    with pytest.raises(LedgerError) as caught:
        await ledger.pending_transfer(
            id=transfer_id,
            debit_account_id=alice,
            credit_account_id=bob,
            amount_minor=5,
            unit=Unit.HOUR,
            code="exchange",
            actor="a",
            expires_at=clock.now + timedelta(hours=1),
        )
    assert caught.value.code == "exists_with_different_kind"


async def test_a_failed_id_keeps_failing_with_its_first_reason(ledger: Ledger) -> None:
    issuance, alice, bob = await _funded(ledger)
    request = {
        "id": new_id(),
        "debit_account_id": alice,
        "credit_account_id": bob,
        "amount_minor": 150,
        "unit": Unit.HOUR,
        "code": "exchange",
        "actor": "a",
    }
    with pytest.raises(LedgerError) as first:
        await ledger.transfer(**request)
    assert first.value.code == "exceeds_floor"
    # Now alice could afford it, but the id is bound to its first outcome.
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance,
        credit_account_id=alice,
        amount_minor=100,
        unit=Unit.HOUR,
        code="grant",
        actor="system",
    )
    with pytest.raises(LedgerError) as again:
        await ledger.transfer(**request)
    assert again.value == first.value
    with pytest.raises(LedgerError) as changed:
        await ledger.transfer(**{**request, "amount_minor": 10})
    assert changed.value.code == "exists_with_different_amount_minor"
    assert (await ledger.balance(account_id=bob)).balance_minor == 0


async def test_shape_errors_do_not_bind_the_id(ledger: Ledger) -> None:
    _, alice, bob = await _funded(ledger)
    transfer_id = new_id()
    with pytest.raises(LedgerError, match="code_invalid"):
        await ledger.transfer(
            id=transfer_id,
            debit_account_id=alice,
            credit_account_id=bob,
            amount_minor=5,
            unit=Unit.HOUR,
            code="Bad Code",
            actor="a",
        )
    done = await ledger.transfer(
        id=transfer_id,
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=5,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    assert done.id == transfer_id


async def test_resent_post_and_reversal_return_originals(ledger: Ledger, clock: Clock) -> None:
    _, alice, bob = await _funded(ledger)
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(days=1),
    )
    post_id, reversal_id = new_id(), new_id()
    post = await ledger.post_pending(id=post_id, pending_id=pending.id, actor="a")
    assert await ledger.post_pending(id=post_id, pending_id=pending.id, actor="a") == post
    reversal = await ledger.reverse(
        id=reversal_id, reverses_id=post.id, actor="admin", reason="dispute upheld"
    )
    again = await ledger.reverse(
        id=reversal_id, reverses_id=post.id, actor="admin", reason="dispute upheld"
    )
    assert again == reversal
    assert (await ledger.balance(account_id=alice)).balance_minor == 100
    assert (await ledger.verify()).ok


async def test_open_account_with_id_is_idempotent(ledger: Ledger) -> None:
    account_id = new_id()
    first = await ledger.open_account(unit=Unit.HOUR, owner="member:x", account_id=account_id)
    again = await ledger.open_account(unit=Unit.HOUR, owner="member:x", account_id=account_id)
    assert again == first
    with pytest.raises(LedgerError, match="account_exists"):
        await ledger.open_account(unit=Unit.GBP, owner="member:x", account_id=account_id)

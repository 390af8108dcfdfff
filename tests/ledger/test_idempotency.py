"""ledger.md guarantee 5: the transfer id is the idempotency key."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from ledger import (
    Applied,
    Ledger,
    LedgerError,
    NewPending,
    NewTransfer,
    Reverse,
    Unit,
    WriteTransaction,
    run_write,
)
from tests.conftest import TestDatabase
from tests.ledger.conftest import FUNDED_MINUTES, Clock, Funded, fund, new_id

CONTENDERS = 8  # concurrent requests with one id


async def test_same_id_same_content_returns_the_original_and_moves_nothing(
    ledger: Ledger, funded: Funded, clock: Clock
) -> None:
    alice, bob = funded.alice, funded.bob
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
    ledger: Ledger, funded: Funded, field: str, value: object
) -> None:
    alice, bob = funded.alice, funded.bob
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


async def test_an_id_used_for_another_kind_is_refused(
    ledger: Ledger, funded: Funded, clock: Clock
) -> None:
    alice, bob = funded.alice, funded.bob
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


async def test_a_failed_id_keeps_failing_with_its_first_reason(
    ledger: Ledger, funded: Funded
) -> None:
    issuance, alice, bob = funded.issuance, funded.alice, funded.bob
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


async def test_shape_errors_do_not_bind_the_id(ledger: Ledger, funded: Funded) -> None:
    alice, bob = funded.alice, funded.bob
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


async def test_resent_post_and_reversal_return_originals(
    ledger: Ledger, funded: Funded, clock: Clock
) -> None:
    alice, bob = funded.alice, funded.bob
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


def _hold(alice: UUID, bob: UUID, expires_at: datetime, amount_minor: int = 30) -> NewPending:
    return NewPending(
        id=new_id(),
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=amount_minor,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=expires_at,
        memo="hold for a lift",
    )


async def test_a_pending_resent_after_its_expiry_passed_gets_its_first_answer(
    ledger: Ledger, funded: Funded, clock: Clock
) -> None:
    """Guarantee 5 beats the expiry window: the id is decided, time does not undo that."""
    alice, bob = funded.alice, funded.bob
    single = _hold(alice, bob, clock.now + timedelta(hours=1))
    chained = [_hold(alice, bob, clock.now + timedelta(hours=1), amount_minor=10) for _ in "ab"]
    first = await ledger.execute(operation=single)
    first_chain = await ledger.chain(operations=chained)
    too_much = _hold(alice, bob, clock.now + timedelta(hours=1), amount_minor=500)
    with pytest.raises(LedgerError) as refused:
        await ledger.execute(operation=too_much)
    assert refused.value.code == "exceeds_floor"
    version = (await ledger.balance(account_id=alice)).version

    clock.advance(hours=2)  # every expires_at above is now in the past
    assert await ledger.execute(operation=single) == first
    assert await ledger.chain(operations=chained) == first_chain
    [result] = await ledger.batch(items=[single])
    assert result.transfers == (first,)
    with pytest.raises(LedgerError) as again:
        await ledger.execute(operation=too_much)
    assert again.value == refused.value  # the first business reason, not expiry_invalid
    # Changed content is still named, even with the expiry long gone.
    with pytest.raises(LedgerError) as changed:
        await ledger.execute(operation=dataclasses.replace(single, memo="another"))
    assert changed.value.code == "exists_with_different_memo"
    assert (await ledger.balance(account_id=alice)).version == version  # nothing moved


async def test_a_new_pending_with_an_expiry_out_of_its_window_is_refused_and_not_bound(
    ledger: Ledger, funded: Funded, clock: Clock
) -> None:
    alice, bob = funded.alice, funded.bob
    for expires_at in (clock.now, clock.now + timedelta(days=400)):
        hold = _hold(alice, bob, expires_at)
        with pytest.raises(LedgerError) as refused:
            await ledger.execute(operation=hold)
        assert refused.value.code == "expiry_invalid"
        # The refusal is not recorded: the same id with a sound expiry goes through.
        fixed = dataclasses.replace(hold, expires_at=clock.now + timedelta(hours=1))
        assert (await ledger.execute(operation=fixed)).id == hold.id


# `apply`: the write says whether it was a replay (no pre-read needed) -----------------


def _gift(funded: Funded, transfer_id: UUID, minutes: int = 25) -> NewTransfer:
    return NewTransfer(
        id=transfer_id,
        debit_account_id=funded.alice,
        credit_account_id=funded.bob,
        amount_minor=minutes,
        unit=Unit.HOUR,
        code="grant",
        actor="member:coordinator",
    )


async def test_apply_says_whether_the_id_was_already_written(
    ledger: Ledger, funded: Funded
) -> None:
    operation = _gift(funded, new_id())
    first = await ledger.apply(operation=operation)
    again = await ledger.apply(operation=operation)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.transfer == first.transfer
    assert (await ledger.balance(account_id=funded.bob)).balance_minor == 25
    # A resolution and a reversal say it too.
    reversal = Reverse(id=new_id(), reverses_id=first.transfer.id, actor="admin:1", reason="r")
    assert (await ledger.apply(operation=reversal)).replayed is False
    assert (await ledger.apply(operation=reversal)).replayed is True


async def test_apply_inside_a_callers_transaction_reports_a_replay_of_a_committed_write(
    ledger: Ledger, funded: Funded, db: TestDatabase
) -> None:
    operation = _gift(funded, new_id())

    async def work(_transaction: WriteTransaction) -> Applied:
        return await ledger.apply(operation=operation)

    assert (await run_write(db.engine, work)).replayed is False
    assert (await run_write(db.engine, work)).replayed is True


async def test_a_refused_id_is_refused_again_not_replayed(ledger: Ledger, funded: Funded) -> None:
    too_much = _gift(funded, new_id(), minutes=FUNDED_MINUTES + 1)
    for _ in range(2):
        with pytest.raises(LedgerError) as caught:
            await ledger.apply(operation=too_much)
        assert caught.value.code == "exceeds_floor"


@pytest.mark.postgres_only
async def test_concurrent_requests_with_one_id_see_exactly_one_new_write(
    db: TestDatabase, clock: Clock
) -> None:
    """Each in its own transaction, as a service writes: the answer is read under the
    accounts' locks, so only the first to take them finds the id free."""
    ledger = Ledger(db.engine, clock=clock, group_commit=False)
    funded = await fund(ledger)
    operation = _gift(funded, new_id())

    async def work(_transaction: WriteTransaction) -> Applied:
        return await ledger.apply(operation=operation)

    answers = await asyncio.gather(*(run_write(db.engine, work) for _ in range(CONTENDERS)))
    assert sorted(answer.replayed for answer in answers) == [False] + [True] * (CONTENDERS - 1)
    assert len({answer.transfer for answer in answers}) == 1
    assert (await ledger.balance(account_id=funded.bob)).balance_minor == 25

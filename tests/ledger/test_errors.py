"""Every ledger error, and the precedence between them (errors.py docstring), on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from ledger import Chain, ExpirePending, Ledger, LedgerError, NewTransfer, Unit
from ledger.limits import AMOUNT_MINOR_MAX, CHAIN_TRANSFERS_MAX, MEMO_CHARS_MAX
from tests.ledger.conftest import Clock, new_id, open_hours


@dataclass
class World:
    """Accounts in a known state: alice holds 120 minutes, bob 0 with a 180 ceiling."""

    ledger: Ledger
    clock: Clock
    issuance: uuid.UUID
    alice: uuid.UUID
    bob: uuid.UUID
    pounds: uuid.UUID
    closed: uuid.UUID
    single: uuid.UUID  # alice -> bob, 30 minutes
    pending: uuid.UUID  # alice -> bob, 20 minutes, expires in an hour


@pytest.fixture
async def world(ledger: Ledger, clock: Clock) -> World:
    issuance = (await open_hours(ledger, "community:1:issuance", floor_minor=None)).id
    alice = (await open_hours(ledger, "member:alice")).id
    bob = (await open_hours(ledger, "member:bob", ceiling_minor=180)).id
    pounds = (await ledger.open_account(unit=Unit.GBP, owner="community:1:donations")).id
    closed = (await open_hours(ledger, "member:gone")).id
    await ledger.close_account(account_id=closed)
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance,
        credit_account_id=alice,
        amount_minor=150,
        unit=Unit.HOUR,
        code="welcome",
        actor="system",
    )
    single = await ledger.transfer(
        id=new_id(),
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=30,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    pending = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=20,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(hours=1),
    )
    return World(ledger, clock, issuance, alice, bob, pounds, closed, single.id, pending.id)


def move(w: World, **changes: object) -> Callable[[], Awaitable[object]]:
    fields: dict[str, object] = {
        "id": new_id(),
        "debit_account_id": w.alice,
        "credit_account_id": w.bob,
        "amount_minor": 10,
        "unit": Unit.HOUR,
        "code": "exchange",
        "actor": "member:alice",
    }
    fields.update(changes)
    return lambda: w.ledger.transfer(**fields)  # type: ignore[arg-type]


MISSING = uuid.UUID(int=1)

# (case id, expected code, request built from the world). Where a request is
# wrong in several ways, the expected code is the earliest in precedence.
CASES: list[tuple[str, str, Callable[[World], Callable[[], Awaitable[object]]]]] = [
    (
        "same account beats bad amount",
        "same_account",
        lambda w: move(w, credit_account_id=w.alice, amount_minor=0),
    ),
    ("zero amount", "amount_invalid", lambda w: move(w, amount_minor=0)),
    ("negative amount", "amount_invalid", lambda w: move(w, amount_minor=-5)),
    ("amount above limit", "amount_invalid", lambda w: move(w, amount_minor=AMOUNT_MINOR_MAX + 1)),
    ("boolean amount", "amount_invalid", lambda w: move(w, amount_minor=True)),
    (
        "bad amount beats missing account",
        "amount_invalid",
        lambda w: move(w, debit_account_id=MISSING, amount_minor=0),
    ),
    ("code with capitals", "code_invalid", lambda w: move(w, code="Exchange")),
    ("empty code", "code_invalid", lambda w: move(w, code="")),
    ("memo too long", "memo_too_long", lambda w: move(w, memo="x" * (MEMO_CHARS_MAX + 1))),
    ("blank actor", "actor_invalid", lambda w: move(w, actor=" ")),
    ("missing debit account", "account_not_found", lambda w: move(w, debit_account_id=MISSING)),
    ("missing credit account", "account_not_found", lambda w: move(w, credit_account_id=MISSING)),
    (
        "missing account beats floor",
        "account_not_found",
        lambda w: move(w, credit_account_id=MISSING, amount_minor=10_000),
    ),
    ("other unit", "unit_mismatch", lambda w: move(w, credit_account_id=w.pounds)),
    (
        "unit mismatch beats floor",
        "unit_mismatch",
        lambda w: move(w, credit_account_id=w.pounds, amount_minor=10_000),
    ),
    ("closed account", "account_closed", lambda w: move(w, credit_account_id=w.closed)),
    (
        "closed beats floor",
        "account_closed",
        lambda w: move(w, credit_account_id=w.closed, amount_minor=10_000),
    ),
    ("beyond floor", "exceeds_floor", lambda w: move(w, amount_minor=101)),
    ("floor beats ceiling", "exceeds_floor", lambda w: move(w, amount_minor=500)),
    (
        "beyond ceiling",
        "exceeds_ceiling",
        lambda w: move(w, debit_account_id=w.issuance, amount_minor=131),
    ),
    (
        "pending missing",
        "pending_not_found",
        lambda w: lambda: w.ledger.post_pending(id=new_id(), pending_id=MISSING, actor="a"),
    ),
    (
        "posting a single transfer",
        "pending_kind_invalid",
        lambda w: lambda: w.ledger.post_pending(id=new_id(), pending_id=w.single, actor="a"),
    ),
    (
        "post more than held",
        "post_exceeds_pending",
        lambda w: (
            lambda: w.ledger.post_pending(
                id=new_id(), pending_id=w.pending, actor="a", amount_minor=21
            )
        ),
    ),
    (
        "reverse missing",
        "reversal_target_not_found",
        lambda w: (
            lambda: w.ledger.reverse(id=new_id(), reverses_id=MISSING, actor="a", reason="why")
        ),
    ),
    (
        "reverse a pending",
        "reversal_kind_invalid",
        lambda w: (
            lambda: w.ledger.reverse(id=new_id(), reverses_id=w.pending, actor="a", reason="why")
        ),
    ),
    (
        "reverse more than original",
        "reversal_exceeds_original",
        lambda w: (
            lambda: w.ledger.reverse(
                id=new_id(), reverses_id=w.single, actor="a", reason="why", amount_minor=31
            )
        ),
    ),
    (
        "reversal without reason",
        "reason_required",
        lambda w: (
            lambda: w.ledger.reverse(id=new_id(), reverses_id=w.single, actor="a", reason="  ")
        ),
    ),
    (
        "expiry in the past",
        "expiry_invalid",
        lambda w: (
            lambda: w.ledger.pending_transfer(
                id=new_id(),
                debit_account_id=w.alice,
                credit_account_id=w.bob,
                amount_minor=5,
                unit=Unit.HOUR,
                code="exchange",
                actor="a",
                expires_at=w.clock.now,
            )
        ),
    ),
    (
        "expiry too far",
        "expiry_invalid",
        lambda w: (
            lambda: w.ledger.pending_transfer(
                id=new_id(),
                debit_account_id=w.alice,
                credit_account_id=w.bob,
                amount_minor=5,
                unit=Unit.HOUR,
                code="exchange",
                actor="a",
                expires_at=w.clock.now + timedelta(days=400),
            )
        ),
    ),
    ("empty chain", "chain_invalid", lambda w: lambda: w.ledger.chain(operations=[])),
    (
        "chain too long",
        "chain_invalid",
        lambda w: (
            lambda: w.ledger.chain(
                operations=[
                    NewTransfer(
                        id=new_id(),
                        debit_account_id=w.issuance,
                        credit_account_id=w.alice,
                        amount_minor=1,
                        unit=Unit.HOUR,
                        code="grant",
                        actor="a",
                    )
                    for _ in range(CHAIN_TRANSFERS_MAX + 1)
                ]
            )
        ),
    ),
    ("empty batch", "batch_invalid", lambda w: lambda: w.ledger.batch(items=[])),
]


@pytest.mark.parametrize(
    ("expected", "build"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
async def test_error_precedence(
    world: World, expected: str, build: Callable[[World], Callable[[], Awaitable[object]]]
) -> None:
    before = await world.ledger.trial_balance(unit=Unit.HOUR)
    with pytest.raises(LedgerError) as caught:
        await build(world)()
    assert caught.value.code == expected, caught.value
    assert await world.ledger.trial_balance(unit=Unit.HOUR) == before  # nothing moved


async def test_exceeds_floor_carries_available_balance(world: World) -> None:
    with pytest.raises(LedgerError) as caught:
        await move(world, amount_minor=250)()
    assert caught.value.code == "exceeds_floor"
    # 150 welcome - 30 sent - 20 on hold.
    assert caught.value.data == {
        "account_id": str(world.alice),
        "available_minor": 100,
        "floor_minor": 0,
        "amount_minor": 250,
    }


async def test_pending_counts_against_floor(world: World) -> None:
    await move(world, amount_minor=100)()  # exactly the available balance
    with pytest.raises(LedgerError, match="exceeds_floor"):
        await move(world, amount_minor=1)()


async def test_resolution_errors(world: World) -> None:
    ledger, clock = world.ledger, world.clock
    with pytest.raises(LedgerError) as not_due:
        await ledger.batch(items=[])
    assert not_due.value.code == "batch_invalid"
    void = await ledger.void_pending(id=new_id(), pending_id=world.pending, actor="a")
    with pytest.raises(LedgerError) as again:
        await ledger.post_pending(id=new_id(), pending_id=world.pending, actor="a")
    assert again.value.code == "pending_already_resolved"
    assert again.value.data["resolution_id"] == str(void.id)
    held = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=world.alice,
        credit_account_id=world.bob,
        amount_minor=5,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
        expires_at=clock.now + timedelta(minutes=5),
    )
    results = await ledger.batch(items=[ExpirePending(id=new_id(), pending_id=held.id)])
    assert results[0].error is not None and results[0].error.code == "pending_not_expired"
    clock.advance(minutes=5)
    with pytest.raises(LedgerError) as expired:
        await ledger.post_pending(id=new_id(), pending_id=held.id, actor="a")
    assert expired.value.code == "pending_expired"


async def test_already_reversed(world: World) -> None:
    ledger = world.ledger
    await ledger.reverse(
        id=new_id(), reverses_id=world.single, actor="a", reason="r", amount_minor=10
    )
    await ledger.reverse(id=new_id(), reverses_id=world.single, actor="a", reason="r")
    with pytest.raises(LedgerError) as caught:
        await ledger.reverse(
            id=new_id(), reverses_id=world.single, actor="a", reason="r", amount_minor=1
        )
    assert caught.value.code == "already_reversed"
    assert (await ledger.balance(account_id=world.bob)).balance_minor == 0


async def test_idempotency_comes_before_account_state(world: World) -> None:
    transfer_id = new_id()
    await move(world, id=transfer_id, credit_account_id=world.issuance)()
    await world.ledger.close_account(account_id=world.closed)  # already closed: no-op
    with pytest.raises(LedgerError) as caught:
        await move(world, id=transfer_id, credit_account_id=world.closed)()
    assert caught.value.code == "exists_with_different_credit_account_id"
    assert caught.value.data["field"] == "credit_account_id"


async def test_failed_chain_writes_nothing_and_binds_every_id(world: World) -> None:
    good = NewTransfer(
        id=new_id(),
        debit_account_id=world.issuance,
        credit_account_id=world.alice,
        amount_minor=10,
        unit=Unit.HOUR,
        code="grant",
        actor="a",
    )
    bad = NewTransfer(
        id=new_id(),
        debit_account_id=world.alice,
        credit_account_id=world.bob,
        amount_minor=10_000,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    before = await world.ledger.balance(account_id=world.alice)
    with pytest.raises(LedgerError) as caught:
        await world.ledger.chain(operations=[good, bad])
    assert caught.value.code == "exceeds_floor"
    assert await world.ledger.balance(account_id=world.alice) == before
    # Re-sending the same chain answers with the first attempt's outcome, even
    # after the debit account could now afford it.
    await world.ledger.transfer(
        id=new_id(),
        debit_account_id=world.issuance,
        credit_account_id=world.alice,
        amount_minor=10_000,
        unit=Unit.HOUR,
        code="grant",
        actor="a",
    )
    with pytest.raises(LedgerError) as again:
        await world.ledger.chain(operations=[good, bad])
    assert again.value.code == "chain_failed"  # good's id is bound to the chain's failure
    assert again.value.data["failed_transfer_id"] == str(bad.id)
    results = await world.ledger.batch(items=[good])
    assert results[0].error is not None
    assert results[0].error.code == "exists_with_different_chain_id"


async def test_batch_isolates_items(world: World) -> None:
    ok_item = NewTransfer(
        id=new_id(),
        debit_account_id=world.issuance,
        credit_account_id=world.alice,
        amount_minor=10,
        unit=Unit.HOUR,
        code="grant",
        actor="a",
    )
    refused = NewTransfer(
        id=new_id(),
        debit_account_id=world.alice,
        credit_account_id=world.bob,
        amount_minor=10_000,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    malformed = NewTransfer(
        id=new_id(),
        debit_account_id=world.alice,
        credit_account_id=world.alice,
        amount_minor=1,
        unit=Unit.HOUR,
        code="exchange",
        actor="a",
    )
    chain = Chain(
        (
            NewTransfer(
                id=new_id(),
                debit_account_id=world.issuance,
                credit_account_id=world.bob,
                amount_minor=5,
                unit=Unit.HOUR,
                code="grant",
                actor="a",
            ),
        )
    )
    results = await world.ledger.batch(items=[ok_item, refused, malformed, chain])
    assert [r.error.code if r.error else None for r in results] == [
        None,
        "exceeds_floor",
        "same_account",
        None,
    ]
    assert results[0].transfers[0].id == ok_item.id
    assert results[3].transfers[0].chain_id is not None
    assert (await world.ledger.verify()).ok

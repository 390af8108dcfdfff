"""Refunds that arrive before their payment: kept, then applied once when the payment comes."""

from __future__ import annotations

import asyncio

from service.donations.tables import (
    DonationRefund,
    StripeEvent,
    StripeEventPayload,
    StripeEventReplay,
)
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, Money, deliver, money_of, paid_gift
from tests.donations.fake_stripe import FakeStripe


def refunded(pi: str, total: int, *, amount: int = 2500) -> dict[str, object]:
    return ev.charge_event(
        "charge.refunded", "ch_early", payment_intent=pi, amount=amount, amount_refunded=total
    )


async def test_a_refund_before_its_payment_is_applied_once_the_payment_arrives(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, payment = await paid_gift(gifts, fake_stripe, amount=2500, fee=58, pi="pi_early")
    refund = refunded(pi, 1000)

    waiting = await deliver(gifts.client, refund)

    assert waiting == {"received": True, "duplicate": False, "outcome": "waiting"}
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    assert await StripeEventPayload.count() == 1
    # Stripe retries or the dashboard resends: still nothing moves, and nothing is lost.
    assert (await deliver(gifts.client, refund))["duplicate"] is True

    paid = await deliver(gifts.client, payment)

    assert paid["outcome"] == "donation"
    # The gift (2500, fee 58), less the refund of 1000 that waited for it.
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 58 + 1000, 1500, -58)
    (row,) = await DonationRefund.objects()
    assert (row.amount_pence, row.refunded_total_pence) == (1000, 1000)
    (replay,) = await StripeEventReplay.objects()
    assert (replay.event_id, replay.outcome, replay.actor) == (
        refund["id"],
        "refund",
        "system:stripe",
    )
    assert await StripeEventPayload.count() == 0  # resolved: the kept object is gone
    payment_row = await StripeEvent.objects().where(StripeEvent.id == payment["id"]).first()
    assert payment_row is not None
    assert "1 event(s) that waited" in payment_row.detail

    # Nothing applies it a second time: repeats of either event, or the same total again.
    assert (await deliver(gifts.client, payment))["duplicate"] is True
    assert (await deliver(gifts.client, refund))["duplicate"] is True
    assert (await deliver(gifts.client, refunded(pi, 1000)))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 58 + 1000, 1500, -58)
    assert await DonationRefund.count() == 1


async def test_several_early_refunds_are_applied_in_stripes_order(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, payment = await paid_gift(gifts, fake_stripe, amount=2000, fee=None, pi="pi_two")
    later, earlier = refunded(pi, 1200, amount=2000), refunded(pi, 500, amount=2000)
    earlier["created"] = int(later["created"]) - 60  # type: ignore[call-overload]
    for refund in (later, earlier):
        assert (await deliver(gifts.client, refund))["outcome"] == "waiting"

    await deliver(gifts.client, payment)

    assert await money_of(gifts.app, "riverside") == Money(-800, 800, 0)
    amounts = sorted(row.amount_pence for row in await DonationRefund.objects())
    assert amounts == [500, 700]
    outcomes = {r.event_id: r.outcome for r in await StripeEventReplay.objects()}
    assert outcomes == {earlier["id"]: "refund", later["id"]: "refund"}


RACING_GIFTS = 8


async def test_refunds_racing_their_payments_are_applied_exactly_once(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    """Each refund either sees its payment, or is seen waiting by it (never neither)."""
    deliveries = []
    for number in range(RACING_GIFTS):
        pi, payment = await paid_gift(gifts, fake_stripe, amount=2500, fee=None, pi=f"pi_r{number}")
        deliveries += [refunded(pi, 2500), payment]

    answers = await asyncio.gather(*(deliver(gifts.client, body) for body in deliveries))

    outcomes = [a["outcome"] for a in answers]
    assert outcomes.count("donation") == RACING_GIFTS, outcomes
    # However each race went, every gift is in and its refund is out, once each.
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    assert await DonationRefund.count() == RACING_GIFTS
    assert await StripeEventPayload.count() == 0

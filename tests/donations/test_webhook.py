"""POST /api/v1/webhooks/stripe: signatures, exactly-once recording, and the GBP postings."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.donations.tables import DonationCheckout, DonationPayment, DonationRefund, StripeEvent
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, Money, deliver, money_of, open_checkout, paid_gift
from tests.donations.fake_stripe import FakeStripe

WEBHOOK = "/api/v1/webhooks/stripe"


async def test_a_paid_session_posts_the_gift_and_stripes_fee(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    _, event = await paid_gift(gifts, fake_stripe, amount=2500, fee=58)

    answer = await deliver(gifts.client, event)

    assert answer == {"received": True, "duplicate": False, "outcome": "donation"}
    # Clearing -> donations (the gross), fees -> clearing (the fee).
    assert await money_of(gifts.app, "riverside") == Money(
        clearing=-2500 + 58, donations=2500, fees=-58
    )
    payment = await DonationPayment.objects().first()
    assert payment is not None
    assert (payment.amount_pence, payment.fee_pence, payment.payment_intent_id) == (
        2500,
        58,
        "pi_1",
    )
    recorded = await StripeEvent.objects().first()
    assert recorded is not None
    assert (recorded.id, recorded.outcome, recorded.amount_pence) == (event["id"], "donation", 2500)
    # Other communities' money did not move.
    assert await money_of(gifts.app, "hillside") == Money(0, 0, 0)


async def test_the_fee_waits_until_stripe_tells_it(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    _, event = await paid_gift(gifts, fake_stripe, fee=None, pi="pi_later")
    await deliver(gifts.client, event)
    assert await money_of(gifts.app, "riverside") == Money(-2500, 2500, 0)

    # Stripe sends charge.updated once the balance transaction exists.
    fake_stripe.add_balance_transaction("txn_later", 61)
    charge = ev.charge_event(
        "charge.updated",
        "ch_later",
        payment_intent="pi_later",
        amount=2500,
        balance_transaction="txn_later",
    )
    answer = await deliver(gifts.client, charge)

    assert answer["outcome"] == "fee"
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 61, 2500, -61)
    again = ev.charge_event(
        "charge.updated",
        "ch_later",
        payment_intent="pi_later",
        amount=2500,
        balance_transaction="txn_later",
    )
    assert (await deliver(gifts.client, again))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 61, 2500, -61)


async def test_the_same_event_twice_moves_money_once(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    _, event = await paid_gift(gifts, fake_stripe)

    first = await deliver(gifts.client, event)
    second = await deliver(gifts.client, event)

    assert first["duplicate"] is False
    assert second == {"received": True, "duplicate": True, "outcome": "duplicate"}
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 58, 2500, -58)
    assert await StripeEvent.count() == 1
    assert await DonationPayment.count() == 1


async def test_concurrent_deliveries_move_money_once(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    _, event = await paid_gift(gifts, fake_stripe)
    # The same event five times at once, and a second event about the same session
    # (Stripe may send both completed and async_payment_succeeded).
    twin = ev.session_completed(
        dict(event["data"]["object"]),  # type: ignore[call-overload]
        payment_intent="pi_1",
        event_type="checkout.session.async_payment_succeeded",
    )
    deliveries = [event] * 5 + [twin] * 3

    answers = await asyncio.gather(*(deliver(gifts.client, payload) for payload in deliveries))

    assert sorted(a["duplicate"] for a in answers) == [False, False] + [True] * 6
    details = [(e.type, e.outcome, e.detail) for e in await StripeEvent.objects()]
    outcomes = sorted(a["outcome"] for a in answers if not a["duplicate"])
    assert outcomes == ["donation", "no_change"], details
    assert await money_of(gifts.app, "riverside") == Money(-2500 + 58, 2500, -58)
    assert await DonationPayment.count() == 1
    assert await StripeEvent.count() == 2


@pytest.mark.parametrize(
    "spoil",
    [
        "wrong secret",
        "body changed after signing",
        "no signature header",
        "garbled header",
        "stale timestamp",
    ],
)
async def test_unsigned_or_stale_events_are_refused(
    gifts: Gifts, fake_stripe: FakeStripe, spoil: str
) -> None:
    _, event = await paid_gift(gifts, fake_stripe)
    body, headers = ev.signed(event)
    if spoil == "wrong secret":
        body, headers = ev.signed(event, secret="whsec_someone_else")
    elif spoil == "body changed after signing":
        body = body.replace(b"2500", b"9500")
    elif spoil == "no signature header":
        del headers["Stripe-Signature"]
    elif spoil == "garbled header":
        headers["Stripe-Signature"] = "t=abc,v1="
    else:  # Stripe's tolerance is 300 seconds
        body, headers = ev.signed(event, timestamp=int(time.time()) - 301)

    response = await gifts.client.post(WEBHOOK, content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"
    assert await StripeEvent.count() == 0
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)


async def test_a_recent_timestamp_inside_the_tolerance_is_accepted(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    _, event = await paid_gift(gifts, fake_stripe)
    answer = await deliver(gifts.client, event, timestamp=int(time.time()) - 290)
    assert answer["outcome"] == "donation"


async def test_a_signed_body_that_is_not_an_event_is_a_bad_request(gifts: Gifts) -> None:
    body, headers = ev.signed({"hello": "world"})
    response = await gifts.client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_an_unknown_session_is_recorded_for_an_admin_and_moves_nothing(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    stranger = {
        "id": "cs_test_not_ours",
        "object": "checkout.session",
        "mode": "payment",
        "currency": "gbp",
        "amount_total": 5000,
        "client_reference_id": None,
        "metadata": {},
    }
    event = ev.session_completed(stranger, payment_intent="pi_stranger")

    answer = await deliver(gifts.client, event)

    assert answer["outcome"] == "unmatched"
    recorded = await StripeEvent.objects().first()
    assert recorded is not None
    assert (recorded.object_id, recorded.outcome) == ("cs_test_not_ours", "unmatched")
    assert await DonationPayment.count() == 0
    for slug in ("riverside", "oakfield", "hillside"):
        assert await money_of(gifts.app, slug) == Money(0, 0, 0)


async def test_a_session_naming_our_checkout_but_another_session_id_is_unmatched(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(gifts.client)
    forged = {**fake_stripe.sessions[session_id], "id": "cs_test_other"}
    answer = await deliver(gifts.client, ev.session_completed(forged, payment_intent="pi_x"))
    assert answer["outcome"] == "unmatched"
    assert await DonationPayment.count() == 0


async def test_a_session_awaiting_a_slow_payment_posts_when_it_succeeds(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(gifts.client, amount_pence=1200)
    session = fake_stripe.sessions[session_id]
    fake_stripe.add_payment("pi_bacs", fee_pence=None)

    waiting = await deliver(
        gifts.client, ev.session_completed(session, payment_intent="pi_bacs", paid=False)
    )
    assert waiting["outcome"] == "awaiting_payment"
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)

    succeeded = ev.session_completed(
        session, payment_intent="pi_bacs", event_type="checkout.session.async_payment_succeeded"
    )
    assert (await deliver(gifts.client, succeeded))["outcome"] == "donation"
    assert await money_of(gifts.app, "riverside") == Money(-1200, 1200, 0)


async def test_a_full_refund_reverses_the_gift(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    pi, event = await paid_gift(gifts, fake_stripe, amount=2500, fee=58)
    await deliver(gifts.client, event)

    refund = ev.charge_event(
        "charge.refunded", "ch_1", payment_intent=pi, amount=2500, amount_refunded=2500
    )
    answer = await deliver(gifts.client, refund)

    assert answer["outcome"] == "refund"
    # The gift is reversed; Stripe keeps its fee.
    assert await money_of(gifts.app, "riverside") == Money(58, 0, -58)
    (row,) = await DonationRefund.objects()
    assert (row.amount_pence, row.refunded_total_pence) == (2500, 2500)
    # A second, later refund event cannot give back more than was given.
    again = ev.charge_event(
        "charge.refunded", "ch_1", payment_intent=pi, amount=2500, amount_refunded=2500
    )
    assert (await deliver(gifts.client, again))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == Money(58, 0, -58)


async def test_partial_refunds_post_only_what_is_new_in_any_order(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, event = await paid_gift(gifts, fake_stripe, amount=2000, fee=None)
    await deliver(gifts.client, event)

    def refunded(total: int) -> dict[str, object]:
        return ev.charge_event(
            "charge.refunded", "ch_p", payment_intent=pi, amount=2000, amount_refunded=total
        )

    first, third, second = refunded(300), refunded(1000), refunded(500)
    assert (await deliver(gifts.client, first))["outcome"] == "refund"
    assert await money_of(gifts.app, "riverside") == Money(-1700, 1700, 0)
    # Stripe's running total jumps to 1000 before the event for 500 arrives.
    assert (await deliver(gifts.client, third))["outcome"] == "refund"
    assert (await deliver(gifts.client, second))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == Money(-1000, 1000, 0)
    amounts = sorted(row.amount_pence for row in await DonationRefund.objects())
    assert amounts == [300, 700]


async def test_a_refund_total_above_the_gift_is_capped_at_the_gift(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, event = await paid_gift(gifts, fake_stripe, amount=1500, fee=None)
    await deliver(gifts.client, event)
    too_much = ev.charge_event(
        "charge.refunded", "ch_c", payment_intent=pi, amount=1500, amount_refunded=9999
    )

    assert (await deliver(gifts.client, too_much))["outcome"] == "refund"

    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    payment = await DonationPayment.objects().first()
    assert payment is not None
    assert payment.refunded_pence == 1500


async def test_concurrent_refund_events_never_exceed_the_gift(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, event = await paid_gift(gifts, fake_stripe, amount=2000, fee=None)
    await deliver(gifts.client, event)
    totals = [400, 800, 1200, 2000, 2000, 800]
    refunds = [
        ev.charge_event(
            "charge.refunded", "ch_r", payment_intent=pi, amount=2000, amount_refunded=total
        )
        for total in totals
    ]

    await asyncio.gather(*(deliver(gifts.client, refund) for refund in refunds))

    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    assert sum(row.amount_pence for row in await DonationRefund.objects()) == 2000


async def test_a_refund_for_an_unknown_charge_waits_for_its_payment(gifts: Gifts) -> None:
    refund = ev.charge_event(
        "charge.refunded", "ch_u", payment_intent="pi_unknown", amount=100, amount_refunded=100
    )
    assert (await deliver(gifts.client, refund))["outcome"] == "waiting"
    assert await DonationRefund.count() == 0
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)


async def test_a_monthly_gift_posts_every_paid_invoice(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(
        gifts.client, amount_pence=1000, recurring=True, community="hillside"
    )
    session = fake_stripe.sessions[session_id]
    checkout = await DonationCheckout.objects().first()
    assert checkout is not None
    fake_stripe.add_payment("pi_m1", fee_pence=35)

    # The first invoice may arrive before the session's own event: matched by metadata.
    first = ev.invoice_paid(
        "in_1",
        subscription="sub_1",
        amount_paid=1000,
        checkout_id=str(checkout.id),
        payment_intent="pi_m1",
    )
    assert (await deliver(gifts.client, first))["outcome"] == "donation"
    linked = await deliver(gifts.client, ev.session_completed(session, subscription="sub_1"))
    assert linked["outcome"] == "linked"
    second = ev.invoice_paid("in_2", subscription="sub_1", amount_paid=1000, payment_intent="pi_m2")
    assert (await deliver(gifts.client, second))["outcome"] == "donation"

    assert await money_of(gifts.app, "hillside") == Money(-2000 + 35, 2000, -35)
    assert await DonationPayment.count() == 2
    refreshed = await DonationCheckout.objects().first()
    assert refreshed is not None
    assert refreshed.subscription_id == "sub_1"

    ended = await deliver(gifts.client, ev.subscription_deleted("sub_1"))
    assert ended["outcome"] == "subscription_ended"


async def test_an_invoice_for_an_unknown_subscription_is_unmatched(gifts: Gifts) -> None:
    stranger = ev.invoice_paid("in_x", subscription="sub_unknown", amount_paid=500)
    assert (await deliver(gifts.client, stranger))["outcome"] == "unmatched"
    assert await DonationPayment.count() == 0


async def test_events_of_other_kinds_are_recorded_and_ignored(gifts: Gifts) -> None:
    other = ev.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert (await deliver(gifts.client, other))["outcome"] == "ignored"
    assert await StripeEvent.count() == 1


async def test_a_session_in_another_currency_is_unmatched(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(gifts.client)
    euros = {**fake_stripe.sessions[session_id], "currency": "eur"}
    answer = await deliver(gifts.client, ev.session_completed(euros, payment_intent="pi_eur"))
    assert answer["outcome"] == "unmatched"
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)


async def test_the_json_body_guard_leaves_the_signed_raw_body_alone(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    _, event = await paid_gift(gifts, fake_stripe)
    body, headers = ev.signed(event)
    # The signature covers the exact bytes; the app-wide JSON guard must not answer 415.
    response = await gifts.client.post(
        WEBHOOK, content=body, headers={**headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "donation"

"""Matching Stripe's objects to ours: the checkout a session or an invoice pays, and
the payment a charge, a payment intent or a Stripe object id belongs to.

Reads only; a Stripe id we never gave out matches nothing (None), never an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from service.donations import stripe_objects as so
from service.donations.tables import DonationCheckout, DonationPayment


def our_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def checkout_of_session(session: Mapping[str, Any]) -> DonationCheckout | None:
    """Our checkout, by the id we gave Stripe, and only if this is the session it opened."""
    session_id = so.text(session, "id")
    checkout_id = our_id(so.text(session, "client_reference_id"))
    if session_id is None or checkout_id is None:
        return None
    checkout = (
        await DonationCheckout.objects().where(DonationCheckout.id == checkout_id).first().run()
    )
    if checkout is None or checkout.stripe_session_id != session_id:
        return None
    return checkout


async def checkout_of_invoice(
    invoice: Mapping[str, Any], subscription_id: str | None
) -> DonationCheckout | None:
    if subscription_id is not None:
        linked = (
            await DonationCheckout.objects()
            .where(DonationCheckout.subscription_id == subscription_id)
            .first()
            .run()
        )
        if linked is not None:
            return linked
    # The first invoice may arrive before the session's event: the subscription
    # carries our checkout id in its metadata (gateway.checkout_params).
    checkout_id = our_id(
        so.text(invoice, "parent", "subscription_details", "metadata", "checkout_id")
        or so.text(invoice, "subscription_details", "metadata", "checkout_id")
    )
    if checkout_id is None:
        return None
    checkout = (
        await DonationCheckout.objects()
        .where((DonationCheckout.id == checkout_id) & (DonationCheckout.recurring == True))  # noqa: E712
        .first()
        .run()
    )
    if checkout is None or checkout.subscription_id not in (None, subscription_id):
        return None
    return checkout


def payment_intent_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    found = so.ref(invoice, "payment_intent")  # API versions before 2025-03-31
    if found is not None:
        return found
    for item in so.items(invoice, "payments"):
        found = so.ref(item, "payment", "payment_intent")
        if found is not None:
            return found
    return None


def payment_intent_of_charge(charge: Mapping[str, Any]) -> str | None:
    return so.ref(charge, "payment_intent")


async def payment_of_charge(charge: Mapping[str, Any]) -> DonationPayment | None:
    payment_intent_id = payment_intent_of_charge(charge)
    if payment_intent_id is not None:
        payment = await payment_by(payment_intent_id=payment_intent_id)
        if payment is not None:
            return payment
    invoice_id = so.ref(charge, "invoice")  # API versions before 2025-03-31
    if invoice_id is None:
        return None
    return (
        await DonationPayment.objects()
        .where(DonationPayment.stripe_object_id == invoice_id)
        .first()
        .run()
    )


async def payment_of_object_or_intent(
    stripe_object_id: str, payment_intent_id: str | None
) -> DonationPayment | None:
    """The payment of this session or invoice, else one already paid by this payment intent."""
    same_object = DonationPayment.stripe_object_id == stripe_object_id
    query = DonationPayment.objects()
    if payment_intent_id is None:
        query = query.where(same_object)
    else:
        query = query.where(same_object | (DonationPayment.payment_intent_id == payment_intent_id))
    found = await query.run()
    same = [payment for payment in found if payment.stripe_object_id == stripe_object_id]
    candidates = same or found
    return candidates[0] if candidates else None


async def payment_by(
    *, payment_id: uuid.UUID | None = None, payment_intent_id: str | None = None
) -> DonationPayment | None:
    query = DonationPayment.objects()
    if payment_id is not None:
        query = query.where(DonationPayment.id == payment_id)
    else:
        query = query.where(DonationPayment.payment_intent_id == payment_intent_id)
    return await query.first().run()

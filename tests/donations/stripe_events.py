"""Stripe webhook events as Stripe sends them (API 2026 shapes), signed the way Stripe signs.

Signing: header `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
made here with the SDK's own `WebhookSignature.generate_signature_header`.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import stripe

WEBHOOK_SECRET = "whsec_timebank_fake_secret_0123456789"
_numbers = itertools.count(1)


def event(
    event_type: str, data_object: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_fake_{next(_numbers)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": data_object},
    }


def signed(
    payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery (a body is signed exactly as sent)."""
    body = json.dumps(payload, separators=(",", ":"))
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return body.encode(), {
        "Stripe-Signature": header,
        "Content-Type": "application/json; charset=utf-8",
    }


def session_completed(
    session: dict[str, Any],
    *,
    payment_intent: str | None = None,
    subscription: str | None = None,
    paid: bool = True,
    amount_total: int | None = None,
    event_type: str = "checkout.session.completed",
) -> dict[str, Any]:
    """The event for a session the fake Stripe opened (as its `sessions` holds it)."""
    completed = {
        **session,
        "status": "complete",
        "payment_status": "paid" if paid else "unpaid",
        "payment_intent": payment_intent,
        "subscription": subscription,
        "invoice": None,
        "customer_details": {"email": "donor@example.org", "name": "A Donor"},
    }
    if amount_total is not None:
        completed["amount_total"] = amount_total
    return event(event_type, completed)


def invoice_paid(
    invoice_id: str,
    *,
    subscription: str,
    amount_paid: int,
    checkout_id: str | None = None,
    payment_intent: str | None = None,
) -> dict[str, Any]:
    return event(
        "invoice.paid",
        {
            "id": invoice_id,
            "object": "invoice",
            "currency": "gbp",
            "amount_paid": amount_paid,
            "status": "paid",
            "billing_reason": "subscription_cycle",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription,
                    "metadata": {"checkout_id": checkout_id} if checkout_id else {},
                },
            },
            "payments": {
                "object": "list",
                "data": [
                    {
                        "object": "invoice_payment",
                        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                    }
                ]
                if payment_intent
                else [],
            },
        },
    )


def charge_event(
    event_type: str,
    charge_id: str,
    *,
    payment_intent: str,
    amount: int,
    amount_refunded: int = 0,
    balance_transaction: str | dict[str, Any] | None = None,
    currency: str = "gbp",
) -> dict[str, Any]:
    return event(
        event_type,
        {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= amount,
            "currency": currency,
            "payment_intent": payment_intent,
            "balance_transaction": balance_transaction,
        },
    )


def subscription_deleted(subscription_id: str) -> dict[str, Any]:
    return event(
        "customer.subscription.deleted",
        {"id": subscription_id, "object": "subscription", "status": "canceled"},
    )


def dispute_event(
    event_type: str,
    dispute_id: str,
    *,
    payment_intent: str,
    amount: int,
    status: str = "needs_response",
    charge: str = "ch_disputed",
    currency: str = "gbp",
) -> dict[str, Any]:
    """A `charge.dispute.*` event: Stripe's Dispute object (API 2026 shape)."""
    return event(
        event_type,
        {
            "id": dispute_id,
            "object": "dispute",
            "amount": amount,
            "balance_transactions": [],
            "charge": charge,
            "created": int(time.time()),
            "currency": currency,
            "evidence": {},
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": payment_intent,
            "reason": "fraudulent",
            "status": status,
        },
    )

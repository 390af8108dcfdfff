"""Gifts of money for the reports tests, posted through the donations service.

The checkout row stands for what `checkout_open` writes once Stripe has opened a
session (there is no Stripe here); the payment and any refund go through
`event_handle` with the events Stripe sends, so the ledger and the donation
tables are written exactly as in production.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from service.donations.events import StripeEventIn
from service.donations.processing import event_handle
from service.donations.tables import DonationCheckout
from service.members.tables import Community
from tests.donations import stripe_events
from tests.members.conftest import Town

T = TypeVar("T")


def in_app_loop(town: Town, make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Run a service call on the loop that serves the app (where its connection pool lives)."""

    async def run() -> T:
        return await make()

    return asyncio.to_thread(town.client.blocking_portal.call, run)


async def _deliver(town: Town, payload: dict[str, Any], when: datetime) -> str:
    state = town.client.app.state
    handled = await event_handle(
        engine=state.engine,
        ledger=state.ledger,
        gateway=None,
        event=StripeEventIn(
            id=payload["id"],
            type=payload["type"],
            object=payload["data"]["object"],
            created_at=when,
        ),
    )
    return handled.outcome


async def give(
    town: Town,
    *,
    community: str,
    amount_pence: int,
    when: datetime,
    member_id: uuid.UUID | None = None,
) -> str:
    """One paid one-off gift (signed in as `member_id`, or anonymous); its payment intent id."""

    async def run() -> str:
        found = await Community.objects().where(Community.slug == community).first().run()
        assert found is not None
        checkout_id = uuid.uuid4()
        session_id = f"cs_test_{checkout_id.hex}"
        await DonationCheckout.insert(
            DonationCheckout(
                id=checkout_id,
                community=found.id,
                member=member_id,
                amount_pence=amount_pence,
                recurring=False,
                gift_aid=False,
                stripe_session_id=session_id,
                checkout_url=f"https://checkout.stripe.test/{session_id}",
                created_at=when,
            )
        ).run()
        payment_intent = f"pi_test_{checkout_id.hex}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "client_reference_id": str(checkout_id),
            "currency": "gbp",
            "amount_total": amount_pence,
        }
        payload = stripe_events.session_completed(session, payment_intent=payment_intent)
        assert await _deliver(town, payload, when) == "donation"
        return payment_intent

    return await in_app_loop(town, run)


async def refund(
    town: Town, payment_intent: str, *, amount_pence: int, refunded_pence: int, when: datetime
) -> None:
    """Stripe's charge.refunded: `refunded_pence` is the running total refunded of the gift."""
    payload = stripe_events.charge_event(
        "charge.refunded",
        f"ch_{payment_intent}",
        payment_intent=payment_intent,
        amount=amount_pence,
        amount_refunded=refunded_pence,
    )

    async def run() -> str:
        return await _deliver(town, payload, when)

    assert await in_app_loop(town, run) == "refund"


async def dispute(
    town: Town,
    payment_intent: str,
    *,
    event_type: str,
    status: str,
    amount_pence: int,
    when: datetime,
) -> str:
    """Stripe's charge.dispute.* for the gift paid by `payment_intent`; the outcome."""
    payload = stripe_events.dispute_event(
        event_type,
        f"du_{payment_intent}",
        payment_intent=payment_intent,
        amount=amount_pence,
        status=status,
    )

    async def run() -> str:
        return await _deliver(town, payload, when)

    return await in_app_loop(town, run)

"""The donations JSON API: open a checkout, and Stripe's signed webhook.

The webhook reads the raw body itself (no `data` parameter): Stripe signs the
exact bytes it sent, so nothing may decode or re-encode them before the check.
It needs no CSRF token (Stripe cannot hold our cookie; the signature is the
credential) and is excluded from the app's JSON-body check.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.params import JSONBody, PathParameter

from service.donations import checkout as checkout_service
from service.donations import events, processing
from service.donations.deps import GATEWAY_DEPENDENCIES, GatewayDep, settings_of
from service.donations.schemas import CheckoutIn, CheckoutOut, ReprocessOut, WebhookOut
from service.http.access import Access, access
from service.http.client import client_address
from service.http.deps import CurrentMember, EngineDep, LedgerDep, LimiterDep, MaybePrincipal
from service.http.idempotency import idempotency_middleware, key_from_scope
from service.http.json_bodies import RAW_BODY_OPT_KEY
from service.http.ratelimit import enforce
from service.limits import DONATION_CHECKOUTS_PER_ADDRESS, STRIPE_ID_CHARS_MAX

SIGNATURE_HEADER = "stripe-signature"
# The app's JSON-body guard must leave the webhook's body alone (see module doc).
RAW_BODY_OPT = {RAW_BODY_OPT_KEY: True}


class DonationController(Controller):
    opt = access(Access.PUBLIC)
    path = "/api/v1/donations"
    tags = ("donations",)
    dependencies = GATEWAY_DEPENDENCIES

    @post("/checkout", status_code=200, middleware=[idempotency_middleware])
    async def checkout(
        self,
        *,
        request: Request[Any, Any, Any],
        principal: MaybePrincipal,
        engine: EngineDep,
        limiter: LimiterDep,
        gateway: GatewayDep,
        data: JSONBody[CheckoutIn],
    ) -> CheckoutOut:
        """Open a Stripe Checkout Session for a gift; send the donor to `checkout_url`."""
        settings = settings_of(request)
        if gateway is None:
            raise checkout_service.not_configured()
        key = f"donation-checkout:address:{client_address(request)}"
        await enforce(limiter, key, DONATION_CHECKOUTS_PER_ADDRESS)
        opened = await checkout_service.checkout_open(
            engine=engine,
            gateway=gateway,
            config=settings.stripe,
            public_base_url=settings.public_base_url,
            principal=principal,
            data=data,
            idempotency_key=key_from_scope(request.scope),
        )
        return CheckoutOut(checkout_url=opened.checkout_url)


class StripeWebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ("donations",)
    dependencies = GATEWAY_DEPENDENCIES
    # Signed by Stripe, not by a member: the handler checks the signature itself.
    opt = {**RAW_BODY_OPT, **access(Access.PUBLIC)}  # noqa: RUF012 - Litestar reads it

    @post("/stripe", status_code=200, opt=RAW_BODY_OPT)
    async def stripe_event(
        self,
        request: Request[Any, Any, Any],
        engine: EngineDep,
        ledger: LedgerDep,
        gateway: GatewayDep,
    ) -> WebhookOut:
        """Stripe's events, signed: recorded once each, and posted to the ledger in GBP."""
        settings = settings_of(request)
        if gateway is None:
            raise checkout_service.not_configured()
        payload = await request.body()
        event = events.verified_event(
            payload, request.headers.get(SIGNATURE_HEADER), settings.stripe.webhook_secret
        )
        handled = await processing.event_handle(
            engine=engine, ledger=ledger, gateway=gateway, event=event
        )
        return WebhookOut(received=True, duplicate=handled.duplicate, outcome=handled.outcome)


StripeEventId = Annotated[str, PathParameter(min_length=1, max_length=STRIPE_ID_CHARS_MAX)]


class AdminDonationController(Controller):
    opt = access(Access.ADMIN)
    path = "/api/v1/admin/donations"
    tags = ("admin", "donations")
    dependencies = GATEWAY_DEPENDENCIES

    @post("/events/{event_id:str}/reprocess", status_code=200)
    async def reprocess(
        self,
        *,
        member: CurrentMember,
        event_id: StripeEventId,
        engine: EngineDep,
        ledger: LedgerDep,
        gateway: GatewayDep,
    ) -> ReprocessOut:
        """Replay a Stripe event that matched nothing or waits for its payment (admins only).

        409 `event_already_resolved` if it was applied already; 409 `event_not_kept`
        for events recorded before they were kept for replay.
        """
        done = await processing.event_reprocess(
            engine=engine, ledger=ledger, gateway=gateway, actor=member, event_id=event_id
        )
        return ReprocessOut(
            event_id=done.event_id, outcome=done.outcome, detail=done.detail, resolved=done.resolved
        )


ROUTERS = [DonationController, StripeWebhookController, AdminDonationController]

"""Opening a Stripe Checkout Session for a gift, and remembering it.

Stripe is asked first, with an idempotency key derived from our checkout id;
the checkout row (and its Gift Aid declaration) is written only once Stripe has
answered, so a refused or unreachable Stripe leaves nothing half-written here.
A member who repeats a request with the same Idempotency-Key derives the same
checkout id: Stripe answers with the same session and the row is written once.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service.donations.gateway import CheckoutRequest, StripeGateway, StripeUnavailableError
from service.donations.schemas import CheckoutIn, GiftAidIn
from service.donations.tables import DonationCheckout, GiftAidDeclaration
from service.errors import DomainError, ProviderFailed, Unavailable, invalid_field
from service.http.idempotency import derived_id
from service.i18n import _
from service.members.tables import Community
from service.principal import Principal
from service.settings import StripeSettings

CHECKOUT_PURPOSE = "donation_checkout"
_SPACES = re.compile(r"\s+")


def not_configured() -> DomainError:
    return Unavailable(
        code="donations_not_configured",
        detail=_("Donations are not set up on this site yet."),
    )


def normal_postcode(postcode: str) -> str:
    """ "sw1a1aa" -> "SW1A 1AA": the inward code is always the last three characters."""
    compact = _SPACES.sub("", postcode).upper()
    return f"{compact[:-3]} {compact[-3:]}"


def _checkout_id(principal: Principal | None, idempotency_key: str | None) -> uuid.UUID:
    # Only a member's key is scoped (api.md): an anonymous key could collide with a stranger's.
    if principal is None:
        return uuid.uuid4()
    return derived_id(caller_id=principal.member_id, key=idempotency_key, purpose=CHECKOUT_PURPOSE)


async def checkout_open(
    *,
    engine: Engine[Any],
    gateway: StripeGateway | None,
    config: StripeSettings,
    public_base_url: str,
    principal: Principal | None,
    data: CheckoutIn,
    idempotency_key: str | None = None,
) -> DonationCheckout:
    """Ask Stripe for a Checkout Session for this gift; the donor is sent to its address."""
    if gateway is None or not config.enabled:
        raise not_configured()
    community = await Community.objects().where(Community.slug == data.community).first().run()
    if community is None:
        raise invalid_field("community", _("there is no time bank with that name"))
    checkout_id = _checkout_id(principal, idempotency_key)
    existing = await _checkout_by_id(checkout_id)
    if existing is not None:
        return existing
    try:
        opened = await gateway.open_checkout(
            CheckoutRequest(
                checkout_id=checkout_id,
                community_id=community.id,
                community_name=community.name,
                amount_pence=data.amount_pence,
                recurring=data.recurring,
                success_url=config.success_url_for(public_base_url),
                cancel_url=config.cancel_url_for(public_base_url),
            )
        )
    except StripeUnavailableError:
        raise ProviderFailed(
            code="payment_provider_unavailable",
            detail=_(
                "Our payment provider could not be reached. Nothing was taken; "
                "please try again in a few minutes."
            ),
        ) from None
    checkout = DonationCheckout(
        id=checkout_id,
        community=community.id,
        member=principal.member_id if principal else None,
        amount_pence=data.amount_pence,
        recurring=data.recurring,
        gift_aid=data.gift_aid is not None,
        stripe_session_id=opened.session_id,
        checkout_url=opened.url,
        created_at=datetime.now(UTC),
    )
    await _remember(engine, checkout, data.gift_aid)
    found = await _checkout_by_id(checkout_id)
    if found is None:  # pragma: no cover - written just above
        raise RuntimeError("checkout row vanished")
    return found


async def _remember(
    engine: Engine[Any], checkout: DonationCheckout, gift_aid: GiftAidIn | None
) -> None:
    async def write(_transaction: WriteTransaction) -> None:
        # A concurrent twin (same member, same key) may have written it first.
        if await DonationCheckout.exists().where(DonationCheckout.id == checkout.id).run():
            return
        await DonationCheckout.insert(checkout).run()
        if gift_aid is not None:
            await GiftAidDeclaration.insert(
                GiftAidDeclaration(
                    checkout=checkout.id,
                    full_name=gift_aid.full_name.strip(),
                    home_address=gift_aid.home_address.strip(),
                    postcode=normal_postcode(gift_aid.postcode),
                    declared_at=checkout.created_at,
                )
            ).run()

    await run_write(engine, write)


async def _checkout_by_id(checkout_id: uuid.UUID) -> DonationCheckout | None:
    return await DonationCheckout.objects().where(DonationCheckout.id == checkout_id).first().run()

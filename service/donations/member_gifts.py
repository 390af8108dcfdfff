"""A member's own gifts of money, for their data export (selectors only).

A checkout names the member who gave when they were signed in
(`DonationCheckout.member`); gifts given without signing in name nobody and
are nobody's to export. A Gift Aid declaration (name and home address) belongs
to its checkout, so it comes with it; the Stripe references and the session's
payment link stay out (they identify Stripe's objects, not the person, and the
link opens a payment page).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from service.donations.tables import (
    DonationCheckout,
    DonationPayment,
    DonationRefund,
    GiftAidDeclaration,
)
from service.limits import PAGE_SIZE_MAX
from service.members.tables import Community
from service.principal import Principal


@dataclass(frozen=True, slots=True)
class Declaration:
    full_name: str
    home_address: str
    postcode: str
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class Refund:
    amount_pence: int
    refunded_at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received for the gift: the one-off payment, or one month of a monthly gift."""

    amount_pence: int
    refunded_pence: int
    month: str
    paid_at: datetime
    refunds: tuple[Refund, ...]


@dataclass(frozen=True, slots=True)
class MemberGift:
    """One checkout the member opened, whether or not it was ever paid."""

    id: uuid.UUID
    community: str  # the community's slug
    amount_pence: int
    recurring: bool
    gift_aid: bool
    created_at: datetime
    subscription_ended_at: datetime | None
    declaration: Declaration | None
    payments: tuple[Payment, ...]


async def donations_of_member(*, actor: Principal, limit: int) -> list[MemberGift]:
    """The actor's own checkouts, newest first, with their payments, refunds and Gift Aid."""
    checkouts = (
        await DonationCheckout.objects()
        .where(DonationCheckout.member == actor.member_id)
        .order_by(DonationCheckout.created_at, DonationCheckout.id, ascending=False)
        .limit(limit)
        .run()
    )
    if not checkouts:
        return []
    declarations: dict[uuid.UUID, Declaration] = {}
    payments: defaultdict[uuid.UUID, list[Payment]] = defaultdict(list)
    # In batches, so that no statement names more ids than an engine allows.
    for start in range(0, len(checkouts), PAGE_SIZE_MAX):
        ids = [checkout.id for checkout in checkouts[start : start + PAGE_SIZE_MAX]]
        declarations |= await _declarations(ids)
        payments |= await _payments(ids)
    slugs = await _community_slugs({checkout.community for checkout in checkouts})
    return [
        MemberGift(
            id=checkout.id,
            community=slugs.get(checkout.community, ""),
            amount_pence=checkout.amount_pence,
            recurring=checkout.recurring,
            gift_aid=checkout.gift_aid,
            created_at=checkout.created_at,
            subscription_ended_at=checkout.subscription_ended_at,
            declaration=declarations.get(checkout.id),
            payments=tuple(payments[checkout.id]),
        )
        for checkout in checkouts
    ]


async def _declarations(checkout_ids: list[uuid.UUID]) -> dict[uuid.UUID, Declaration]:
    rows = (
        await GiftAidDeclaration.objects()
        .where(GiftAidDeclaration.checkout.is_in(checkout_ids))
        .run()
    )
    return {
        row.checkout: Declaration(row.full_name, row.home_address, row.postcode, row.declared_at)
        for row in rows
    }


async def _payments(checkout_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Payment]]:
    """Payments of these checkouts, oldest first, each with its refunds."""
    of_these = DonationPayment.checkout.is_in(checkout_ids)
    rows = (
        await DonationPayment.objects()
        .where(of_these)
        .order_by(DonationPayment.paid_at, DonationPayment.id)
        .run()
    )
    refund_rows = (
        await DonationRefund.objects()
        .where(
            DonationRefund.payment.is_in(DonationPayment.select(DonationPayment.id).where(of_these))
        )
        .order_by(DonationRefund.refunded_at, DonationRefund.id)
        .run()
    )
    refunds: defaultdict[uuid.UUID, list[Refund]] = defaultdict(list)
    for refund in refund_rows:
        refunds[refund.payment].append(Refund(refund.amount_pence, refund.refunded_at))
    found: dict[uuid.UUID, list[Payment]] = {}
    for row in rows:
        found.setdefault(row.checkout, []).append(
            Payment(
                amount_pence=row.amount_pence,
                refunded_pence=row.refunded_pence,
                month=row.month,
                paid_at=row.paid_at,
                refunds=tuple(refunds[row.id]),
            )
        )
    return found


async def _community_slugs(community_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = (
        await Community.select(Community.id, Community.slug)
        .where(Community.id.is_in(list(community_ids)))
        .run()
    )
    return {row["id"]: row["slug"] for row in rows}

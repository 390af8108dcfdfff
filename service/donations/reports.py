"""Donation figures for admins: per community and month, monthly donors, unresolved events.

Sums come from the donation tables, whose every row stands for one ledger
transfer (the gift, its fee, each refund, each chargeback and won dispute);
`tests/donations` checks that they agree with the ledger's GBP accounts.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.query.functions.aggregate import Count, Sum

from service.donations.events import UNRESOLVED_OUTCOMES
from service.donations.tables import (
    DonationChargeback,
    DonationCheckout,
    DonationPayment,
    DonationRefund,
    StripeEvent,
    StripeEventPayload,
    StripeEventReplay,
)
from service.limits import DONATION_REPORT_ROWS_MAX, UNMATCHED_EVENTS_SHOWN_MAX
from service.members.tables import Community
from service.principal import Principal, require_admin

CSV_COLUMNS = (
    "community",
    "month",
    "gifts",
    "received_pence",
    "gift_aid_declared_pence",
    "fees_pence",
    "refunded_pence",
    "charged_back_pence",
    "net_pence",
)


@dataclass(slots=True)
class MonthFigures:
    community_slug: str
    community_name: str
    month: str  # "2026-11"
    gifts: int = 0
    received_pence: int = 0
    gift_aid_pence: int = 0
    fees_pence: int = 0
    refunded_pence: int = 0
    charged_back_pence: int = 0  # chargebacks in the month, less disputes won in it

    @property
    def net_pence(self) -> int:
        """What stays with the community: given, less refunds and chargebacks, less fees."""
        return self.received_pence - self.refunded_pence - self.charged_back_pence - self.fees_pence


@dataclass(frozen=True, slots=True)
class MonthlyDonors:
    community_name: str
    donors: int


@dataclass(frozen=True, slots=True)
class DonationReport:
    months: list[MonthFigures]
    monthly_donors: list[MonthlyDonors]
    unmatched: list[UnresolvedEvent]


async def donation_report(*, actor: Principal) -> DonationReport:
    require_admin(actor)
    communities = {row.id: row for row in await Community.objects().order_by(Community.name).run()}
    return DonationReport(
        months=await _month_figures(communities),
        monthly_donors=await _monthly_donors(communities),
        unmatched=await unmatched_events(),
    )


async def _month_figures(communities: dict[uuid.UUID, Community]) -> list[MonthFigures]:
    figures: dict[tuple[uuid.UUID, str], MonthFigures] = {}

    def row_for(community_id: Any, month: str) -> MonthFigures:
        key = (uuid.UUID(str(community_id)), month)
        community = communities[key[0]]
        return figures.setdefault(key, MonthFigures(community.slug, community.name, month))

    received = await DonationPayment.select(
        DonationPayment.community,
        DonationPayment.month,
        Count(alias="gifts"),
        Sum(DonationPayment.amount_pence, alias="received"),
        Sum(DonationPayment.fee_pence, alias="fees"),
    ).group_by(DonationPayment.community, DonationPayment.month)
    for row in received:
        figures_row = row_for(row["community"], row["month"])
        figures_row.gifts = int(row["gifts"])
        figures_row.received_pence = int(row["received"] or 0)
        figures_row.fees_pence = int(row["fees"] or 0)
    gift_aid = (
        await DonationPayment.select(
            DonationPayment.community,
            DonationPayment.month,
            Sum(DonationPayment.amount_pence, alias="declared"),
        )
        .where(DonationPayment.checkout.gift_aid == True)  # noqa: E712 - Piccolo builds SQL from ==
        .group_by(DonationPayment.community, DonationPayment.month)
    )
    for row in gift_aid:
        row_for(row["community"], row["month"]).gift_aid_pence = int(row["declared"] or 0)
    refunded = await DonationRefund.select(
        DonationRefund.community,
        DonationRefund.month,
        Sum(DonationRefund.amount_pence, alias="refunded"),
    ).group_by(DonationRefund.community, DonationRefund.month)
    for row in refunded:
        row_for(row["community"], row["month"]).refunded_pence = int(row["refunded"] or 0)
    charged_back = await DonationChargeback.select(
        DonationChargeback.community,
        DonationChargeback.month,
        DonationChargeback.kind,
        Sum(DonationChargeback.amount_pence, alias="amount"),
    ).group_by(DonationChargeback.community, DonationChargeback.month, DonationChargeback.kind)
    for row in charged_back:
        sign = 1 if row["kind"] == "chargeback" else -1  # a won dispute gives it back
        row_for(row["community"], row["month"]).charged_back_pence += sign * int(row["amount"])
    ordered = sorted(figures.values(), key=lambda f: (f.community_name, f.month), reverse=False)
    ordered.sort(key=lambda f: f.month, reverse=True)  # newest month first, communities by name
    return ordered[:DONATION_REPORT_ROWS_MAX]


async def _monthly_donors(communities: dict[uuid.UUID, Community]) -> list[MonthlyDonors]:
    rows = (
        await DonationCheckout.select(DonationCheckout.community, Count(alias="donors"))
        .where(
            (DonationCheckout.recurring == True)  # noqa: E712 - Piccolo builds SQL from ==
            & DonationCheckout.subscription_id.is_not_null()
            & DonationCheckout.subscription_ended_at.is_null()
        )
        .group_by(DonationCheckout.community)
    )
    counts = {uuid.UUID(str(row["community"])): int(row["donors"]) for row in rows}
    return [
        MonthlyDonors(community.name, counts.get(community_id, 0))
        for community_id, community in communities.items()
    ]


@dataclass(frozen=True, slots=True)
class UnresolvedEvent:
    """A Stripe event that matched nothing, or waits for its payment, as last tried."""

    id: str
    type: str
    object_id: str
    outcome: str  # `unmatched` or `waiting`
    detail: str
    received_at: datetime
    replays: int
    kept: bool  # its object is kept, so it can be reprocessed


# Events with no replay that resolved them.
_NOT_RESOLVED_BY_REPLAY = WhereRaw(
    "NOT EXISTS (SELECT 1 FROM donation_event_replay r WHERE r.event_id = donation_event.id"
    " AND r.outcome NOT IN ('unmatched', 'waiting'))"
)


async def unmatched_events() -> list[UnresolvedEvent]:
    """Events still unresolved (unmatched or waiting), newest first, with their last attempt."""
    rows = (
        await StripeEvent.objects()
        .where(StripeEvent.outcome.is_in(sorted(UNRESOLVED_OUTCOMES)) & _NOT_RESOLVED_BY_REPLAY)
        .order_by(StripeEvent.received_at, ascending=False)
        .limit(UNMATCHED_EVENTS_SHOWN_MAX)
        .run()
    )
    ids = [row.id for row in rows]
    if not ids:
        return []
    replays = (
        await StripeEventReplay.objects()
        .where(StripeEventReplay.event_id.is_in(ids))
        .order_by(StripeEventReplay.replayed_at)
        .run()
    )
    latest = {replay.event_id: replay for replay in replays}  # the last one wins
    counts = dict.fromkeys(ids, 0)
    for replay in replays:
        counts[replay.event_id] += 1
    kept_rows = await StripeEventPayload.select(StripeEventPayload.event_id).where(
        StripeEventPayload.event_id.is_in(ids)
    )
    kept = {row["event_id"] for row in kept_rows}
    return [
        UnresolvedEvent(
            id=row.id,
            type=row.type,
            object_id=row.object_id,
            outcome=latest[row.id].outcome if row.id in latest else row.outcome,
            detail=latest[row.id].detail if row.id in latest else row.detail,
            received_at=row.received_at,
            replays=counts[row.id],
            kept=row.id in kept,
        )
        for row in rows
    ]


def report_csv(months: Iterable[MonthFigures]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for figures in months:
        writer.writerow(
            (
                figures.community_slug,
                figures.month,
                figures.gifts,
                figures.received_pence,
                figures.gift_aid_pence,
                figures.fees_pence,
                figures.refunded_pence,
                figures.charged_back_pence,
                figures.net_pence,
            )
        )
    return buffer.getvalue()


async def donations_received_pence(
    community_ids: Iterable[uuid.UUID],
    *,
    first_month: str | None = None,
    last_month: str | None = None,
) -> int:
    """Total given to these communities, less refunds and chargebacks: one aggregate.

    With `first_month`/`last_month` ("2026-03", both included) only gifts paid in
    those months count, each less whatever has been refunded or charged back of it
    since (a chargeback undone by a won dispute no longer counts).
    """
    ids = list(community_ids)
    if not ids:
        return 0
    received = await DonationPayment.select(
        Sum(DonationPayment.amount_pence, alias="received"),
        Sum(DonationPayment.refunded_pence, alias="refunded"),
        Sum(DonationPayment.charged_back_pence, alias="charged_back"),
    ).where(_payments_of(ids, first_month, last_month))
    row = received[0] if received else {}
    taken_back = int(row.get("refunded") or 0) + int(row.get("charged_back") or 0)
    return int(row.get("received") or 0) - taken_back


@dataclass(frozen=True, slots=True)
class DonationTotal:
    """Money given in a period, and how many donors it rests on (counted up to a bound)."""

    amount_pence: int
    donors: int


async def donations_total(
    community_ids: Iterable[uuid.UUID], *, first_month: str, last_month: str, donors_needed: int
) -> DonationTotal:
    """Gifts paid in the months to these communities, less refunds and chargebacks, and donors.

    A donor is a member for gifts given signed in, otherwise the checkout (a
    monthly gift is one checkout): anonymous gifts cannot be told apart, so two
    of them count as two donors. Gifts refunded or charged back in full rest on nobody. Donors
    are counted up to `donors_needed` only: the caller asks "at least k?".
    """
    ids = list(community_ids)
    if not ids:
        return DonationTotal(0, 0)
    amount = await donations_received_pence(ids, first_month=first_month, last_month=last_month)
    kept = _payments_of(ids, first_month, last_month) & WhereRaw(
        "donation_payment.refunded_pence + donation_payment.charged_back_pence"
        " < donation_payment.amount_pence"
    )
    members = (
        await DonationPayment.select(DonationPayment.checkout.member.as_alias("donor"))
        .where(kept & DonationPayment.checkout.member.is_not_null())
        .distinct()
        .limit(donors_needed)
    )
    anonymous = (
        await DonationPayment.select(DonationPayment.checkout.as_alias("donor"))
        .where(kept & DonationPayment.checkout.member.is_null())
        .distinct()
        .limit(donors_needed)
    )
    return DonationTotal(amount, min(donors_needed, len(members) + len(anonymous)))


def _payments_of(
    ids: list[uuid.UUID], first_month: str | None, last_month: str | None
) -> Combinable:
    where: Combinable = DonationPayment.community.is_in(ids)
    if first_month is not None:
        where = where & (DonationPayment.month >= first_month)
    if last_month is not None:
        where = where & (DonationPayment.month <= last_month)
    return where

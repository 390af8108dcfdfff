"""Reading disputes: one, a queue, a member's own, what waits for them, the panel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.custom_types import Combinable

from service import clock
from service.disputes.tables import Dispute, DisputeCorrection, DisputeStatement
from service.exchanges.panels import DisputePanel
from service.exchanges.selectors import ExchangeView, exchange_get, exchange_party_filter
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.http.cursors import decode_instant_cursor, encode_instant_cursor
from service.i18n import _
from service.limits import (
    DISPUTE_OUTCOME_NOTICE_DAYS,
    DISPUTES_BETWEEN_MAX,
    NOTICES_MAX,
    PAGE_SIZE_MAX,
)
from service.members.tables import Community, Member
from service.principal import Principal, not_found, require_admin

COMPLETION_ACTIONS = ("complete", "record")  # exchange events that mark it done


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with its exchange (and history), its thread and what resolving did."""

    dispute: Dispute
    exchange: ExchangeView
    statements: tuple[DisputeStatement, ...]
    corrections: tuple[DisputeCorrection, ...]
    completed_at: datetime

    @property
    def id(self) -> uuid.UUID:
        dispute_id: uuid.UUID = self.dispute.id
        return dispute_id

    @property
    def is_open(self) -> bool:
        return bool(self.dispute.status == "open")

    def name_of(self, member_id: uuid.UUID | None) -> str:
        return self.exchange.name_of(member_id)


@dataclass(frozen=True, slots=True)
class QueueItem:
    dispute: Dispute
    exchange: Exchange
    opened_by_name: str


@dataclass(frozen=True, slots=True)
class DisputeNotice:
    kind: str  # dispute_awaiting_account | dispute_resolved
    dispute: Dispute
    exchange: Exchange

    @property
    def since(self) -> datetime:
        """When it began to wait for the member: the opening, or the resolution."""
        resolved_at: datetime | None = self.dispute.resolved_at
        opened_at: datetime = self.dispute.opened_at
        return resolved_at if self.kind == "dispute_resolved" and resolved_at else opened_at


async def completed_at(view: ExchangeView) -> datetime:
    """When the exchange was completed (or recorded): the dispute window starts there."""
    row = (
        await ExchangeEvent.select(ExchangeEvent.at)
        .where(
            (ExchangeEvent.exchange == view.id)
            & ExchangeEvent.action.is_in(list(COMPLETION_ACTIONS))
        )
        .order_by(ExchangeEvent.at, ascending=False)
        .first()
        .run()
    )
    at: datetime = row["at"] if row else view.exchange.updated_at
    return at.astimezone(UTC)


async def dispute_view(dispute: Dispute, actor: Principal) -> DisputeView:
    exchange = await exchange_get(actor=actor, exchange_id=dispute.exchange)
    statements = (
        await DisputeStatement.objects()
        .where(DisputeStatement.dispute == dispute.id)
        .order_by(DisputeStatement.at)
        .run()
    )
    corrections = (
        await DisputeCorrection.objects()
        .where(DisputeCorrection.dispute == dispute.id)
        .order_by(DisputeCorrection.recipient)
        .run()
    )
    return DisputeView(
        dispute=dispute,
        exchange=exchange,
        statements=tuple(statements),
        corrections=tuple(corrections),
        completed_at=await completed_at(exchange),
    )


async def may_see(actor: Principal, dispute: Dispute) -> bool:
    if actor.is_admin:
        return True
    exchange = await exchange_parties(dispute.exchange)
    return actor.member_id in exchange


async def exchange_parties(exchange_id: uuid.UUID) -> frozenset[uuid.UUID]:
    provider = await Exchange.select(Exchange.provider).where(Exchange.id == exchange_id).run()
    recipients = (
        await ExchangeRecipient.select(ExchangeRecipient.member)
        .where(ExchangeRecipient.exchange == exchange_id)
        .run()
    )
    return frozenset(
        [*(row["provider"] for row in provider), *(row["member"] for row in recipients)]
    )


async def dispute_visible(actor: Principal, dispute_id: uuid.UUID) -> None:
    """404 unless the actor may see the dispute (the access guard asks before the body)."""
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None or not await may_see(actor, dispute):
        raise not_found(_("That dispute"))


async def dispute_get(*, actor: Principal, dispute_id: uuid.UUID) -> DisputeView:
    """One dispute, for a party of its exchange or an admin; anyone else: 404."""
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None or not await may_see(actor, dispute):
        raise not_found(_("That dispute"))
    return await dispute_view(dispute, actor)


async def dispute_of_exchange(*, actor: Principal, exchange_id: uuid.UUID) -> Dispute | None:
    """The exchange's dispute, if the actor may see it (for the exchange page)."""
    dispute = await Dispute.objects().where(Dispute.exchange == exchange_id).first().run()
    if dispute is None or not await may_see(actor, dispute):
        return None
    return dispute


async def dispute_window_closes_at(view: ExchangeView) -> datetime | None:
    """When the window to dispute a completed exchange closes (None unless completed)."""
    if view.status != "completed":
        return None
    days = (
        await Community.select(Community.dispute_window_days)
        .where(Community.id == view.exchange.community)
        .first()
        .run()
    )
    window_days = int(days["dispute_window_days"]) if days else 0
    return await completed_at(view) + timedelta(days=window_days)


async def queue_items(disputes: Sequence[Dispute]) -> list[QueueItem]:
    if not disputes:
        return []
    exchanges = {
        row.id: row
        for row in await Exchange.objects()
        .where(Exchange.id.is_in([dispute.exchange for dispute in disputes]))
        .run()
    }
    names = {
        row["id"]: row["display_name"]
        for row in await Member.select(Member.id, Member.display_name)
        .where(Member.id.is_in([dispute.opened_by for dispute in disputes]))
        .run()
    }
    return [
        QueueItem(dispute, exchanges[dispute.exchange], names.get(dispute.opened_by, ""))
        for dispute in disputes
    ]


async def dispute_queue(
    *, actor: Principal, status: str | None, limit: int, cursor: str | None
) -> tuple[list[QueueItem], str | None]:
    """Disputes for admins, oldest first (the longest waiting at the top), one page."""
    require_admin(actor)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_SIZE_MAX}")
    where: Combinable = Dispute.id.is_not_null()
    if status is not None:
        where &= Dispute.status == status
    if cursor is not None:
        opened_at, dispute_id = decode_instant_cursor(cursor)
        where &= (Dispute.opened_at > opened_at) | (
            (Dispute.opened_at == opened_at) & (Dispute.id > dispute_id)
        )
    rows = (
        await Dispute.objects()
        .where(where)
        .order_by(Dispute.opened_at, Dispute.id)
        .limit(limit + 1)
        .run()
    )
    next_cursor = (
        encode_instant_cursor(rows[limit - 1].opened_at, rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return await queue_items(rows[:limit]), next_cursor


async def disputes_of(*, actor: Principal, limit: int = PAGE_SIZE_MAX) -> list[QueueItem]:
    """Disputes about the caller's exchanges, newest first (at most `limit`, a page unless
    the data export asks for more)."""
    mine = exchange_party_filter(actor.member_id)
    rows = (
        await Dispute.objects()
        .where(Dispute.exchange.is_in(Exchange.select(Exchange.id).where(mine)))
        .order_by(Dispute.opened_at, ascending=False)
        .limit(limit)
        .run()
    )
    return await queue_items(rows)


async def dispute_notices_of(*, actor: Principal, now: datetime | None = None) -> list[QueueItem]:
    """Disputes to show on the dashboard: open ones, and outcomes of the last few weeks."""
    since = (now or clock.utc_now()) - timedelta(days=DISPUTE_OUTCOME_NOTICE_DAYS)
    return [
        item
        for item in await disputes_of(actor=actor)
        if item.dispute.status == "open" or item.dispute.resolved_at >= since
    ]


async def dispute_notices_waiting(
    *, actor: Principal, now: datetime | None = None
) -> list[DisputeNotice]:
    """What waits for the caller about disputes (the notices API).

    Open disputes the other side opened and the caller has not answered yet
    (as `disputes_awaiting_count` counts them), oldest first; then outcomes of
    the last DISPUTE_OUTCOME_NOTICE_DAYS, newest first. An open dispute the
    caller opened or answered waits for an admin, not for them.
    """
    items = await dispute_notices_of(actor=actor, now=now)
    answered = await answered_by(actor.member_id, [item.dispute.id for item in items])
    awaiting = [
        DisputeNotice("dispute_awaiting_account", item.dispute, item.exchange)
        for item in sorted(items, key=lambda item: item.dispute.opened_at)
        if item.dispute.status == "open"
        and item.dispute.opened_by != actor.member_id
        and item.dispute.id not in answered
    ]
    resolved = [
        DisputeNotice("dispute_resolved", item.dispute, item.exchange)
        for item in items
        if item.dispute.status == "resolved"
    ]
    resolved.sort(key=lambda notice: notice.since, reverse=True)
    return (awaiting + resolved)[:NOTICES_MAX]


async def answered_by(member_id: uuid.UUID, dispute_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these disputes hold a statement by the member."""
    if not dispute_ids:
        return set()
    rows = (
        await DisputeStatement.select(DisputeStatement.dispute)
        .where((DisputeStatement.author == member_id) & DisputeStatement.dispute.is_in(dispute_ids))
        .run()
    )
    return {row["dispute"] for row in rows}


async def disputes_awaiting_count(*, actor: Principal) -> int:
    """Open disputes about the caller's exchanges that the caller has not yet answered."""
    answered = DisputeStatement.select(DisputeStatement.dispute).where(
        DisputeStatement.author == actor.member_id
    )
    mine = exchange_party_filter(actor.member_id)
    count: int = (
        await Dispute.count()
        .where(
            (Dispute.status == "open")
            & (Dispute.opened_by != actor.member_id)
            & Dispute.id.not_in(answered)
            & Dispute.exchange.is_in(Exchange.select(Exchange.id).where(mine))
        )
        .run()
    )
    return count


async def exchanges_between(
    a_id: uuid.UUID, b_id: uuid.UUID, *, limit: int = DISPUTES_BETWEEN_MAX
) -> list[Exchange]:
    """Recent exchanges where one of two members gave help to the other (for admins)."""

    def gave(provider: uuid.UUID, recipient: uuid.UUID) -> Any:
        return (Exchange.provider == provider) & Exchange.id.is_in(
            ExchangeRecipient.select(ExchangeRecipient.exchange).where(
                ExchangeRecipient.member == recipient
            )
        )

    rows: list[Exchange] = (
        await Exchange.objects()
        .where(gave(a_id, b_id) | gave(b_id, a_id))
        .order_by(Exchange.service_date, ascending=False)
        .limit(limit)
        .run()
    )
    return rows


async def dispute_statuses(*, exchange_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each disputed exchange's dispute status, for lists of exchanges (one query)."""
    rows = (
        await Dispute.select(Dispute.exchange, Dispute.status)
        .where(Dispute.exchange.is_in(list(exchange_ids)))
        .run()
    )
    return {row["exchange"]: row["status"] for row in rows}


async def dispute_panel(*, actor: Principal, view: ExchangeView) -> DisputePanel:
    """What the exchange page shows: the dispute, or whether the viewer may still open one."""
    dispute = await dispute_of_exchange(actor=actor, exchange_id=view.exchange.id)
    closes_at = await dispute_window_closes_at(view) if dispute is None else None
    can_open = (
        actor.member_id in view.parties and closes_at is not None and clock.utc_now() <= closes_at
    )
    return DisputePanel(dispute=dispute, can_open=can_open, closes_at=closes_at)

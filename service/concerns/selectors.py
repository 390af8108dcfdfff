"""Reading concerns: the coordinators of the concern's community (and admins) see the
queue and each concern with what it is about; the reporter sees their own, without
anything the coordinators wrote except the outcome.

The one place a coordinator reads a private conversation: the one attached to a
concern, on the concern itself (ADR 0036).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from service.concerns.tables import Concern
from service.exchanges.tables import Exchange
from service.i18n import _
from service.limits import CONCERNS_PER_PAGE
from service.listings.tables import Listing
from service.members.tables import Member
from service.messages.selectors import MessageItem, messages_of, names_of
from service.messages.tables import Conversation
from service.principal import Principal, not_found

ConcernStatus = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class ConcernView:
    concern: Concern
    reporter_name: str
    about_name: str | None
    about_status: str | None
    listing_title: str | None
    exchange_description: str | None
    conversation_names: tuple[str, ...] = ()
    messages: list[MessageItem] = field(default_factory=list)


def _may_handle(actor: Principal, concern: Concern) -> bool:
    return actor.is_admin or actor.coordinates(concern.community)


async def _concern(concern_id: uuid.UUID) -> Concern | None:
    concern: Concern | None = await Concern.objects().where(Concern.id == concern_id).first().run()
    return concern


async def concern_for_coordinator(actor: Principal, concern_id: uuid.UUID) -> Concern:
    """The concern if the actor coordinates its community (or is an admin); else 404."""
    concern = await _concern(concern_id)
    if concern is None or not _may_handle(actor, concern):
        raise not_found(_("That concern"))
    return concern


async def concern_visible(actor: Principal, concern_id: uuid.UUID) -> None:
    """The access guard's check before the body (service/http/access.py)."""
    await concern_for_coordinator(actor, concern_id)


async def concern_view(actor: Principal, concern_id: uuid.UUID) -> ConcernView:
    """The whole concern for its coordinators: what it is about, and the attached thread."""
    concern = await concern_for_coordinator(actor, concern_id)
    names = await names_of(
        [concern.reporter, *([concern.about_member] if concern.about_member else [])]
    )
    about_status = None
    if concern.about_member is not None:
        row = await Member.select(Member.status).where(Member.id == concern.about_member).first()
        about_status = None if row is None else row["status"]
    listing_title = None
    if concern.listing is not None:
        row = await Listing.select(Listing.title).where(Listing.id == concern.listing).first()
        listing_title = None if row is None else row["title"]
    exchange_description = None
    if concern.exchange is not None:
        row = (
            await Exchange.select(Exchange.description)
            .where(Exchange.id == concern.exchange)
            .first()
        )
        exchange_description = None if row is None else row["description"]
    conversation_names: tuple[str, ...] = ()
    messages: list[MessageItem] = []
    if concern.conversation is not None:
        conversation = (
            await Conversation.objects().where(Conversation.id == concern.conversation).first()
        )
        if conversation is not None:
            pair = await names_of([conversation.member_a, conversation.member_b])
            conversation_names = tuple(sorted(pair.values()))
            messages = await messages_of(conversation.id)
    return ConcernView(
        concern=concern,
        reporter_name=names.get(concern.reporter) or _("A former member"),
        about_name=names.get(concern.about_member) if concern.about_member else None,
        about_status=about_status,
        listing_title=listing_title,
        exchange_description=exchange_description,
        conversation_names=conversation_names,
        messages=messages,
    )


@dataclass(frozen=True, slots=True)
class QueueItem:
    concern: Concern
    reporter_name: str
    about_name: str | None


async def concern_queue(actor: Principal, status: ConcernStatus = "open") -> list[QueueItem]:
    """Concerns of the communities the actor coordinates (every one for an admin), oldest first."""
    query = Concern.objects().where(Concern.status == status)
    if not actor.is_admin:
        communities = list(actor.coordinated_communities)
        if not communities:
            return []
        query = query.where(Concern.community.is_in(communities))
    concerns = (
        await query.order_by(Concern.created_at, ascending=status == "open")
        .limit(CONCERNS_PER_PAGE)
        .run()
    )
    ids = [c.reporter for c in concerns] + [c.about_member for c in concerns if c.about_member]
    names = await names_of(ids)
    return [
        QueueItem(
            concern=concern,
            reporter_name=names.get(concern.reporter) or _("A former member"),
            about_name=names.get(concern.about_member) if concern.about_member else None,
        )
        for concern in concerns
    ]


async def concerns_reported_by(member_id: uuid.UUID) -> list[Concern]:
    """The member's own reports, newest first: the text, the status and the outcome."""
    concerns: list[Concern] = (
        await Concern.objects()
        .where(Concern.reporter == member_id)
        .order_by(Concern.created_at, ascending=False)
        .limit(CONCERNS_PER_PAGE)
        .run()
    )
    return concerns


async def open_concern_count(actor: Principal) -> int:
    """Open concerns waiting for the actor as a coordinator (for the navigation)."""
    if not (actor.is_admin or actor.coordinated_communities):
        return 0
    return len(await concern_queue(actor, "open"))

"""Reading conversations: only their two members ever read them here.

Coordinators and admins do not read private messages through these selectors;
a conversation attached to a safeguarding concern is shown to the community's
coordinators on the concern's own page (service/concerns/selectors.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.exchanges.selectors import visible_view
from service.i18n import _
from service.limits import CONVERSATIONS_PER_PAGE, MESSAGES_PER_PAGE
from service.listings.services import listing_visible
from service.listings.tables import Listing
from service.members.tables import Member
from service.messages.tables import Conversation, Message
from service.principal import Principal, not_found


@dataclass(frozen=True, slots=True)
class MessageItem:
    id: uuid.UUID
    author_id: uuid.UUID
    author_name: str
    body: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationItem:
    id: uuid.UUID
    other_member_id: uuid.UUID
    other_name: str
    listing_id: uuid.UUID | None
    exchange_id: uuid.UUID | None
    last_message_at: datetime
    unread_count: int


def other_of(conversation: Conversation, member_id: uuid.UUID) -> uuid.UUID:
    other: uuid.UUID = (
        conversation.member_b if conversation.member_a == member_id else conversation.member_a
    )
    return other


def read_at_of(conversation: Conversation, member_id: uuid.UUID) -> datetime | None:
    read_at: datetime | None = (
        conversation.a_read_at if conversation.member_a == member_id else conversation.b_read_at
    )
    return read_at


def is_participant(conversation: Conversation, member_id: uuid.UUID) -> bool:
    return member_id in (conversation.member_a, conversation.member_b)


async def conversation_of_participant(actor: Principal, conversation_id: uuid.UUID) -> Conversation:
    """The conversation if the actor is one of its two members; 404 for anyone else."""
    conversation = (
        await Conversation.objects().where(Conversation.id == conversation_id).first().run()
    )
    if conversation is None or not is_participant(conversation, actor.member_id):
        raise not_found(_("That conversation"))
    return conversation


async def conversation_visible(actor: Principal, conversation_id: uuid.UUID) -> None:
    """The access guard's check before the body (service/http/access.py)."""
    await conversation_of_participant(actor, conversation_id)


async def names_of(member_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not member_ids:
        return {}
    rows = (
        await Member.select(Member.id, Member.display_name)
        .where(Member.id.is_in(list(set(member_ids))))
        .run()
    )
    return {uuid.UUID(str(row["id"])): row["display_name"] for row in rows}


async def messages_of(conversation_id: uuid.UUID) -> list[MessageItem]:
    """The newest messages of a thread, oldest first. Callers have checked who may read."""
    rows = (
        await Message.select()
        .where(Message.conversation == conversation_id)
        .order_by(Message.sent_at, ascending=False)
        .limit(MESSAGES_PER_PAGE)
        .run()
    )
    rows.reverse()
    names = await names_of([row["author"] for row in rows])
    return [
        MessageItem(
            id=uuid.UUID(str(row["id"])),
            author_id=uuid.UUID(str(row["author"])),
            author_name=names.get(uuid.UUID(str(row["author"]))) or _("A former member"),
            body=row["body"],
            sent_at=row["sent_at"],
        )
        for row in rows
    ]


def _mine(member_id: uuid.UUID) -> Any:
    return (Conversation.member_a == member_id) | (Conversation.member_b == member_id)


async def _unread_in(conversation: Conversation, member_id: uuid.UUID) -> int:
    query = Message.count().where(
        (Message.conversation == conversation.id) & (Message.author != member_id)
    )
    read_at = read_at_of(conversation, member_id)
    if read_at is not None:
        query = query.where(Message.sent_at > read_at)
    return int(await query.run())


async def conversations_of(actor: Principal) -> list[ConversationItem]:
    """The actor's conversations, the most recently active first, with unread counts."""
    conversations = (
        await Conversation.objects()
        .where(_mine(actor.member_id))
        .order_by(Conversation.last_message_at, ascending=False)
        .limit(CONVERSATIONS_PER_PAGE)
        .run()
    )
    names = await names_of([other_of(item, actor.member_id) for item in conversations])
    items = []
    for conversation in conversations:
        other = other_of(conversation, actor.member_id)
        items.append(
            ConversationItem(
                id=conversation.id,
                other_member_id=other,
                other_name=names.get(other) or _("A former member"),
                listing_id=conversation.listing,
                exchange_id=conversation.exchange,
                last_message_at=conversation.last_message_at,
                unread_count=await _unread_in(conversation, actor.member_id),
            )
        )
    return items


# One statement for the navigation's count, run on every page a member opens: the
# messages others wrote in the member's conversations after the member last read each.
_READ_AT = "CASE WHEN c.member_a = {} THEN c.a_read_at ELSE c.b_read_at END"
_UNREAD_SQL = (
    "SELECT count(*) AS unread FROM safety_message m"
    " JOIN safety_conversation c ON m.conversation = c.id"
    " WHERE (c.member_a = {} OR c.member_b = {}) AND m.author <> {}"
    f" AND ({_READ_AT} IS NULL OR m.sent_at > {_READ_AT})"
)


async def unread_count_of(actor: Principal) -> int:
    """Messages waiting for the actor across their conversations (for the navigation)."""
    me = actor.member_id
    rows = await Message.raw(_UNREAD_SQL, me, me, me, me, me).run()
    return int(rows[0]["unread"]) if rows else 0


async def conversation_recipient(
    viewer: Principal,
    member_id: uuid.UUID | None,
    listing_id: uuid.UUID | None,
    exchange_id: uuid.UUID | None,
) -> tuple[uuid.UUID, str]:
    """Who a new conversation is with, and what it is about, in words (404 for what
    the viewer cannot see)."""
    if listing_id is not None:
        await listing_visible(viewer, listing_id)
        row = (
            await Listing.select(Listing.member, Listing.title)
            .where(Listing.id == listing_id)
            .first()
        )
        if row is None:
            raise not_found(_("That listing"))
        return uuid.UUID(str(row["member"])), _("About the listing: %(title)s") % {
            "title": row["title"]
        }
    if exchange_id is not None:
        view = await visible_view(viewer, exchange_id)
        others = [
            member
            for member in (view.provider_id, *view.recipient_ids)
            if member != viewer.member_id
        ]
        if viewer.member_id not in view.parties or not others:
            raise not_found(_("That exchange"))
        return others[0], _("About the exchange: %(what)s") % {
            "what": view.exchange.description[:80]
        }
    if member_id is None:
        raise not_found(_("That member"))
    return member_id, ""

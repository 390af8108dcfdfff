"""Conversations between two members: starting one, sending, reading (writes).

- A conversation is between two active members of one community, or two parties
  of one exchange; it may be about one listing (of either of them) or one exchange
  (of both). There is one per pair and topic: asking about the same listing
  again adds to the same thread.
- A block between the two, either way, refuses with 403 `blocked`.
- Each member may send `MESSAGES_PER_MEMBER` messages per window, counted in the
  database (429 `rate_limited`), so a flood is stopped on every worker alike.
- Bodies are plain text, at most `MESSAGE_BODY_CHARS_MAX` characters: pages show
  them escaped, so a link or a tag is shown as the characters typed.
- The other member gets a notice, and a mail as their notification choice says.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.blocks.selectors import refuse_if_blocked
from service.blocks.services import blocks_erase
from service.errors import TooManyAttempts, invalid_field
from service.exchanges.selectors import visible_view
from service.i18n import _
from service.limits import MESSAGE_BODY_CHARS_MAX, MESSAGES_PER_MEMBER
from service.listings.services import listing_visible
from service.listings.tables import Listing
from service.members.mailing import mail_member
from service.members.tables import Member
from service.messages.selectors import conversation_of_participant, other_of
from service.messages.tables import Conversation, Message
from service.principal import Principal, forbidden, not_found, require_active


def checked_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise invalid_field("body", _("write a message"))
    if len(text) > MESSAGE_BODY_CHARS_MAX:
        raise invalid_field(
            "body", _("at most %(chars)s characters") % {"chars": MESSAGE_BODY_CHARS_MAX}
        )
    return text


async def _refuse_if_too_many(actor: Principal, now: datetime) -> None:
    messages_max, window_seconds = MESSAGES_PER_MEMBER
    since = now - timedelta(seconds=window_seconds)
    sent = await Message.count().where(
        (Message.author == actor.member_id) & (Message.sent_at > since)
    )
    if sent >= messages_max:
        raise TooManyAttempts(
            code="rate_limited",
            detail=_(
                "You have sent a lot of messages in a short time. "
                "Please wait a little and try again."
            ),
            retry_after_seconds=window_seconds,
        )


async def _topic(
    actor: Principal,
    other_id: uuid.UUID,
    listing_id: uuid.UUID | None,
    exchange_id: uuid.UUID | None,
) -> tuple[str, bool]:
    """What the conversation is about, and whether the two share an exchange."""
    if listing_id is not None and exchange_id is not None:
        raise invalid_field("listing_id", _("give a listing or an exchange, not both"))
    if listing_id is not None:
        await listing_visible(actor, listing_id)
        owner = await Listing.select(Listing.member).where(Listing.id == listing_id).first().run()
        if owner is None or owner["member"] not in (actor.member_id, other_id):
            raise invalid_field("listing_id", _("must be a listing of one of you"))
        return f"listing:{listing_id}", False
    if exchange_id is not None:
        view = await visible_view(actor, exchange_id)
        if not {actor.member_id, other_id} <= view.parties:
            raise invalid_field("exchange_id", _("must be an exchange you both take part in"))
        return f"exchange:{exchange_id}", True
    return "", False


async def conversation_start(
    *,
    engine: Engine[Any],
    actor: Principal,
    member_id: uuid.UUID,
    body: str,
    listing_id: uuid.UUID | None = None,
    exchange_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Open (or reuse) the conversation with `member_id` about the topic, and send `body`."""
    require_active(actor)
    text = checked_body(body)
    if member_id == actor.member_id:
        raise invalid_field("member_id", _("you cannot message yourself"))
    other = await Member.objects().where(Member.id == member_id).first().run()
    if other is None or other.status != "active":
        raise not_found(_("That member"))
    topic, shared_exchange = await _topic(actor, member_id, listing_id, exchange_id)
    if other.community != actor.community_id and not shared_exchange:
        raise not_found(_("That member"))
    await refuse_if_blocked(actor.member_id, [member_id])
    member_a, member_b = sorted((actor.member_id, member_id), key=str)
    now = clock.utc_now()

    async def work(transaction: WriteTransaction) -> uuid.UUID:
        await _refuse_if_too_many(actor, now)
        await (
            Conversation.insert(
                Conversation(
                    id=uuid.uuid4(),
                    community=actor.community_id,
                    member_a=member_a,
                    member_b=member_b,
                    topic=topic,
                    listing=listing_id,
                    exchange=exchange_id,
                    created_at=now,
                    last_message_at=now,
                )
            )
            .on_conflict(action="DO NOTHING")
            .run()
        )
        found = (
            await Conversation.select(Conversation.id)
            .where(
                (Conversation.member_a == member_a)
                & (Conversation.member_b == member_b)
                & (Conversation.topic == topic)
            )
            .first()
            .run()
        )
        assert found is not None  # noqa: S101 - inserted or already there, in this transaction
        conversation_id = uuid.UUID(str(found["id"]))
        await _add_message(transaction, actor, conversation_id, member_id, text, now)
        return conversation_id

    conversation_id: uuid.UUID = await run_write(engine, work)
    return conversation_id


async def message_send(
    *, engine: Engine[Any], actor: Principal, conversation_id: uuid.UUID, body: str
) -> uuid.UUID:
    """A participant adds a message to the conversation; returns the message id."""
    conversation = await conversation_of_participant(actor, conversation_id)
    require_active(actor)
    text = checked_body(body)
    other_id = other_of(conversation, actor.member_id)
    await refuse_if_blocked(actor.member_id, [other_id])
    other_status = await Member.select(Member.status).where(Member.id == other_id).first().run()
    if other_status is None or other_status["status"] != "active":
        raise forbidden(_("This member can no longer receive messages."))
    now = clock.utc_now()

    async def work(transaction: WriteTransaction) -> uuid.UUID:
        await _refuse_if_too_many(actor, now)
        return await _add_message(transaction, actor, conversation_id, other_id, text, now)

    message_id: uuid.UUID = await run_write(engine, work)
    return message_id


async def _add_message(  # noqa: PLR0917 - one message's own facts
    transaction: WriteTransaction,
    actor: Principal,
    conversation_id: uuid.UUID,
    other_id: uuid.UUID,
    text: str,
    now: datetime,
) -> uuid.UUID:
    message_id = uuid.uuid4()
    await Message.insert(
        Message(
            id=message_id,
            conversation=conversation_id,
            author=actor.member_id,
            body=text,
            sent_at=now,
        )
    ).run()
    await _mark_read(conversation_id, actor.member_id, now, last_message_at=now)
    # The words of the message stay on the site: the mail only says there is one.
    await mail_member(
        transaction,
        member_id=other_id,
        kind="message_received",
        context={"other_name": actor.display_name, "conversation_id": str(conversation_id)},
    )
    return message_id


async def _mark_read(
    conversation_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
    *,
    last_message_at: datetime | None = None,
) -> None:
    for column, read_column in (
        (Conversation.member_a, Conversation.a_read_at),
        (Conversation.member_b, Conversation.b_read_at),
    ):
        changes: dict[Any, Any] = {read_column: now}
        if last_message_at is not None:
            changes[Conversation.last_message_at] = last_message_at
        await (
            Conversation.update(changes)
            .where((Conversation.id == conversation_id) & (column == member_id))
            .run()
        )


async def conversation_mark_read(
    *, engine: Engine[Any], actor: Principal, conversation_id: uuid.UUID
) -> None:
    """The participant has read the thread up to now (the unread count drops)."""
    await conversation_of_participant(actor, conversation_id)
    now = clock.utc_now()

    async def work(_transaction: WriteTransaction) -> None:
        await _mark_read(conversation_id, actor.member_id, now)

    await run_write(engine, work)


# Written in place of the words of a member who closed their account.
ERASED_BODY = ""


async def messages_erase(member_id: uuid.UUID) -> None:
    """A closing member's words go with their personal data (inside the closure).

    The other member keeps the thread, with each of those messages shown as removed.
    """
    await Message.update({Message.body: ERASED_BODY}).where(Message.author == member_id).run()


async def safety_erase_for_closure(
    *, engine: Engine[Any], ledger: Any, principal: Principal
) -> None:
    """The closure step (service/members/closure_steps.py): messages and blocks go."""
    del engine, ledger
    await messages_erase(principal.member_id)
    await blocks_erase(principal.member_id)

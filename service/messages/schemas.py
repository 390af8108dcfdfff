"""The conversations API's bodies. Nobody's email or phone is ever in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import msgspec
from msgspec import Meta

from service.limits import MESSAGE_BODY_CHARS_MAX

if TYPE_CHECKING:
    from collections.abc import Iterable

    from service.messages.selectors import MessageItem

Body = Annotated[str, Meta(min_length=1, max_length=MESSAGE_BODY_CHARS_MAX)]


class ConversationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    member_id: uuid.UUID
    body: Body
    listing_id: uuid.UUID | None = None
    exchange_id: uuid.UUID | None = None


class MessageIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    body: Body


class CreatedOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID


class ConversationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    other_member_id: uuid.UUID
    other_name: str
    listing_id: uuid.UUID | None
    exchange_id: uuid.UUID | None
    last_message_at: datetime
    unread_count: int


class ConversationPage(msgspec.Struct, kw_only=True):
    items: list[ConversationOut]
    unread_count: int


class MessageOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    author_id: uuid.UUID
    author_name: str
    body: str
    sent_at: datetime
    mine: bool


def messages_out(items: Iterable[MessageItem], *, reader_id: uuid.UUID | None) -> list[MessageOut]:
    """Messages as the API shows them; `mine` for the reader's own (None: a coordinator
    reading a conversation attached to a concern, whose messages are never theirs)."""
    return [
        MessageOut(
            id=item.id,
            author_id=item.author_id,
            author_name=item.author_name,
            body=item.body,
            sent_at=item.sent_at,
            mine=item.author_id == reader_id,
        )
        for item in items
    ]


class MessagePage(msgspec.Struct, kw_only=True):
    conversation_id: uuid.UUID
    other_member_id: uuid.UUID
    other_name: str
    items: list[MessageOut]

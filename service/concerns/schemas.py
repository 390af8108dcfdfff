"""The concerns API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.limits import CONCERN_OUTCOME_CHARS_MAX, CONCERN_TEXT_CHARS_MAX
from service.messages.schemas import MessageOut


class ConcernIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=CONCERN_TEXT_CHARS_MAX)]
    about_member_id: uuid.UUID | None = None
    listing_id: uuid.UUID | None = None
    exchange_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None


class CloseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    outcome: Annotated[str, Meta(min_length=1, max_length=CONCERN_OUTCOME_CHARS_MAX)]


class ConcernOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: Literal["open", "closed"]
    text: str
    about_member_id: uuid.UUID | None
    listing_id: uuid.UUID | None
    exchange_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    outcome: str | None
    created_at: datetime
    closed_at: datetime | None


class CoordinatorConcernOut(ConcernOut, kw_only=True):
    community_id: uuid.UUID
    reporter_id: uuid.UUID
    reporter_name: str
    about_name: str | None
    about_status: str | None = None
    listing_title: str | None = None
    exchange_description: str | None = None
    # The attached conversation: readable here by the coordinators, and nowhere else.
    messages: list[MessageOut] = msgspec.field(default_factory=list)


class ConcernPage(msgspec.Struct, kw_only=True):
    items: list[ConcernOut]


class CoordinatorConcernPage(msgspec.Struct, kw_only=True):
    items: list[CoordinatorConcernOut]

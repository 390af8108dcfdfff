"""Shapes of the mail API: preferences and the admin's view of the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

EmailFrequencyField = Literal["immediate", "daily", "weekly", "off"]


class NotificationsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: EmailFrequencyField


class NotificationsOut(msgspec.Struct, kw_only=True):
    email: EmailFrequencyField


class OutboxItemOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    to_address: str
    kind: str
    status: Literal["queued", "sent", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxOut(msgspec.Struct, kw_only=True):
    items: list[OutboxItemOut]


class EventNoticeOut(msgspec.Struct, kw_only=True):
    """A mailed event, as an in-app notice: the mail's subject, first sentence and link."""

    id: uuid.UUID
    kind: str
    subject: str
    text: str
    link: str
    at: datetime

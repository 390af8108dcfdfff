"""Request and response shapes of the disputes API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.limits import (
    DISPUTE_NOTE_CHARS_MAX,
    DISPUTE_REASON_CHARS_MAX,
    DISPUTE_STATEMENT_CHARS_MAX,
    EXCHANGE_MINUTES_MAX,
    EXCHANGE_RECIPIENTS_MAX,
)

Outcome = Literal["upheld", "reversed", "adjusted"]
DisputeStatus = Literal["open", "resolved"]
Minutes = Annotated[int, Meta(ge=1, le=EXCHANGE_MINUTES_MAX)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know (quality.md)."""


class DisputeIn(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=DISPUTE_REASON_CHARS_MAX)]


class StatementIn(Strict):
    body: Annotated[str, Meta(min_length=1, max_length=DISPUTE_STATEMENT_CHARS_MAX)]


class RecipientOutcome(Strict):
    """One recipient's outcome in a group exchange, where it differs from the general one."""

    recipient_id: uuid.UUID
    outcome: Outcome
    minutes: Minutes | None = None


class ResolveIn(Strict):
    """`minutes` only with `adjusted`; `confirm_override` lets a floor be crossed."""

    outcome: Outcome
    note: Annotated[str, Meta(min_length=1, max_length=DISPUTE_NOTE_CHARS_MAX)]
    minutes: Minutes | None = None
    recipients: (
        Annotated[list[RecipientOutcome], Meta(max_length=EXCHANGE_RECIPIENTS_MAX)] | None
    ) = None
    confirm_override: bool = False


class StatementOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    author_id: uuid.UUID
    author_name: str
    body: str
    at: datetime


class CorrectionOut(msgspec.Struct, kw_only=True):
    recipient_id: uuid.UUID
    recipient_name: str
    outcome: Outcome
    minutes: int
    original_transfer_id: uuid.UUID
    reversal_transfer_id: uuid.UUID | None
    below_floor_minutes: int


class DisputeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    exchange_id: uuid.UUID
    community_id: uuid.UUID
    status: DisputeStatus
    opened_by_id: uuid.UUID
    opened_by_name: str
    reason: str
    opened_at: datetime
    exchange_completed_at: datetime
    outcome: Outcome | None
    resolution_note: str | None
    resolved_by_id: uuid.UUID | None
    resolved_at: datetime | None
    statements: list[StatementOut]
    corrections: list[CorrectionOut]


class DisputeSummaryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    exchange_id: uuid.UUID
    status: DisputeStatus
    outcome: Outcome | None
    opened_by_name: str
    reason: str
    opened_at: datetime
    resolved_at: datetime | None
    minutes: int
    description: str


class DisputePage(msgspec.Struct, kw_only=True):
    items: list[DisputeSummaryOut]
    next_cursor: str | None

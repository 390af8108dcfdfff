"""Request and response shapes of the exchanges API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.limits import (
    EXCHANGE_DESCRIPTION_CHARS_MAX,
    EXCHANGE_MINUTES_MAX,
    EXCHANGE_RECIPIENTS_MAX,
)
from service.mail.schemas import EventNoticeOut

ExchangeStatus = Literal["proposed", "accepted", "completed", "cancelled", "expired"]
EXCHANGE_STATUSES: tuple[ExchangeStatus, ...] = (
    "proposed",
    "accepted",
    "completed",
    "cancelled",
    "expired",
)

ExchangeMinutes = Annotated[int, Meta(ge=1, le=EXCHANGE_MINUTES_MAX)]
ServiceDate = Annotated[datetime, Meta(tz=True)]  # RFC 3339 with an offset
Description = Annotated[str, Meta(min_length=1, max_length=EXCHANGE_DESCRIPTION_CHARS_MAX)]
RecipientIds = Annotated[list[uuid.UUID], Meta(min_length=1, max_length=EXCHANGE_RECIPIENTS_MAX)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know (quality.md)."""


class ExchangeIn(Strict):
    """A proposal: give exactly one of `recipient_ids` (a group) or `recipient_id`."""

    provider_id: uuid.UUID
    minutes: ExchangeMinutes
    service_date: ServiceDate
    description: Description
    recipient_ids: RecipientIds | None = None
    recipient_id: uuid.UUID | None = None
    listing_id: uuid.UUID | None = None
    # Help given in the member's home; also set when the listing says so (ADR 0035).
    in_home: bool = False


class RecordIn(Strict):
    """A coordinator records an exchange that already happened (by phone, on paper)."""

    provider_id: uuid.UUID
    recipient_id: uuid.UUID
    minutes: ExchangeMinutes
    service_date: ServiceDate
    description: Description


class PartyOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    # Has this party agreed to the exchange (the proposer agrees by proposing)?
    accepted: bool


class RecipientOut(PartyOut, kw_only=True):
    pending_transfer_id: uuid.UUID | None
    transfer_id: uuid.UUID | None


class EventOut(msgspec.Struct, kw_only=True):
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    note: str
    # The coordinator who did it for the actor (ADR 0031); null when the actor did.
    recorded_by_id: uuid.UUID | None = None
    recorded_by_name: str | None = None


class ExchangeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: ExchangeStatus
    community_id: uuid.UUID
    provider: PartyOut
    recipients: list[RecipientOut]
    proposer_id: uuid.UUID
    minutes: int
    service_date: datetime
    description: str
    listing_id: uuid.UUID | None
    hold_expires_at: datetime | None
    recorded_by_id: uuid.UUID | None
    # The provider marked it done: unless a recipient confirms or cancels first, it
    # confirms by itself at `autoconfirm_at` (always before the hold expires).
    marked_done_at: datetime | None = None
    autoconfirm_at: datetime | None = None
    # Help given in the member's home (a safeguarding check may be needed, ADR 0035).
    in_home: bool = False
    # Parties whose acceptance is still needed (empty unless proposed).
    awaiting_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class ExchangeDetailOut(ExchangeOut, kw_only=True):
    history: list[EventOut]


class ExchangePage(msgspec.Struct, kw_only=True):
    items: list[ExchangeOut]
    next_cursor: str | None


NoticeKind = Literal["exchange_to_accept", "exchange_to_confirm"]


class NoticeOut(msgspec.Struct, kw_only=True):
    kind: NoticeKind
    exchange_id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    minutes: int
    service_date: datetime
    description: str
    since: datetime
    # Set when the provider has marked the help done (a notice to confirm).
    marked_done_at: datetime | None = None
    autoconfirm_at: datetime | None = None


DisputeNoticeKind = Literal["dispute_awaiting_account", "dispute_resolved"]
DisputeOutcome = Literal["upheld", "reversed", "adjusted"]


class DisputeNoticeOut(msgspec.Struct, kw_only=True):
    """A dispute about one of the member's exchanges: theirs to answer, or decided."""

    kind: DisputeNoticeKind
    dispute_id: uuid.UUID
    exchange_id: uuid.UUID
    description: str  # the exchange's
    outcome: DisputeOutcome | None  # None while open
    since: datetime  # opened (awaiting their account) or resolved


class MembershipNoticeOut(msgspec.Struct, kw_only=True):
    status: Literal["declined"]
    reason: str


class NoticesOut(msgspec.Struct, kw_only=True):
    count: int  # exchanges waiting for the member (`items` lists at most NOTICES_MAX)
    items: list[NoticeOut]
    # Open disputes awaiting the member's account: the rest of the navigation's count.
    disputes_count: int
    disputes: list[DisputeNoticeOut]
    # Every event the member was mailed about (or would have been), newest first.
    events: list[EventNoticeOut] = msgspec.field(default_factory=list)
    # Set when a coordinator declined the member's application (with their reason).
    membership: MembershipNoticeOut | None = None

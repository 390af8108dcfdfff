"""Request and response shapes of the events API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from service.i18n import N_
from service.limits import (
    CATEGORY_SLUG_CHARS_MAX,
    EVENT_ACCESS_NOTES_CHARS_MAX,
    EVENT_ATTENDEES_MAX,
    EVENT_CAPACITY_MAX,
    EVENT_DESCRIPTION_CHARS_MAX,
    EVENT_HOST_MINUTES_MAX,
    EVENT_HOSTS_MAX,
    EVENT_PLACE_CHARS_MAX,
    EVENT_SERIES_OCCURRENCES_MAX,
    EVENT_TITLE_CHARS_MAX,
)
from service.members.schemas import LINE_PATTERN, NAME_PATTERN, TEXT_PATTERN, Slug

Repeat = Literal["none", "weekly", "fortnightly", "monthly"]
REPEAT_WORDS: dict[str, str] = {
    "none": N_("Once"),
    "weekly": N_("Every week"),
    "fortnightly": N_("Every two weeks"),
    "monthly": N_("Every month"),
}
Title = Annotated[str, Meta(min_length=1, max_length=EVENT_TITLE_CHARS_MAX, pattern=NAME_PATTERN)]
Description = Annotated[str, Meta(max_length=EVENT_DESCRIPTION_CHARS_MAX, pattern=TEXT_PATTERN)]
Place = Annotated[str, Meta(min_length=1, max_length=EVENT_PLACE_CHARS_MAX, pattern=NAME_PATTERN)]
AccessNotes = Annotated[str, Meta(max_length=EVENT_ACCESS_NOTES_CHARS_MAX, pattern=TEXT_PATTERN)]
CategorySlug = Annotated[str, Meta(max_length=CATEGORY_SLUG_CHARS_MAX, pattern=LINE_PATTERN)]
Capacity = Annotated[int, Meta(ge=1, le=EVENT_CAPACITY_MAX)]
HostMinutes = Annotated[int, Meta(ge=0, le=EVENT_HOST_MINUTES_MAX)]
Occurrences = Annotated[int, Meta(ge=1, le=EVENT_SERIES_OCCURRENCES_MAX)]
# An instant with its offset: a meeting's time never depends on the server's zone.
Instant = Annotated[datetime, Meta(tz=True)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know (quality.md)."""


class EventIn(Strict, kw_only=True):
    community: Slug
    title: Title
    description: Description = ""
    category: CategorySlug | None = None
    starts_at: Instant
    ends_at: Instant
    place: Place
    step_free: bool = False
    hearing_loop: bool = False
    access_notes: AccessNotes = ""
    capacity: Capacity | None = None
    host_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=EVENT_HOSTS_MAX)]
    host_minutes: HostMinutes
    repeat: Repeat = "none"
    # How many meetings a repeating series has (made up front); 1 for a one-off.
    occurrences: Occurrences | None = None


class OccurrenceChangeIn(Strict):
    """One meeting moved or held elsewhere; the rest of its series stays as it is."""

    starts_at: Instant | UnsetType = UNSET
    ends_at: Instant | UnsetType = UNSET
    place: Place | UnsetType = UNSET


class RsvpIn(Strict):
    # When the event is full: join its waiting list instead of being refused.
    wait: bool = False


class AttendanceIn(Strict):
    attended_ids: Annotated[list[uuid.UUID], Meta(max_length=EVENT_ATTENDEES_MAX)]


class MayHostIn(Strict):
    may_host: bool


class HostOut(msgspec.Struct, kw_only=True):
    member_id: uuid.UUID
    display_name: str


class EventOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    series_id: uuid.UUID
    community: str
    community_name: str
    title: str
    description: str
    category: str | None
    starts_at: datetime
    ends_at: datetime
    place: str
    step_free: bool
    hearing_loop: bool
    access_notes: str
    capacity: int | None
    hosts: list[HostOut]
    host_ids: list[uuid.UUID]
    host_minutes: int
    repeat: str
    position: int
    occurrences: int
    cancelled: bool
    attending_count: int
    waiting_count: int
    places_left: int | None
    going: bool
    waiting: bool
    register_taken: bool


class RsvpOut(msgspec.Struct, kw_only=True):
    event_id: uuid.UUID
    going: bool
    waiting: bool
    attending_count: int


class HostCreditOut(msgspec.Struct, kw_only=True):
    member_id: uuid.UUID
    minutes: int
    transfer_id: uuid.UUID


class AttendanceOut(msgspec.Struct, kw_only=True):
    event_id: uuid.UUID
    attended_ids: list[uuid.UUID]
    hosts_credited: list[HostCreditOut]
    credited_at: datetime | None


class MayHostOut(msgspec.Struct, kw_only=True):
    member_id: uuid.UUID
    may_host: bool


class MemberEventOut(msgspec.Struct, kw_only=True):
    """One meeting in a member's export: their RSVP and whether the register has them."""

    event_id: uuid.UUID
    title: str
    starts_at: datetime
    going: bool
    waiting: bool
    attended: bool

"""Shapes of the directory, profiles and thanks (msgspec). None of them has a field for
an email address or a phone number, on purpose: a test walks every payload for those
keys (tests/neighbours/test_directory_api.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from service.limits import (
    DIRECTORY_PAGES_MAX,
    SEARCH_TEXT_CHARS_MAX,
    THANKS_CHARS_MAX,
    WARD_CHARS_MAX,
)
from service.listings.schemas import SINGLE_LINE_PATTERN

# One line or a few, no control characters but newlines.
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ThanksText = Annotated[
    str, Meta(min_length=1, max_length=THANKS_CHARS_MAX, pattern=MULTI_LINE_PATTERN)
]


# The directory's filters, the same for its page and its API.
SearchQuery = Annotated[
    str, QueryParameter(max_length=SEARCH_TEXT_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)
]
WardQuery = Annotated[str, QueryParameter(max_length=WARD_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)]
DirectoryPageQuery = Annotated[int, QueryParameter(ge=1, le=DIRECTORY_PAGES_MAX)]


class ThanksIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: ThanksText
    # Only for a group exchange's helper, who thanks one of the people they helped.
    to_member_id: uuid.UUID | None = None


class ThanksOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    exchange_id: uuid.UUID
    author_id: uuid.UUID
    author_name: str
    receiver_id: uuid.UUID
    text: str
    created_at: datetime
    # Hidden by the receiver: only they still see it on their profile.
    hidden: bool


class NeighbourOut(msgspec.Struct, kw_only=True):
    """One member in the directory: what neighbours need to find each other, no contacts."""

    id: uuid.UUID
    display_name: str
    ward: str
    community: str
    skills: str
    help_wanted: str


class DirectoryPageOut(msgspec.Struct, kw_only=True):
    items: list[NeighbourOut]
    page: int
    next_page: int | None


class ProfileOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    ward: str
    community: str
    skills: str
    help_wanted: str
    member_since: datetime
    exchanges_completed: int
    thanks_received: list[ThanksOut]

"""Request and response shapes of the listings API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.limits import (
    CATEGORY_SLUG_CHARS_MAX,
    LISTING_AVAILABILITY_CHARS_MAX,
    LISTING_DESCRIPTION_CHARS_MAX,
    LISTING_TITLE_CHARS_MAX,
    WARD_CHARS_MAX,
)

# No control characters: PostgreSQL refuses NUL in text, and nobody types the
# others. Multi-line text keeps tab, newline and carriage return.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
CATEGORY_SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

ListingKind = Literal["offer", "request"]
ListingStatus = Literal["open", "withdrawn"]

Title = Annotated[
    str, Meta(min_length=1, max_length=LISTING_TITLE_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)
]
Description = Annotated[
    str,
    Meta(min_length=1, max_length=LISTING_DESCRIPTION_CHARS_MAX, pattern=MULTI_LINE_PATTERN),
]
CategorySlug = Annotated[
    str, Meta(min_length=1, max_length=CATEGORY_SLUG_CHARS_MAX, pattern=CATEGORY_SLUG_PATTERN)
]
ListingWard = Annotated[str, Meta(max_length=WARD_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)]
Availability = Annotated[
    str, Meta(max_length=LISTING_AVAILABILITY_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)
]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know (quality.md)."""


class ListingIn(Strict):
    kind: ListingKind
    title: Title
    description: Description
    category: CategorySlug
    # Omitted: the member's own ward.
    ward: ListingWard | None = None
    availability: Availability = ""
    # "This says something personal about me": the description is then shown only
    # to approved members of the same community and its coordinators (ADR 0020).
    sensitive: bool = False
    # Help given in the member's home: may need a safeguarding check (ADR 0035).
    in_home: bool = False


class ListingPatch(Strict):
    """Only the fields sent change; null means "leave as it is"."""

    kind: ListingKind | None = None
    title: Title | None = None
    description: Description | None = None
    category: CategorySlug | None = None
    ward: ListingWard | None = None
    availability: Availability | None = None
    sensitive: bool | None = None
    in_home: bool | None = None


class CategoryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str


class OwnerOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str


ListingDetail = Literal["full", "summary"]


class ListingOut(msgspec.Struct, kw_only=True):
    """One listing as the caller may see it (ADR 0020).

    `detail` is "full" or "summary". A summary (pending members, members of
    other communities) carries titles and categories only: `description`,
    `ward`, `availability`, `owner` and `sensitive` are null.
    """

    id: uuid.UUID
    kind: ListingKind
    title: str
    description: str | None
    category: CategoryOut
    ward: str | None
    availability: str | None
    community: str
    owner: OwnerOut | None
    sensitive: bool | None
    detail: ListingDetail
    status: ListingStatus
    created_at: datetime
    updated_at: datetime
    in_home: bool = False
    # Out of search while paused by its member or past `expires_at` (until renewed).
    paused: bool = False
    expires_at: datetime | None = None
    expired: bool = False


class ListingPage(msgspec.Struct, kw_only=True):
    items: list[ListingOut]
    next_cursor: str | None

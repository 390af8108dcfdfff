"""Request and response shapes of the members API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from service.limits import (
    BIRTH_YEAR_MIN,
    COMMUNITY_NAME_CHARS_MAX,
    DISPLAY_NAME_CHARS_MAX,
    EMAIL_CHARS_MAX,
    EXCHANGE_AUTOCONFIRM_DAYS_MAX,
    EXCHANGE_AUTOCONFIRM_DAYS_MIN,
    LISTING_DAYS_DEFAULT,
    LISTING_DAYS_MAX,
    LISTING_DAYS_MIN,
    PASSWORD_CHARS_MAX,
    PASSWORD_CHARS_MIN,
    PHONE_CHARS_MAX,
    REASON_CHARS_MAX,
    SKILLS_CHARS_MAX,
    SLUG_CHARS_MAX,
    WARD_CHARS_MAX,
)

BIRTH_YEAR_MAX = 2100  # the database CHECK; "not in the future" is checked in services

# No control characters in one-line text (PostgreSQL cannot even store NUL: it
# answered 500), and a name must have something besides spaces (it is stripped).
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# Free text may hold line breaks and tabs, nothing else below space.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=EMAIL_CHARS_MAX,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
    ),
]
Password = Annotated[str, Meta(min_length=PASSWORD_CHARS_MIN, max_length=PASSWORD_CHARS_MAX)]
DisplayName = Annotated[
    str, Meta(min_length=1, max_length=DISPLAY_NAME_CHARS_MAX, pattern=NAME_PATTERN)
]
Ward = Annotated[str, Meta(max_length=WARD_CHARS_MAX, pattern=LINE_PATTERN)]
BirthYear = Annotated[int, Meta(ge=BIRTH_YEAR_MIN, le=BIRTH_YEAR_MAX)]
Skills = Annotated[str, Meta(max_length=SKILLS_CHARS_MAX, pattern=TEXT_PATTERN)]
# Digits with the usual separators, as people write numbers down: "01632 960 123", "+44 ...".
Phone = Annotated[str, Meta(max_length=PHONE_CHARS_MAX, pattern=r"^[0-9+() .\-]*$")]
Reason = Annotated[str, Meta(min_length=1, max_length=REASON_CHARS_MAX, pattern=TEXT_PATTERN)]
PlaceName = Annotated[
    str, Meta(min_length=1, max_length=COMMUNITY_NAME_CHARS_MAX, pattern=NAME_PATTERN)
]
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[str, Meta(min_length=2, max_length=SLUG_CHARS_MAX, pattern=SLUG_PATTERN)]
Minutes = Annotated[int, Meta(ge=-60_000, le=600_000)]

Role = Literal["coordinator", "council", "admin"]
MemberStatus = Literal["pending", "active", "suspended", "closed", "declined"]
# The languages of pages and mail (service/i18n, ADR 0048).
Language = Literal["en", "cy"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know (quality.md)."""


class RegisterIn(Strict):
    email: Email
    password: Password
    display_name: DisplayName
    community: Slug
    ward: Ward = ""
    birth_year: BirthYear | None = None
    consent: bool = True


class OfflineMemberIn(Strict):
    """A member a coordinator adds for someone who is not online (no login)."""

    display_name: DisplayName
    community: Slug
    phone: Phone = ""
    email: Email | None = None
    ward: Ward = ""
    birth_year: BirthYear | None = None
    skills: Skills = ""


class ConsentIn(Strict):
    coordinator_may_act: bool


class ConsentOut(msgspec.Struct, kw_only=True):
    coordinator_may_act: bool
    # When the member said yes (null when they have not).
    coordinator_may_act_since: datetime | None


class TokenIn(Strict):
    email: Annotated[str, Meta(max_length=EMAIL_CHARS_MAX, pattern=LINE_PATTERN)]
    password: Annotated[str, Meta(max_length=PASSWORD_CHARS_MAX)]


class TokenOut(msgspec.Struct, kw_only=True):
    token: str
    expires_at: datetime
    member_id: uuid.UUID


class ProfilePatch(Strict):
    """Fields left out (or null) stay as they are; `birth_year: null` removes the year.

    Only the birth year is optional on the member, so only it tells "left out"
    (UNSET) from an explicit null; the name is required and ward and skills
    are emptied with "".
    """

    display_name: DisplayName | None = None
    ward: Ward | None = None
    phone: Phone | None = None
    skills: Skills | None = None
    # What they would like help with, on their profile (issue 18).
    help_wanted: Skills | None = None
    birth_year: BirthYear | msgspec.UnsetType | None = msgspec.UNSET
    # Pages and mail in this language from now on, on every device (ADR 0048).
    language: Language | None = None


class RoleOut(msgspec.Struct, kw_only=True):
    role: Role
    community: str | None = None
    area: str | None = None


class CommunityOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    slug: str
    area: str
    requires_approval: bool
    welcome_credit_minutes: int
    visitors_see_descriptions: bool = False
    autoconfirm_days: int | None = None
    listing_days: int = LISTING_DAYS_DEFAULT
    home_check_required: bool = False


class MemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    display_name: str
    community: str
    ward: str
    birth_year: int | None
    skills: str
    status: MemberStatus
    roles: list[RoleOut]
    created_at: datetime
    # A login is a password (ADR 0030); members a coordinator added have none.
    has_login: bool = True
    phone: str = ""
    coordinator_may_act: bool = False
    help_wanted: str = ""
    # The language they chose; null: not chosen, the browser's decides (ADR 0048).
    language: Language | None = None


class PublicMemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    ward: str
    skills: str
    community: str


class AccountOut(msgspec.Struct, kw_only=True):
    unit: Literal["HOUR"]
    balance_minutes: int
    pending_minutes: int
    available_minutes: int
    floor_minutes: int | None
    ceiling_minutes: int | None
    # How far below its agreed floor a dispute correction left the account (0 if not).
    below_floor_minutes: int = 0


class AreaIn(Strict):
    name: PlaceName
    slug: Slug


class AreaOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    slug: str


class CommunityIn(Strict):
    name: PlaceName
    slug: Slug
    area: Slug
    requires_approval: bool = False
    welcome_credit_minutes: Annotated[int, Meta(ge=0, le=6000)] = 120
    member_floor_minutes: Annotated[int, Meta(ge=-60_000, le=0)] = -600
    member_ceiling_minutes: Annotated[int, Meta(ge=0, le=600_000)] | None = None
    dispute_window_days: Annotated[int, Meta(ge=1, le=365)] = 30
    small_cell_k: Annotated[int, Meta(ge=2, le=100)] = 5
    # Members of other communities read listing descriptions not marked sensitive.
    visitors_see_descriptions: bool = False
    # Days after "marked done" before an exchange confirms by itself (None: the
    # installation's EXCHANGE_AUTOCONFIRM_DAYS).
    autoconfirm_days: (
        Annotated[int, Meta(ge=EXCHANGE_AUTOCONFIRM_DAYS_MIN, le=EXCHANGE_AUTOCONFIRM_DAYS_MAX)]
        | None
    ) = None
    # Days a listing stays up before it must be renewed (issue 18).
    listing_days: Annotated[int, Meta(ge=LISTING_DAYS_MIN, le=LISTING_DAYS_MAX)] = (
        LISTING_DAYS_DEFAULT
    )
    # Help in someone's home needs the helper's valid safeguarding check (ADR 0035).
    home_check_required: bool = False


AutoconfirmDays = Annotated[
    int, Meta(ge=EXCHANGE_AUTOCONFIRM_DAYS_MIN, le=EXCHANGE_AUTOCONFIRM_DAYS_MAX)
]


ListingDays = Annotated[int, Meta(ge=LISTING_DAYS_MIN, le=LISTING_DAYS_MAX)]


class CommunitySettingsIn(Strict):
    """What a community's coordinators may change after it is set up; each field is
    optional and only those sent change. Limits on accounts and the council figures'
    threshold stay with the admin's console (they move money rules and privacy)."""

    name: PlaceName | UnsetType = UNSET
    requires_approval: bool | UnsetType = UNSET
    welcome_credit_minutes: Annotated[int, Meta(ge=0, le=6000)] | UnsetType = UNSET
    visitors_see_descriptions: bool | UnsetType = UNSET
    # null: back to the installation's EXCHANGE_AUTOCONFIRM_DAYS.
    autoconfirm_days: (
        Annotated[int, Meta(ge=EXCHANGE_AUTOCONFIRM_DAYS_MIN, le=EXCHANGE_AUTOCONFIRM_DAYS_MAX)]
        | UnsetType
        | None
    ) = UNSET
    listing_days: Annotated[int, Meta(ge=LISTING_DAYS_MIN, le=LISTING_DAYS_MAX)] | UnsetType = UNSET
    home_check_required: bool | UnsetType = UNSET


class RoleChangeIn(Strict):
    action: Literal["grant", "revoke"]
    role: Role
    reason: Reason
    community: Slug | None = None
    area: Slug | None = None


class DeclineIn(Strict):
    reason: Reason


class PendingMemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    ward: str
    created_at: datetime


class Page(msgspec.Struct, kw_only=True):
    items: list[PendingMemberOut]
    next_cursor: str | None

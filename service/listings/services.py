"""Listings: offers and requests. Service functions (writes) and selectors (reads).

Controllers and pages call these and nothing else. Every member who is signed
in may find open listings of every community (exchanges between communities
are allowed), but sees the description, ward and name only as
service/market/listing_privacy.py allows (ADR 0020); only the member who
published a listing may change or withdraw it, and only while their
membership is active. Listings of members who are
suspended or have closed their account drop out of every list.

Text search is engine-native (the index lives in migrations/market/):
PostgreSQL matches `websearch_to_tsquery('english', text)` against a stored,
weighted tsvector and ranks with `ts_rank` (a title match outranks a
description match: weight A against B). SQLite matches an FTS5 table and ranks
with `bm25`, weighting the title ten times the description. Members' text never
reaches FTS5 as query syntax: it is cut into words, English stop words are
dropped (as PostgreSQL's `english` configuration does), and each word is sent as
a double-quoted string, so `"`, `*`, `NEAR(` or `OR` can never be a syntax error.

Lists page by an opaque cursor: a (created_at, id) keyset when browsing newest
first, an offset when ranked by a text search.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.blocks.selectors import hidden_members_sql
from service.database import is_postgres
from service.errors import Conflict, DomainError, Unreadable, invalid_field
from service.i18n import N_, _
from service.limits import (
    CURSOR_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SEARCH_OFFSET_MAX,
    SEARCH_TERMS_MAX,
    SEARCH_TEXT_CHARS_MAX,
)
from service.listings.expiry import community_listing_days
from service.listings.privacy import (
    full_view_sql,
    refuse_exact_addresses,
    sees_everything,
)
from service.listings.schemas import (
    CategoryOut,
    ListingIn,
    ListingKind,
    ListingOut,
    ListingPage,
    ListingPatch,
    OwnerOut,
)
from service.listings.tables import Category, Listing
from service.members.tables import Community, Member
from service.principal import Principal, forbidden, not_found, require_active

# SQLite's FTS5 column weights for bm25(): title, description.
FTS5_TITLE_WEIGHT = 10.0
FTS5_DESCRIPTION_WEIGHT = 1.0

# PostgreSQL's `english` stop words (Snowball's list), dropped on SQLite too so
# that "a lift to the hospital" means the same on both engines.
_STOP_WORDS_TEXT = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for
    with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too
    very s t can will just don should now
"""
ENGLISH_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORD = re.compile(r"\w+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ListingFilters:
    """What a member browses by; None (or blank text) means "any"."""

    kind: ListingKind | None = None
    category: str | None = None
    ward: str | None = None
    community: str | None = None
    text: str | None = None


# Errors ----------------------------------------------------------------------------


def _invalid_cursor() -> DomainError:
    return Unreadable(
        code="invalid_cursor",
        detail=_("The cursor is not valid for this list. Start again from the first page."),
        extra={"errors": [{"field": "cursor", "source": "query", "message": _("is not valid")}]},
    )


# Categories ------------------------------------------------------------------------


async def categories_list() -> list[Category]:
    """Active categories, in their display order."""
    return (
        await Category.objects()
        .where(Category.active == True)  # noqa: E712 - Piccolo builds SQL from ==
        .order_by(Category.position)
        .run()
    )


async def _category_by_slug(slug: str, *, field: str = "category", source: str = "body") -> Any:
    category = (
        await Category.objects()
        .where((Category.slug == slug) & (Category.active == True))  # noqa: E712
        .first()
        .run()
    )
    if category is None:
        raise invalid_field(field, "there is no category with that name", source=source)
    return category


# Reading listings ------------------------------------------------------------------

_SELECT = """
SELECT l.id, l.kind, l.title, l.description, l.ward, l.availability, l.status,
       l.created_at, l.updated_at, l.sensitive, l.community AS community_id,
       co.visitors_see_descriptions,
       l.member AS owner_id, m.display_name AS owner_name, m.status AS owner_status,
       l.category AS category_id, c.slug AS category_slug, c.name AS category_name,
       co.slug AS community_slug, l.in_home, l.paused_at, l.expires_at
"""
_JOINS = """
JOIN market_category c ON c.id = l.category
JOIN member_community co ON co.id = l.community
JOIN member_member m ON m.id = l.member
"""


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def listing_out(row: dict[str, Any], actor: Principal) -> ListingOut:
    """The listing as `actor` may see it: in full, or titles and categories only."""
    listing = ListingOut(
        id=_uuid(row["id"]),
        kind=row["kind"],
        title=row["title"],
        description=None,
        category=CategoryOut(
            id=_uuid(row["category_id"]), slug=row["category_slug"], name=row["category_name"]
        ),
        ward=None,
        availability=None,
        community=row["community_slug"],
        owner=None,
        sensitive=None,
        detail="summary",
        status=row["status"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
        in_home=bool(row["in_home"]),
        paused=row["paused_at"] is not None,
        expires_at=_aware(row["expires_at"]) if row["expires_at"] is not None else None,
        expired=_is_expired(row),
    )
    if not sees_everything(row, actor):
        return listing
    return msgspec.structs.replace(
        listing,
        description=row["description"],
        ward=row["ward"],
        availability=row["availability"],
        owner=OwnerOut(id=_uuid(row["owner_id"]), display_name=row["owner_name"]),
        sensitive=bool(row["sensitive"]),
        detail="full",
    )


async def _listing_row(listing_id: uuid.UUID) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = await Listing.raw(
        f"{_SELECT} FROM market_listing l {_JOINS} WHERE l.id = {{}}", listing_id
    ).run()
    return rows[0] if rows else None


def _is_expired(row: Mapping[str, Any]) -> bool:
    return row["expires_at"] is not None and _aware(row["expires_at"]) <= clock.utc_now()


def paused_or_expired(row: Mapping[str, Any]) -> bool:
    """Out of search by its member's pause or its date (needs `paused_at`, `expires_at`)."""
    return row["paused_at"] is not None or _is_expired(row)


def _findable(row: dict[str, Any]) -> bool:
    """Open, not paused, not expired: what search finds (the SQL in `_add_filters`)."""
    return bool(
        row["status"] == "open"
        and row["owner_status"] == "active"
        and row["paused_at"] is None
        and not _is_expired(row)
    )


def _visible_to(row: dict[str, Any], actor: Principal) -> bool:
    """Findable listings are public to members; the rest to the owner (and admins)."""
    if _uuid(row["owner_id"]) == actor.member_id or actor.is_admin:
        return True
    return _findable(row)


async def _visible_row(actor: Principal, listing_id: uuid.UUID) -> dict[str, Any]:
    row = await _listing_row(listing_id)
    if row is None or not _visible_to(row, actor):
        raise not_found("That listing")
    return row


async def listing_visible(actor: Principal, listing_id: uuid.UUID) -> None:
    """404 unless the actor may see the listing (the access guard asks before the body)."""
    await _visible_row(actor, listing_id)


async def listing_by_id(*, actor: Principal, listing_id: uuid.UUID) -> ListingOut:
    return listing_out(await _visible_row(actor, listing_id), actor)


async def listings_of_member(*, actor: Principal, limit: int) -> list[ListingOut]:
    """The actor's own listings, open and withdrawn, newest first (their data export)."""
    rows: list[dict[str, Any]] = await Listing.raw(
        f"{_SELECT} FROM market_listing l {_JOINS} WHERE l.member = {{}}"
        " ORDER BY l.created_at DESC, l.id DESC LIMIT {}",
        actor.member_id,
        limit,
    ).run()
    return [listing_out(row, actor) for row in rows]


def search_terms(text: str) -> list[str]:
    """The words of a member's search text that count: lower case, no stop words, no repeats."""
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in ENGLISH_STOP_WORDS and word not in terms:
            terms.append(word)
    return terms[:SEARCH_TERMS_MAX]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that can only mean "all of these words".

    Each word is a double-quoted FTS5 string (a `"` inside is doubled), so no
    operator, column filter, prefix star or NEAR group can come from the text.
    """
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _clean_text(text: str | None) -> str:
    if text is None:
        return ""
    return _CONTROL_CHARACTERS.sub(" ", text).strip()[:SEARCH_TEXT_CHARS_MAX]


class _AfterCursor(msgspec.Struct, tag="after", forbid_unknown_fields=True):
    """Browsing, newest first: the page starts after this listing."""

    created_at: datetime
    id: uuid.UUID


class _OffsetCursor(msgspec.Struct, tag="offset", forbid_unknown_fields=True):
    """Ranked search: the page starts at this position."""

    offset: Annotated[int, Meta(ge=0, le=SEARCH_OFFSET_MAX)]


_Cursor = _AfterCursor | _OffsetCursor


def _cursor_encode(cursor: _Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).rstrip(b"=").decode("ascii")


def _cursor_decode(raw: str) -> _Cursor:
    if len(raw) > CURSOR_CHARS_MAX:
        raise _invalid_cursor()
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        cursor: _Cursor = msgspec.json.decode(decoded, type=_Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _invalid_cursor() from None
    return cursor


class _Query:
    """A raw SQL statement built in order, with `{}` placeholders for Piccolo."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, sql: str, *args: Any) -> None:
        assert sql.count("{}") == len(args)  # noqa: S101 - a programmer error, not input
        self.parts.append(sql)
        self.args.extend(args)

    async def run(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await Listing.raw(" ".join(self.parts), *self.args).run()
        return rows


async def _add_filters(query: _Query, filters: ListingFilters, actor: Principal) -> None:
    query.add("WHERE l.status = 'open' AND m.status = 'active' AND l.paused_at IS NULL")
    # Expired listings leave search until their member renews them (issue 18).
    query.add("AND (l.expires_at IS NULL OR l.expires_at > {})", clock.utc_now())
    # A block hides each member's listings from the other (issue 18).
    hidden_sql, hidden_args = hidden_members_sql(actor.member_id, "l.member")
    query.add(f"AND {hidden_sql}", *hidden_args)
    if filters.kind is not None:
        query.add("AND l.kind = {}", filters.kind)
    if filters.category:
        category = await _category_by_slug(filters.category, source="query")
        query.add("AND l.category = {}", category.id)
    if filters.community:
        community = (
            await Community.select(Community.id)
            .where(Community.slug == filters.community)
            .first()
            .run()
        )
        if community is None:
            raise invalid_field(
                "community", _("there is no community with that name"), source="query"
            )
        query.add("AND l.community = {}", community["id"])
    ward = _clean_text(filters.ward)
    if ward:
        # Only listings whose ward the actor may see can be found by it (ADR 0020).
        full_sql, full_args = full_view_sql(actor)
        query.add(f"AND lower(l.ward) = lower({{}}) AND {full_sql}", ward, *full_args)


async def listings_search(
    *,
    actor: Principal,
    filters: ListingFilters,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
) -> ListingPage:
    """Open listings matching `filters`: ranked by the text if any, else newest first."""
    assert 1 <= limit <= PAGE_SIZE_MAX  # noqa: S101 - the controller bounds it
    text = _clean_text(filters.text)
    if text:
        return await _ranked_page(actor, filters, text, limit, cursor)
    return await _newest_page(actor, filters, limit, cursor)


async def _newest_page(
    actor: Principal, filters: ListingFilters, limit: int, cursor: str | None
) -> ListingPage:
    after = _cursor_decode(cursor) if cursor else None
    if after is not None and not isinstance(after, _AfterCursor):
        raise _invalid_cursor()
    query = _Query()
    query.add(f"{_SELECT} FROM market_listing l {_JOINS}")
    await _add_filters(query, filters, actor)
    if after is not None:
        query.add(
            "AND (l.created_at < {} OR (l.created_at = {} AND l.id < {}))",
            after.created_at,
            after.created_at,
            after.id,
        )
    query.add("ORDER BY l.created_at DESC, l.id DESC LIMIT {}", limit + 1)
    rows = await query.run()
    items = [listing_out(row, actor) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = _cursor_encode(_AfterCursor(created_at=last.created_at, id=last.id))
    return ListingPage(items=items, next_cursor=next_cursor)


async def _ranked_page(
    actor: Principal, filters: ListingFilters, text: str, limit: int, cursor: str | None
) -> ListingPage:
    start = _cursor_decode(cursor) if cursor else _OffsetCursor(offset=0)
    if not isinstance(start, _OffsetCursor):
        raise _invalid_cursor()
    terms = search_terms(text)
    if not terms:
        # Only stop words or punctuation: nothing can match (PostgreSQL agrees).
        return ListingPage(items=[], next_cursor=None)
    query = _Query()
    full_sql, full_args = full_view_sql(actor)
    if is_postgres(Listing._meta.db):  # noqa: SLF001 - the engine the tables are bound to
        query.add(
            f"{_SELECT} FROM market_listing l {_JOINS}"
            " CROSS JOIN websearch_to_tsquery('english', {}) AS query",
            text,
        )
        await _add_filters(query, filters, actor)
        query.add("AND l.search @@ query")
        # A listing seen in summary is found by its title only (ADR 0020).
        query.add(f"AND ({full_sql} OR to_tsvector('english', l.title) @@ query)", *full_args)
        query.add("ORDER BY ts_rank(l.search, query) DESC,")
    else:
        # The index is keyed on search_rowid, which VACUUM cannot renumber (ADR 0013).
        query.add(
            f"{_SELECT} FROM market_listing_fts"
            f" JOIN market_listing l ON l.search_rowid = market_listing_fts.rowid {_JOINS}"
        )
        await _add_filters(query, filters, actor)
        query.add("AND market_listing_fts MATCH {}", fts5_query(terms))
        query.add(
            f"AND ({full_sql} OR l.search_rowid IN (SELECT rowid FROM market_listing_fts"
            " WHERE market_listing_fts MATCH {}))",
            *full_args,
            "title : (" + fts5_query(terms) + ")",
        )
        query.add(
            f"ORDER BY bm25(market_listing_fts, {FTS5_TITLE_WEIGHT}, {FTS5_DESCRIPTION_WEIGHT}),"
        )
    query.add("l.created_at DESC, l.id DESC LIMIT {} OFFSET {}", limit + 1, start.offset)
    rows = await query.run()
    items = [listing_out(row, actor) for row in rows[:limit]]
    next_offset = start.offset + limit
    next_cursor = None
    if len(rows) > limit and next_offset <= SEARCH_OFFSET_MAX:
        next_cursor = _cursor_encode(_OffsetCursor(offset=next_offset))
    return ListingPage(items=items, next_cursor=next_cursor)


# Writing listings ------------------------------------------------------------------


def _required_text(field: str, value: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise invalid_field(field, "cannot be blank")
    return cleaned


async def listing_create(*, engine: Engine[Any], actor: Principal, data: ListingIn) -> ListingOut:
    """Publish an offer or a request in the member's own community."""
    require_active(actor)
    title = _required_text("title", data.title)
    description = _required_text("description", data.description)
    refuse_exact_addresses(
        {
            "title": title,
            "description": description,
            "ward": data.ward,
            "availability": data.availability,
        }
    )
    category = await _category_by_slug(data.category)
    ward = data.ward
    if ward is None:
        member = await Member.select(Member.ward).where(Member.id == actor.member_id).first().run()
        ward = member["ward"] if member else ""
    now = clock.utc_now()
    listing_days = await community_listing_days(actor.community_id)
    listing = Listing(
        id=uuid.uuid4(),
        member=actor.member_id,
        community=actor.community_id,
        kind=data.kind,
        title=title,
        description=description,
        category=category.id,
        ward=ward.strip(),
        availability=data.availability.strip(),
        sensitive=data.sensitive,
        in_home=data.in_home,
        status="open",
        expires_at=now + timedelta(days=listing_days),
        created_at=now,
        updated_at=now,
    )

    async def work(_transaction: WriteTransaction) -> None:
        await Listing.insert(listing).run()

    await run_write(engine, work)
    return await listing_by_id(actor=actor, listing_id=listing.id)


# What only a listing's member may do to it, as the refusal names it.
_OWNER_ACTIONS = {
    "change": N_("change"),
    "withdraw": N_("withdraw"),
    "pause": N_("pause"),
    "resume": N_("resume"),
    "renew": N_("renew"),
}


async def owned_row(actor: Principal, listing_id: uuid.UUID, action: str) -> dict[str, Any]:
    """The listing if the actor may change it: 404 if they cannot see it, 403 if not theirs."""
    row = await _visible_row(actor, listing_id)
    if _uuid(row["owner_id"]) != actor.member_id:
        raise forbidden(
            _("Only the member who published this listing can %(action)s it.")
            % {"action": _(_OWNER_ACTIONS.get(action, action))}
        )
    require_active(actor)
    return row


def listing_withdrawn() -> DomainError:
    return Conflict(
        code="listing_withdrawn",
        detail=_("This listing has been withdrawn and can no longer be changed."),
    )


async def _patch_changes(patch: ListingPatch) -> dict[Any, Any]:
    """The columns a patch changes (null fields stay as they are)."""
    changes: dict[Any, Any] = {}
    if patch.kind is not None:
        changes[Listing.kind] = patch.kind
    if patch.title is not None:
        changes[Listing.title] = _required_text("title", patch.title)
    if patch.description is not None:
        changes[Listing.description] = _required_text("description", patch.description)
    if patch.category is not None:
        changes[Listing.category] = (await _category_by_slug(patch.category)).id
    if patch.ward is not None:
        changes[Listing.ward] = patch.ward.strip()
    if patch.availability is not None:
        changes[Listing.availability] = patch.availability.strip()
    if patch.sensitive is not None:
        changes[Listing.sensitive] = patch.sensitive
    if patch.in_home is not None:
        changes[Listing.in_home] = patch.in_home
    return changes


async def listing_update(
    *, engine: Engine[Any], actor: Principal, listing_id: uuid.UUID, patch: ListingPatch
) -> ListingOut:
    """Change the fields sent, on an open listing of the actor's own."""
    row = await owned_row(actor, listing_id, "change")
    refuse_exact_addresses(
        {
            "title": patch.title,
            "description": patch.description,
            "ward": patch.ward,
            "availability": patch.availability,
        }
    )
    changes = await _patch_changes(patch)
    if row["status"] != "open":
        raise listing_withdrawn()
    if not changes:
        return listing_out(row, actor)
    return await open_listing_change(engine, actor, listing_id, changes)


async def open_listing_change(
    engine: Engine[Any], actor: Principal, listing_id: uuid.UUID, changes: dict[Any, Any]
) -> ListingOut:
    """Write `changes` to a listing still open, and read it back as the actor sees it."""
    changes[Listing.updated_at] = clock.utc_now()

    async def work(_transaction: WriteTransaction) -> list[dict[str, Any]]:
        # Only an open listing changes: a withdrawal that got in first wins.
        return await (
            Listing.update(changes)
            .where((Listing.id == listing_id) & (Listing.status == "open"))
            .returning(Listing.id)
            .run()
        )

    updated = await run_write(engine, work)
    if not updated:
        raise listing_withdrawn()
    return await listing_by_id(actor=actor, listing_id=listing_id)


async def listing_withdraw(*, engine: Engine[Any], actor: Principal, listing_id: uuid.UUID) -> None:
    """Withdraw the actor's own listing; withdrawing it again changes nothing."""
    row = await owned_row(actor, listing_id, "withdraw")
    if row["status"] != "open":
        return

    async def work(_transaction: WriteTransaction) -> None:
        await (
            Listing.update({Listing.status: "withdrawn", Listing.updated_at: clock.utc_now()})
            .where((Listing.id == listing_id) & (Listing.status == "open"))
            .run()
        )

    await run_write(engine, work)

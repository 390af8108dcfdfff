"""The coordinator's desk: members of the communities a coordinator looks after, found
by name, phone or ward, with their figures (reads only; writes stay in members).

Who may see whom: a coordinator sees the members of the communities they
coordinate, an admin every community. A member outside that reach is "not found"
(404), exactly like an id that does not exist, so nobody learns who is where.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ledger import Ledger
from service import clock
from service.exchanges.selectors import exchange_party_filter
from service.exchanges.tables import Exchange
from service.http.cursors import cursor_invalid, decode_cursor, encode_cursor
from service.i18n import _
from service.limits import PAGE_SIZE_MAX
from service.listings.tables import Listing
from service.members.tables import Community, Member
from service.principal import Principal, not_found, require_any_coordinator
from service.settings import SECONDS_PER_DAY

DeskStatus = Literal["pending", "active", "suspended", "closed", "declined"]
DESK_STATUSES: tuple[DeskStatus, ...] = ("pending", "active", "suspended", "closed", "declined")
# A phone search needs a few digits; fewer would match almost everyone.
PHONE_DIGITS_MIN = 3
INACTIVE_DAYS_MAX = 3650
MEMBER_PAGE_EXCHANGES = 20  # the member page shows the latest exchanges and listings
MEMBER_PAGE_LISTINGS = 20
_LIKE_ESCAPE = "\\"
# The phone as digits only, so "07700 900 123" is found by "07700900123" and the reverse.
_PHONE_DIGITS_SQL = (
    "replace(replace(replace(replace(replace(replace(m.phone, ' ', ''), '-', ''), '.', ''),"
    " '(', ''), ')', ''), '+', '')"
)
_LAST_GIVEN_SQL = (
    "(SELECT max(e.service_date) FROM market_exchange e"
    " WHERE e.provider = m.id AND e.status = 'completed')"
)
_LAST_RECEIVED_SQL = (
    "(SELECT max(e.service_date) FROM market_exchange_recipient r"
    " JOIN market_exchange e ON e.id = r.exchange"
    " WHERE r.member = m.id AND e.status = 'completed')"
)


@dataclass(frozen=True, slots=True)
class DeskFilters:
    q: str = ""
    status: DeskStatus | None = None
    inactive_days: int | None = None
    community_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None  # one member's row (after declining them)


@dataclass(frozen=True, slots=True)
class DeskRow:
    id: uuid.UUID
    display_name: str
    status: str
    has_login: bool
    ward: str
    community_name: str
    balance_minutes: int
    available_minutes: int
    last_exchange_at: datetime | None
    inactive_days: int


def reach_of(actor: Principal) -> frozenset[uuid.UUID] | None:
    """The communities whose members the actor may look up (None: all, for admins)."""
    require_any_coordinator(actor)
    return None if actor.is_admin else actor.coordinated_communities


def _like(text: str) -> str:
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def _search_sql(q: str, args: list[Any]) -> str:
    """Name or ward containing `q` (any case), or a phone containing its digits."""
    pattern = _like(q)
    clauses = ["lower(m.display_name) LIKE {} ESCAPE '\\'", "lower(m.ward) LIKE {} ESCAPE '\\'"]
    args += [pattern, pattern]
    digits = "".join(char for char in q if char.isdigit())
    if len(digits) >= PHONE_DIGITS_MIN:
        clauses.append(f"{_PHONE_DIGITS_SQL} LIKE {{}}")
        args.append(f"%{digits}%")
    return "(" + " OR ".join(clauses) + ")"


def _inactive_sql(days: int, args: list[Any]) -> str:
    """Joined more than `days` ago and no completed exchange since."""
    cutoff = clock.utc_now() - timedelta(days=days)
    args += [cutoff, cutoff, cutoff]
    return (
        "m.created_at < {} AND NOT EXISTS (SELECT 1 FROM market_exchange e"
        " WHERE e.provider = m.id AND e.status = 'completed' AND e.service_date >= {})"
        " AND NOT EXISTS (SELECT 1 FROM market_exchange_recipient r"
        " JOIN market_exchange e ON e.id = r.exchange"
        " WHERE r.member = m.id AND e.status = 'completed' AND e.service_date >= {})"
    )


def _where(
    reach: frozenset[uuid.UUID] | None, filters: DeskFilters, cursor: str | None, args: list[Any]
) -> str:
    clauses = ["1 = 1"]
    if reach is not None:
        ids = sorted(reach)
        clauses.append("m.community IN (" + ", ".join("{}" for _id in ids) + ")")
        args += ids
    if filters.community_id is not None:
        clauses.append("m.community = {}")
        args.append(filters.community_id)
    if filters.member_id is not None:
        clauses.append("m.id = {}")
        args.append(filters.member_id)
    if filters.q.strip():
        clauses.append(_search_sql(filters.q.strip(), args))
    if filters.status is not None:
        clauses.append("m.status = {}")
        args.append(filters.status)
    if filters.inactive_days is not None:
        clauses.append(_inactive_sql(filters.inactive_days, args))
    if cursor is not None:
        name, last_id = _decoded(cursor)
        clauses.append("(m.display_name > {} OR (m.display_name = {} AND m.id > {}))")
        args += [name, name, last_id]
    return " AND ".join(clauses)


def _decoded(cursor: str) -> tuple[str, uuid.UUID]:
    name, last_id = decode_cursor(cursor, 2)
    try:
        return name, uuid.UUID(last_id)
    except ValueError:
        raise cursor_invalid() from None


def _instant(value: Any) -> datetime | None:
    """A timestamp from a raw row: asyncpg gives datetimes, SQLite's max() gives text."""
    if value is None:
        return None
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _days_since(instant: datetime, now: datetime) -> int:
    return max(0, int((now - instant).total_seconds() // SECONDS_PER_DAY))


async def desk_members(
    *,
    actor: Principal,
    ledger: Ledger,
    filters: DeskFilters,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[DeskRow], str | None]:
    """One page of the actor's members, by name, with balance and last exchange."""
    reach = reach_of(actor)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_SIZE_MAX}")
    if filters.community_id is not None and reach is not None and filters.community_id not in reach:
        raise not_found(_("That community"))  # like one that does not exist
    if reach is not None and not reach:
        return [], None
    args: list[Any] = []
    where = _where(reach, filters, cursor, args)
    sql = (
        "SELECT m.id, m.display_name, m.status, m.ward, m.created_at, m.hour_account_id,"
        " (m.password_hash IS NOT NULL) AS has_login, c.name AS community_name,"
        f" {_LAST_GIVEN_SQL} AS last_given, {_LAST_RECEIVED_SQL} AS last_received"
        " FROM member_member m JOIN member_community c ON c.id = m.community"
        f" WHERE {where} ORDER BY m.display_name, m.id LIMIT {{}}"
    )
    rows: list[dict[str, Any]] = await Member.raw(sql, *args, limit + 1).run()
    now = clock.utc_now()
    found = [await _desk_row(ledger, row, now) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(found[-1].display_name, str(found[-1].id))
    return found, next_cursor


async def _desk_row(ledger: Ledger, row: dict[str, Any], now: datetime) -> DeskRow:
    account = await ledger.account(account_id=_uuid(row["hour_account_id"]))
    moments = [_instant(row["last_given"]), _instant(row["last_received"])]
    last = max((moment for moment in moments if moment is not None), default=None)
    since = last or _instant(row["created_at"]) or now
    return DeskRow(
        id=_uuid(row["id"]),
        display_name=row["display_name"],
        status=row["status"],
        has_login=bool(row["has_login"]),
        ward=row["ward"],
        community_name=row["community_name"],
        balance_minutes=account.balance_minor,
        available_minutes=account.available_minor,
        last_exchange_at=last,
        inactive_days=_days_since(since, now),
    )


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def desk_row(*, actor: Principal, ledger: Ledger, member_id: uuid.UUID) -> DeskRow:
    """One member's desk row; 404 outside the actor's reach."""
    rows, _next_cursor = await desk_members(
        actor=actor, ledger=ledger, filters=DeskFilters(member_id=member_id), limit=1
    )
    if not rows:
        raise not_found(_("That member"))
    return rows[0]


async def desk_member(*, actor: Principal, member_id: uuid.UUID) -> Member:
    """One member the actor looks after; 404 for anyone else (no enumeration)."""
    reach = reach_of(actor)
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None or (reach is not None and member.community not in reach):
        raise not_found(_("That member"))
    return member


@dataclass(frozen=True, slots=True)
class MemberFile:
    """What the member page shows a coordinator besides the statement."""

    member: Member
    community_name: str
    balance_minutes: int
    available_minutes: int
    pending_minutes: int
    floor_minutes: int | None
    exchanges: list[dict[str, Any]]
    listings: list[dict[str, Any]]


async def member_file(*, actor: Principal, ledger: Ledger, member_id: uuid.UUID) -> MemberFile:
    member = await desk_member(actor=actor, member_id=member_id)
    community = await Community.select(Community.name).where(Community.id == member.community)
    account = await ledger.account(account_id=member.hour_account_id)
    exchanges = (
        await Exchange.select(
            Exchange.id,
            Exchange.status,
            Exchange.minutes,
            Exchange.service_date,
            Exchange.description,
            Exchange.provider.display_name.as_alias("provider_name"),
            Exchange.provider,
        )
        .where(exchange_party_filter(member.id))
        .order_by(Exchange.created_at, ascending=False)
        .limit(MEMBER_PAGE_EXCHANGES)
        .run()
    )
    listings = (
        await Listing.select(Listing.id, Listing.kind, Listing.title, Listing.status)
        .where(Listing.member == member.id)
        .order_by(Listing.created_at, ascending=False)
        .limit(MEMBER_PAGE_LISTINGS)
        .run()
    )
    return MemberFile(
        member=member,
        community_name=community[0]["name"],
        balance_minutes=account.balance_minor,
        available_minutes=account.available_minor,
        pending_minutes=account.debits_pending_minor,
        floor_minutes=account.floor_minor,
        exchanges=exchanges,
        listings=listings,
    )

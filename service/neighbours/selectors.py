"""Reads: the directory of neighbours and a member's profile (issue 18 item 1).

Who is in reach: approved (active) members of the caller's own community and of the
communities they coordinate; only an approved caller may look (403 for applicants).
A member outside that reach has no profile for the caller (404, as if there were none).
Neither the directory nor a profile ever reads an email address or a phone number: the
columns are not selected.

Blocks (issue 18 item 3): members the caller blocked or is blocked by drop out of the
directory, and their profiles answer 404 as if they were out of reach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.columns.combination import Where, WhereRaw

from service.blocks.selectors import hidden_member_ids, hidden_members_sql
from service.errors import invalid_field
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.i18n import _
from service.limits import DIRECTORY_PAGE_SIZE, SEARCH_OFFSET_MAX, THANKS_SHOWN_MAX
from service.members.tables import Member
from service.neighbours.schemas import NeighbourOut, ProfileOut, ThanksOut
from service.neighbours.tables import Thanks
from service.principal import Principal, not_found, require_active

# LIKE's own wildcards in a member's text match themselves, never "anything".
_LIKE_ESCAPES = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\"})


@dataclass(frozen=True, slots=True)
class DirectoryFilters:
    q: str = ""  # part of a name
    skill: str = ""  # part of what they can help with
    ward: str = ""  # the ward, whole


def communities_in_reach(actor: Principal) -> frozenset[uuid.UUID]:
    return frozenset({actor.community_id, *actor.coordinated_communities})


_ESCAPE = "ESCAPE '\\'"


def _like(text: str) -> str:
    return "%" + text.strip().translate(_LIKE_ESCAPES) + "%"


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_DIRECTORY_COLUMNS = (
    Member.id,
    Member.display_name,
    Member.ward,
    Member.skills,
    Member.help_wanted,
    Member.community.slug.as_alias("community_slug"),
)


def _neighbour(row: dict[str, Any]) -> NeighbourOut:
    return NeighbourOut(
        id=row["id"],
        display_name=row["display_name"],
        ward=row["ward"],
        community=row["community_slug"],
        skills=row["skills"],
        help_wanted=row["help_wanted"],
    )


async def directory_page(
    *,
    actor: Principal,
    filters: DirectoryFilters,
    page: int = 1,
    page_size: int = DIRECTORY_PAGE_SIZE,
) -> tuple[list[NeighbourOut], int | None]:
    """Approved members in reach matching every filter, by name; and the next page, if any.

    Only approved members look: an applicant is not yet known to the community.
    """
    require_active(actor)
    offset = (page - 1) * page_size
    if page < 1 or offset > SEARCH_OFFSET_MAX:
        raise invalid_field("page", _("is out of range"), source="query")
    where: Where | Any = Member.community.is_in(list(communities_in_reach(actor))) & (
        Member.status == "active"
    )
    # lower() on both sides: LIKE ignores case on SQLite but not on PostgreSQL.
    if filters.q.strip():
        where &= WhereRaw(f"lower(display_name) LIKE lower({{}}) {_ESCAPE}", _like(filters.q))
    if filters.skill.strip():
        where &= WhereRaw(f"lower(skills) LIKE lower({{}}) {_ESCAPE}", _like(filters.skill))
    if filters.ward.strip():
        where &= WhereRaw("lower(ward) = lower({})", filters.ward.strip())
    hidden_sql, hidden_args = hidden_members_sql(actor.member_id, "member_member.id")
    where &= WhereRaw(hidden_sql, *hidden_args)
    rows = (
        await Member.select(*_DIRECTORY_COLUMNS)
        .where(where)
        .order_by(Member.display_name)
        .order_by(Member.id)
        .limit(page_size + 1)
        .offset(offset)
        .run()
    )
    items = [_neighbour(row) for row in rows[:page_size]]
    return items, (page + 1 if len(rows) > page_size else None)


async def wards_in_reach(actor: Principal) -> list[str]:
    """The wards of approved members in reach, for the directory's choice of ward."""
    rows = (
        await Member.select(Member.ward)
        .where(
            Member.community.is_in(list(communities_in_reach(actor)))
            & (Member.status == "active")
            & (Member.ward != "")
        )
        .distinct()
        .run()
    )
    return sorted({row["ward"] for row in rows}, key=str.lower)


async def exchanges_completed_by(member_id: uuid.UUID) -> int:
    """Completed exchanges the member took part in, as helper or helped."""
    as_provider = await Exchange.count().where(
        (Exchange.provider == member_id) & (Exchange.status == "completed")
    )
    as_recipient = await ExchangeRecipient.count().where(
        (ExchangeRecipient.member == member_id) & (ExchangeRecipient.exchange.status == "completed")
    )
    return int(as_provider) + int(as_recipient)


def thanks_out(row: dict[str, Any]) -> ThanksOut:
    return ThanksOut(
        id=row["id"],
        exchange_id=row["exchange"],
        author_id=row["author"],
        author_name=row["author_name"],
        receiver_id=row["receiver"],
        text=row["text"],
        created_at=_aware(row["created_at"]),
        hidden=row["hidden_at"] is not None,
    )


_THANKS_COLUMNS = (
    Thanks.id,
    Thanks.exchange,
    Thanks.author,
    Thanks.author.display_name.as_alias("author_name"),
    Thanks.receiver,
    Thanks.text,
    Thanks.created_at,
    Thanks.hidden_at,
)


async def thanks_received(
    member_id: uuid.UUID, *, with_hidden: bool, limit: int = THANKS_SHOWN_MAX
) -> list[ThanksOut]:
    where: Any = Thanks.receiver == member_id
    if not with_hidden:
        where &= Thanks.hidden_at.is_null()
    rows = (
        await Thanks.select(*_THANKS_COLUMNS)
        .where(where)
        .order_by(Thanks.created_at, ascending=False)
        .limit(limit)
        .run()
    )
    return [thanks_out(row) for row in rows]


async def thanks_given(member_id: uuid.UUID, *, limit: int) -> list[ThanksOut]:
    rows = (
        await Thanks.select(*_THANKS_COLUMNS)
        .where(Thanks.author == member_id)
        .order_by(Thanks.created_at, ascending=False)
        .limit(limit)
        .run()
    )
    return [thanks_out(row) for row in rows]


async def profile_of(
    *,
    actor: Principal,
    member_id: uuid.UUID,
) -> ProfileOut:
    """A member's profile as the caller may see it: 404 outside their reach."""
    row = (
        await Member.select(
            *_DIRECTORY_COLUMNS,
            Member.community,
            Member.status,
            Member.created_at,
            Member.approved_at,
        )
        .where(Member.id == member_id)
        .first()
        .run()
    )
    is_self = member_id == actor.member_id
    if not is_self:
        require_active(actor)
    in_reach = row is not None and (
        is_self
        or actor.is_admin
        or (row["status"] == "active" and row["community"] in communities_in_reach(actor))
    )
    hidden = not is_self and member_id in await hidden_member_ids(member_id=actor.member_id)
    if row is None or not in_reach or hidden:
        raise not_found(_("That member"))
    return ProfileOut(
        id=row["id"],
        display_name=row["display_name"],
        ward=row["ward"],
        community=row["community_slug"],
        skills=row["skills"],
        help_wanted=row["help_wanted"],
        member_since=_aware(row["approved_at"] or row["created_at"]),
        exchanges_completed=await exchanges_completed_by(member_id),
        thanks_received=await thanks_received(member_id, with_hidden=is_self),
    )

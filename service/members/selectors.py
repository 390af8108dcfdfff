"""Members as the pages list them: choices for the member pickers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from service.limits import (
    EMAIL_CHARS_MAX,
    PAGE_SIZE_MAX,
)
from service.members import services
from service.members.tables import Community, Member, RoleGrant
from service.principal import Principal, not_found

MEMBER_OPTIONS_MAX = 500


@dataclass(frozen=True, slots=True)
class MemberChoice:
    id: uuid.UUID
    display_name: str
    email: str | None


async def member_choices(community_ids: frozenset[uuid.UUID] | None) -> list[MemberChoice]:
    """Active members of these communities (all communities if None), by name."""
    query = Member.select(Member.id, Member.display_name, Member.email).where(
        Member.status == "active"
    )
    if community_ids is not None:
        if not community_ids:
            return []
        query = query.where(Member.community.is_in(list(community_ids)))
    rows = await query.order_by(Member.display_name).limit(MEMBER_OPTIONS_MAX).run()
    return [MemberChoice(row["id"], row["display_name"], row["email"]) for row in rows]


def member_options(
    choices: list[MemberChoice], *, without: uuid.UUID | None
) -> list[tuple[str, str]]:
    return [(str(choice.id), choice.display_name) for choice in choices if choice.id != without]


async def coordinated_member_options(viewer: Principal) -> list[tuple[str, str]]:
    scope = None if viewer.is_admin else viewer.coordinated_communities
    return member_options(await member_choices(scope), without=None)


async def member_id_of(member: str) -> uuid.UUID | None:
    """A member named by id or by email address (admins only: it tells that an account exists)."""
    text = member.strip()
    if not text or len(text) > EMAIL_CHARS_MAX:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    row = (
        await Member.select(Member.id)
        .where(Member.email == services.normalise_email(text))
        .first()
        .run()
    )
    return None if row is None else uuid.UUID(str(row["id"]))


async def role_holders() -> list[dict[str, Any]]:
    """Live role grants with who holds them, for the admin roles page."""
    rows: list[dict[str, Any]] = (
        await RoleGrant.select(
            RoleGrant.member.display_name.as_alias("name"),
            RoleGrant.member.email.as_alias("email"),
            RoleGrant.role,
            RoleGrant.community.name.as_alias("community"),
            RoleGrant.area.name.as_alias("area"),
            RoleGrant.reason,
            RoleGrant.granted_at,
        )
        .where(RoleGrant.revoked_at.is_null())
        .order_by(RoleGrant.granted_at)
        .limit(PAGE_SIZE_MAX)
        .run()
    )
    return rows


def coordinated_communities(viewer: Principal, communities: list[Community]) -> list[Community]:
    """The communities whose members the viewer may approve, their own coordinated ones first."""
    allowed = [c for c in communities if viewer.is_admin or viewer.coordinates(c.id)]
    return sorted(allowed, key=lambda c: not viewer.coordinates(c.id))


def selected_community(choices: list[Community], slug: str | None) -> Community | None:
    if slug is None:
        return choices[0] if choices else None
    for community in choices:
        if community.slug == slug:
            return community
    raise not_found("That community")

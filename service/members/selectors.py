"""Members, areas and communities as the pages list them: the member pickers' source,
role holders, the coordinator's communities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw

from service.http.cursors import cursor_invalid, decode_cursor, encode_cursor
from service.limits import (
    EMAIL_CHARS_MAX,
    PAGE_SIZE_MAX,
)
from service.members import services
from service.members.tables import Area, Community, Member, RoleGrant
from service.principal import Principal, not_found
from service.web.pickers import Pick


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


async def areas_list() -> list[Area]:
    return await Area.objects().order_by(Area.name).run()


async def area_slug_of(area_id: uuid.UUID) -> str:
    area = await Area.select(Area.slug).where(Area.id == area_id).first().run()
    return str(area["slug"]) if area is not None else ""


def communities_in_reach(viewer: Principal, communities: list[Community]) -> list[Community]:
    """The communities whose members the viewer may act for: every one for an admin."""
    return [c for c in communities if viewer.is_admin or viewer.coordinates(c.id)]


def coordinated_communities(viewer: Principal, communities: list[Community]) -> list[Community]:
    """The communities whose members the viewer may approve, their own coordinated ones first."""
    allowed = communities_in_reach(viewer, communities)
    return sorted(allowed, key=lambda c: not viewer.coordinates(c.id))


def selected_community(choices: list[Community], slug: str | None) -> Community | None:
    if slug is None:
        return choices[0] if choices else None
    for community in choices:
        if community.slug == slug:
            return community
    raise not_found("That community")


_LIKE_ESCAPE = "\\"


def _contains(text: str) -> str:
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class MemberPicks:
    """Active members a picker may offer: of these communities (None: all), by name,
    found by part of their name or ward; `without` leaves the chooser out."""

    community_ids: frozenset[uuid.UUID] | None
    without: uuid.UUID | None = None

    def _where(self) -> Any:
        where: Any = Member.status == "active"
        if self.community_ids is not None:
            where &= Member.community.is_in(sorted(self.community_ids) or [uuid.UUID(int=0)])
        if self.without is not None:
            where &= Member.id != self.without
        return where

    async def matches(
        self, query: str, cursor: str | None, limit: int
    ) -> tuple[list[Pick], str | None]:
        where = self._where()
        if query.strip():
            pattern = _contains(query.strip())
            where &= WhereRaw(
                "(lower(member_member.display_name) LIKE {} ESCAPE '\\' "
                "OR lower(member_member.ward) LIKE {} ESCAPE '\\')",
                pattern,
                pattern,
            )
        if cursor is not None:
            name, last_id = decode_cursor(cursor, 2)
            try:
                after = uuid.UUID(last_id)
            except ValueError:
                raise cursor_invalid() from None
            where &= (Member.display_name > name) | (
                (Member.display_name == name) & (Member.id > after)
            )
        rows = (
            await Member.select(Member.id, Member.display_name, Member.ward)
            .where(where)
            .order_by(Member.display_name, Member.id)
            .limit(limit + 1)
            .run()
        )
        picks = [Pick(str(row["id"]), row["display_name"], row["ward"]) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["display_name"], str(last["id"]))
        return picks, next_cursor

    async def chosen(self, value: str) -> Pick | None:
        """The chosen member if this picker may still offer them (else not chosen)."""
        try:
            member_id = uuid.UUID(value)
        except ValueError:
            return None
        row = (
            await Member.select(Member.id, Member.display_name, Member.ward)
            .where(self._where() & (Member.id == member_id))
            .first()
            .run()
        )
        return None if row is None else Pick(str(row["id"]), row["display_name"], row["ward"])


def coordinated_picks(viewer: Principal) -> MemberPicks:
    """Members a coordinator may choose: of the communities they coordinate (admins: all)."""
    return MemberPicks(None if viewer.is_admin else viewer.coordinated_communities)


async def coordinator_ids_of(community_id: uuid.UUID) -> list[uuid.UUID]:
    """The community's coordinators now (not revoked), in a stable order."""
    rows = (
        await RoleGrant.select(RoleGrant.member)
        .where(
            (RoleGrant.role == "coordinator")
            & (RoleGrant.community == community_id)
            & RoleGrant.revoked_at.is_null()
        )
        .run()
    )
    return sorted({uuid.UUID(str(row["member"])) for row in rows}, key=str)

"""Who may see which communities' reports: admins every community, council viewers
those of their areas, anyone else nothing (403), and the strictest small-group
threshold of the communities a report covers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from service.i18n import _
from service.members.tables import Community
from service.principal import Principal, forbidden, not_found

K_DEFAULT: Final = 5  # Community.small_cell_k's default, for a selection of no community


@dataclass(frozen=True, slots=True)
class CommunityRef:
    id: uuid.UUID
    slug: str
    name: str
    small_cell_k: int


@dataclass(frozen=True, slots=True)
class Scope:
    """The communities a report covers, and all those the viewer could pick from."""

    selected: tuple[CommunityRef, ...]
    in_reach: tuple[CommunityRef, ...]

    @property
    def ids(self) -> list[uuid.UUID]:
        return [community.id for community in self.selected]

    @property
    def k(self) -> int:
        """The strictest threshold of the communities in the report."""
        return max((community.small_cell_k for community in self.selected), default=K_DEFAULT)


# Stands for "no community" in an IN list, which may not be empty.
_NO_COMMUNITY = uuid.UUID(int=0)


def may_see_reports(viewer: Principal) -> bool:
    return viewer.is_admin or bool(viewer.council_areas or viewer.coordinated_communities)


async def scope_for(viewer: Principal, slugs: Sequence[str]) -> Scope:
    """Admins reach every community; council viewers those of their areas and coordinators
    their own communities (the same figures, the same suppression); anyone else 403.

    A community named but out of reach is "not found", like one that does not exist.
    """
    if not may_see_reports(viewer):
        raise forbidden(_("Reports are for council viewers, coordinators and admins."))
    query = Community.select(
        Community.id, Community.slug, Community.name, Community.small_cell_k
    ).order_by(Community.name)
    if not viewer.is_admin:
        reach: Any = Community.id.is_in(sorted(viewer.coordinated_communities) or [_NO_COMMUNITY])
        if viewer.council_areas:
            reach |= Community.area.is_in(list(viewer.council_areas))
        query = query.where(reach)
    in_reach = tuple(
        CommunityRef(row["id"], row["slug"], row["name"], row["small_cell_k"])
        for row in await query.run()
    )
    if not slugs:
        return Scope(selected=in_reach, in_reach=in_reach)
    by_slug = {community.slug: community for community in in_reach}
    missing = [slug for slug in slugs if slug not in by_slug]
    if missing:
        raise not_found(_("That community"))
    wanted = set(slugs)
    return Scope(
        selected=tuple(community for community in in_reach if community.slug in wanted),
        in_reach=in_reach,
    )

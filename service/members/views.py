"""A member as the JSON API shows them (the member's own view and the coordinator's)."""

from __future__ import annotations

from service.members import offline
from service.members import roles as members_roles
from service.members.communities import community_by_id
from service.members.schemas import MemberOut, RoleOut
from service.members.tables import Member


async def member_out(member: Member) -> MemberOut:
    community = await community_by_id(member.community)
    return MemberOut(
        id=member.id,
        email=member.email,
        display_name=member.display_name,
        community=community.slug,
        ward=member.ward,
        birth_year=member.birth_year,
        skills=member.skills,
        help_wanted=member.help_wanted,
        status=member.status,  # type: ignore[arg-type]
        roles=[RoleOut(**grant) for grant in await members_roles.grants_of_member(member.id)],
        created_at=member.created_at,
        has_login=offline.has_login(member),
        phone=member.phone,
        coordinator_may_act=member.coordinator_may_act_at is not None,
        language=member.language,  # type: ignore[arg-type]
    )

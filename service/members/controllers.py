"""The members JSON API: thin handlers that parse, call one service function, shape the answer."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service.errors import NotFound
from service.http.access import Access, access, on_object
from service.http.client import client_address
from service.http.deps import CurrentMember, EngineDep, LedgerDep, LimiterDep

# The guard lives in service/http/json_bodies.py and runs app-wide; the name stays
# importable from here for controllers that still list it.
from service.http.json_bodies import json_bodies_only as json_bodies_only  # noqa: PLC0414
from service.http.ratelimit import enforce
from service.i18n import _
from service.limits import (
    REGISTER_PER_ADDRESS,
)
from service.members import closure as members_closure
from service.members import roles as members_roles
from service.members import selectors, services
from service.members.communities import (
    area_create,
    communities_list,
    community_by_id,
    community_create,
    community_settings_change,
)
from service.members.registration import member_approve, member_register
from service.members.schemas import (
    AreaIn,
    AreaOut,
    CommunityIn,
    CommunityOut,
    CommunitySettingsIn,
    MemberOut,
    ProfilePatch,
    PublicMemberOut,
    RegisterIn,
    RoleChangeIn,
    RoleOut,
    TokenIn,
    TokenOut,
)
from service.members.sessions import token_create, token_revoke
from service.members.sign_in_limits import sign_in_checked, sign_in_counter
from service.members.tables import Community
from service.members.views import member_out
from service.principal import require_any_coordinator


def community_out(community: Community, area_slug: str) -> CommunityOut:
    return CommunityOut(
        id=community.id,
        name=community.name,
        slug=community.slug,
        area=area_slug,
        requires_approval=community.requires_approval,
        welcome_credit_minutes=community.welcome_credit_minutes,
        visitors_see_descriptions=community.visitors_see_descriptions,
        autoconfirm_days=community.autoconfirm_days,
        listing_days=community.listing_days,
        home_check_required=community.home_check_required,
    )


class AuthController(Controller):
    opt = access(Access.PUBLIC)
    path = "/api/v1/auth"
    tags = ("auth",)

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegisterIn],
        engine: EngineDep,
        ledger: LedgerDep,
        limiter: LimiterDep,
    ) -> MemberOut:
        await enforce(limiter, f"register:address:{client_address(request)}", REGISTER_PER_ADDRESS)
        member = await member_register(engine=engine, ledger=ledger, data=data)
        return await member_out(member)

    @post("/token", status_code=HTTP_201_CREATED)
    async def create_token(
        self, request: Request[Any, Any, Any], data: JSONBody[TokenIn]
    ) -> TokenOut:
        member = await sign_in_checked(
            counter=sign_in_counter(request),
            address=client_address(request),
            email=data.email,
            password=data.password,
        )
        issued = await token_create(member=member)
        return TokenOut(token=issued.token, expires_at=issued.expires_at, member_id=member.id)

    @delete("/token", status_code=HTTP_204_NO_CONTENT, opt=access(Access.MEMBER))
    async def revoke_token(self, member: CurrentMember) -> None:
        await token_revoke(principal=member)


class MeController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me"
    tags = ("me",)

    @get("/")
    async def me(self, member: CurrentMember) -> MemberOut:
        return await member_out(await services.member_by_id(member.member_id))

    @patch("/")
    async def update(self, member: CurrentMember, data: JSONBody[ProfilePatch]) -> MemberOut:
        return await member_out(await services.profile_update(principal=member, patch=data))

    @delete("/", status_code=HTTP_204_NO_CONTENT)
    async def close(self, member: CurrentMember, engine: EngineDep, ledger: LedgerDep) -> None:
        await members_closure.member_close(engine=engine, ledger=ledger, principal=member)


class MembersController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1"
    tags = ("members",)

    @get("/members/{member_id:uuid}")
    async def public_profile(
        self, member: CurrentMember, member_id: FromPath[uuid.UUID]
    ) -> PublicMemberOut:
        del member  # any signed-in member may read public profiles
        found = await services.member_by_id(member_id)
        if found.status not in ("active", "suspended"):
            raise NotFound(code="not_found", detail=_("That member was not found."))
        community = await community_by_id(found.community)
        return PublicMemberOut(
            id=found.id,
            display_name=found.display_name,
            ward=found.ward,
            skills=found.skills,
            community=community.slug,
        )

    @get("/communities", opt=access(Access.PUBLIC))
    async def communities(self) -> list[CommunityOut]:
        areas = {area.id: area.slug for area in await selectors.areas_list()}
        return [community_out(c, areas[c.area]) for c in await communities_list()]


class CoordinatorController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator"
    tags = ("coordinator",)

    @post("/members/{member_id:uuid}/approve", status_code=200)
    async def approve(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> MemberOut:
        require_any_coordinator(member)
        approved = await member_approve(
            engine=engine, ledger=ledger, actor=member, member_id=member_id
        )
        return await member_out(approved)


class CommunitySettingsController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/communities"
    tags = ("coordinator",)

    @patch("/{slug:str}", opt=on_object("community", "slug"))
    async def change_settings(
        self,
        member: CurrentMember,
        slug: FromPath[str],
        data: JSONBody[CommunitySettingsIn],
        engine: EngineDep,
    ) -> CommunityOut:
        community = await community_settings_change(
            engine=engine, actor=member, slug=slug, data=data
        )
        return community_out(community, await selectors.area_slug_of(community.area))


class AdminController(Controller):
    opt = access(Access.ADMIN)
    path = "/api/v1/admin"
    tags = ("admin",)

    @post("/areas", status_code=HTTP_201_CREATED)
    async def create_area(
        self, member: CurrentMember, data: JSONBody[AreaIn], engine: EngineDep
    ) -> AreaOut:
        area = await area_create(engine=engine, actor=member, data=data)
        return AreaOut(id=area.id, name=area.name, slug=area.slug)

    @post("/communities", status_code=HTTP_201_CREATED)
    async def create_community(
        self,
        member: CurrentMember,
        data: JSONBody[CommunityIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> CommunityOut:
        community = await community_create(engine=engine, ledger=ledger, actor=member, data=data)
        return community_out(community, data.area)

    @post("/members/{member_id:uuid}/roles", status_code=200, opt=on_object("member", "member_id"))
    async def change_roles(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[RoleChangeIn],
        engine: EngineDep,
    ) -> list[RoleOut]:
        await members_roles.role_change(
            engine=engine, actor=member, member_id=member_id, change=data
        )
        return [RoleOut(**grant) for grant in await members_roles.grants_of_member(member_id)]


ROUTERS = [
    AuthController,
    MeController,
    MembersController,
    CoordinatorController,
    CommunitySettingsController,
    AdminController,
]

"""The JSON API of neighbours: the directory, profiles, thanks, and coordinators' checks."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from service.checks import services as checks
from service.checks.schemas import CheckIn, CheckOut
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep
from service.members.services import member_in_reach
from service.neighbours import selectors, services
from service.neighbours.schemas import (
    DirectoryPageOut,
    DirectoryPageQuery,
    ProfileOut,
    SearchQuery,
    ThanksIn,
    ThanksOut,
    WardQuery,
)


class DirectoryController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/members"
    tags = ("neighbours",)

    @get("/")
    async def directory(
        self,
        *,
        member: CurrentMember,
        q: SearchQuery = "",
        skill: SearchQuery = "",
        ward: WardQuery = "",
        page: DirectoryPageQuery = 1,
    ) -> DirectoryPageOut:
        """Approved members of the caller's communities, by name; never an email or phone."""
        filters = selectors.DirectoryFilters(q=q, skill=skill, ward=ward)
        items, next_page = await selectors.directory_page(actor=member, filters=filters, page=page)
        return DirectoryPageOut(items=items, page=page, next_page=next_page)

    @get("/{member_id:uuid}/profile")
    async def profile(self, member: CurrentMember, member_id: FromPath[uuid.UUID]) -> ProfileOut:
        """A neighbour's profile: what they help with and want help with, and thanks."""
        return await selectors.profile_of(actor=member, member_id=member_id)


class ThanksController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1"
    tags = ("neighbours",)

    @post(
        "/exchanges/{exchange_id:uuid}/thanks",
        status_code=HTTP_201_CREATED,
        opt=on_object("exchange", "exchange_id"),
    )
    async def thank(
        self,
        member: CurrentMember,
        engine: EngineDep,
        exchange_id: FromPath[uuid.UUID],
        data: JSONBody[ThanksIn],
    ) -> ThanksOut:
        """Thank the other party of a completed exchange, once."""
        return await services.thanks_give(
            engine=engine, actor=member, exchange_id=exchange_id, data=data
        )

    @post("/me/thanks/{thanks_id:uuid}/hide", status_code=200)
    async def hide(
        self, member: CurrentMember, engine: EngineDep, thanks_id: FromPath[uuid.UUID]
    ) -> ThanksOut:
        """Hide a note you received from your profile."""
        return await services.thanks_set_hidden(
            engine=engine, actor=member, thanks_id=thanks_id, hidden=True
        )

    @post("/me/thanks/{thanks_id:uuid}/show", status_code=200)
    async def show(
        self, member: CurrentMember, engine: EngineDep, thanks_id: FromPath[uuid.UUID]
    ) -> ThanksOut:
        """Show a hidden note on your profile again."""
        return await services.thanks_set_hidden(
            engine=engine, actor=member, thanks_id=thanks_id, hidden=False
        )


class CheckController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/members/{member_id:uuid}/checks"
    tags = ("coordinator",)

    @post("/", status_code=HTTP_201_CREATED, opt=on_object("member", "member_id"))
    async def record(
        self,
        member: CurrentMember,
        engine: EngineDep,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[CheckIn],
    ) -> CheckOut:
        """Record a safeguarding check (DBS, reference or induction) for a member."""
        return await checks.check_record(
            engine=engine, actor=member, member_id=member_id, data=data
        )

    @get("/")
    async def list_checks(
        self, member: CurrentMember, member_id: FromPath[uuid.UUID]
    ) -> list[CheckOut]:
        """A member's checks, newest first."""
        await member_in_reach(member, member_id)
        return await checks.checks_of(member_id)


ROUTERS = [DirectoryController, ThanksController, CheckController]

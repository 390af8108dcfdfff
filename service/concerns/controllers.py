"""The concerns JSON API: members report; coordinators work their communities' queue."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.concerns import selectors, services
from service.concerns.schemas import (
    CloseIn,
    ConcernIn,
    ConcernOut,
    ConcernPage,
    CoordinatorConcernOut,
    CoordinatorConcernPage,
)
from service.concerns.tables import Concern
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.messages.schemas import messages_out
from service.principal import Principal


def _base(concern: Concern) -> dict[str, object]:
    return {
        "id": concern.id,
        "status": concern.status,
        "text": concern.text,
        "about_member_id": concern.about_member,
        "listing_id": concern.listing,
        "exchange_id": concern.exchange,
        "conversation_id": concern.conversation,
        "outcome": concern.outcome,
        "created_at": concern.created_at,
        "closed_at": concern.closed_at,
    }


async def coordinator_out(actor: Principal, concern_id: uuid.UUID) -> CoordinatorConcernOut:
    view = await selectors.concern_view(actor, concern_id)
    concern = view.concern
    return CoordinatorConcernOut(
        **_base(concern),  # type: ignore[arg-type]
        community_id=concern.community,
        reporter_id=concern.reporter,
        reporter_name=view.reporter_name,
        about_name=view.about_name,
        about_status=view.about_status,
        listing_title=view.listing_title,
        exchange_description=view.exchange_description,
        messages=messages_out(view.messages, reader_id=None),
    )


class ConcernsController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/concerns"
    tags = ("concerns",)

    @post("/", status_code=HTTP_201_CREATED)
    async def report(
        self, member: CurrentMember, data: JSONBody[ConcernIn], engine: EngineDep
    ) -> ConcernOut:
        """Report a worry to the coordinators of the community (the safeguarding queue)."""
        concern_id = await services.concern_raise(
            engine=engine,
            actor=member,
            text=data.text,
            about_member_id=data.about_member_id,
            listing_id=data.listing_id,
            exchange_id=data.exchange_id,
            conversation_id=data.conversation_id,
        )
        [concern] = [
            item
            for item in await selectors.concerns_reported_by(member.member_id)
            if item.id == concern_id
        ]
        return ConcernOut(**_base(concern))  # type: ignore[arg-type]

    @get("/")
    async def own(self, member: CurrentMember) -> ConcernPage:
        concerns = await selectors.concerns_reported_by(member.member_id)
        return ConcernPage(items=[ConcernOut(**_base(item)) for item in concerns])  # type: ignore[arg-type]


class CoordinatorConcernsController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/concerns"
    tags = ("concerns",)

    @get("/")
    async def queue(
        self,
        member: CurrentMember,
        status: Annotated[selectors.ConcernStatus, QueryParameter()] = "open",
    ) -> CoordinatorConcernPage:
        items = await selectors.concern_queue(member, status)
        return CoordinatorConcernPage(
            items=[await coordinator_out(member, item.concern.id) for item in items]
        )

    @get("/{concern_id:uuid}")
    async def one(
        self, member: CurrentMember, concern_id: FromPath[uuid.UUID]
    ) -> CoordinatorConcernOut:
        return await coordinator_out(member, concern_id)

    @post(
        "/{concern_id:uuid}/close",
        status_code=HTTP_200_OK,
        opt=on_object("concern", "concern_id"),
    )
    async def close(
        self,
        member: CurrentMember,
        concern_id: FromPath[uuid.UUID],
        data: JSONBody[CloseIn],
        engine: EngineDep,
    ) -> CoordinatorConcernOut:
        await services.concern_close(
            engine=engine, actor=member, concern_id=concern_id, outcome=data.outcome
        )
        return await coordinator_out(member, concern_id)

    @post(
        "/{concern_id:uuid}/suspend",
        status_code=HTTP_200_OK,
        opt=on_object("concern", "concern_id"),
    )
    async def suspend(
        self,
        member: CurrentMember,
        concern_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> CoordinatorConcernOut:
        """Suspend the member the concern is about, pending an admin's review."""
        await services.concern_suspend_member(
            engine=engine, ledger=ledger, actor=member, concern_id=concern_id
        )
        return await coordinator_out(member, concern_id)


ROUTERS = [ConcernsController, CoordinatorConcernsController]

__all__ = ["ROUTERS"]

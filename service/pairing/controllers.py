"""The JSON API of friendship pairs, for coordinators of the pair's community (ADR 0040)."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service import clock
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.pairing import services
from service.pairing.pairs import pair_out, pair_row, pairs_listed, pairs_of_member
from service.pairing.schemas import (
    ArrangementIn,
    ArrangementOut,
    PairIn,
    PairOut,
    PairsOut,
    VisitIn,
    VisitRecordedOut,
)


class PairController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/pairs"
    tags = ("coordinator",)

    @get("/")
    async def list_pairs(self, member: CurrentMember) -> PairsOut:
        """Introduced pairs of the caller's communities, with arrangements and recent visits."""
        return PairsOut(items=await pairs_listed(member))

    @post("/", status_code=HTTP_201_CREATED)
    async def introduce(
        self, member: CurrentMember, engine: EngineDep, data: JSONBody[PairIn]
    ) -> PairOut:
        """Introduce a suggested pair: each gets a message from the coordinator."""
        pair_id = await services.pair_introduce(
            engine=engine, actor=member, older_id=data.older_id, younger_id=data.younger_id
        )
        return await pair_out(await pair_row(member, pair_id), clock.local_today())

    @put("/{pair_id:uuid}/arrangement", opt=on_object("pair", "pair_id"))
    async def arrange(
        self,
        member: CurrentMember,
        engine: EngineDep,
        pair_id: FromPath[uuid.UUID],
        data: JSONBody[ArrangementIn],
    ) -> ArrangementOut:
        """Set up, change or end the pair's regular visits."""
        return await services.arrangement_set(
            engine=engine, actor=member, pair_id=pair_id, data=data
        )

    @post("/{pair_id:uuid}/visits", opt=on_object("pair", "pair_id"))
    async def record_visit(
        self,
        member: CurrentMember,
        engine: EngineDep,
        ledger: LedgerDep,
        pair_id: FromPath[uuid.UUID],
        data: JSONBody[VisitIn],
    ) -> Response[VisitRecordedOut]:
        """Record a visit on the arrangement's cadence as a completed exchange: 201 the first
        time, 200 with the same body when it was recorded already (nothing moves again)."""
        visit, created = await services.visit_record(
            engine=engine, ledger=ledger, actor=member, pair_id=pair_id, visit_on=data.visit_on
        )
        return Response(visit, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


class MyPairController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me/pairs"
    tags = ("neighbours",)

    @get("/")
    async def my_pairs(self, member: CurrentMember) -> PairsOut:
        """The friendship pairs you are one of, with the regular visits and recent visit days."""
        return PairsOut(items=await pairs_of_member(member))

    @post("/{pair_id:uuid}/visits", opt=on_object("pair_visit", "pair_id"))
    async def record_my_visit(
        self,
        member: CurrentMember,
        engine: EngineDep,
        ledger: LedgerDep,
        pair_id: FromPath[uuid.UUID],
        data: JSONBody[VisitIn],
    ) -> Response[VisitRecordedOut]:
        """The visitor records a visit they made: as the coordinators' route (201, then 200)."""
        visit, created = await services.visit_record(
            engine=engine, ledger=ledger, actor=member, pair_id=pair_id, visit_on=data.visit_on
        )
        return Response(visit, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


ROUTERS = [PairController, MyPairController]

__all__ = ["ROUTERS"]

"""The wellbeing JSON API: the member's own check-ins, a new one, a skip, a deletion."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service.http.access import Access, access
from service.http.deps import CurrentMember, EngineDep
from service.wellbeing import services
from service.wellbeing.schemas import CheckInIn, CheckInOut, WellbeingOut, checkin_out


class WellbeingController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me/wellbeing"
    tags = ("wellbeing",)

    @get("/")
    async def own(self, member: CurrentMember) -> WellbeingOut:
        """Your check-ins, newest first, and whether one is offered now."""
        return WellbeingOut(
            due=await services.checkin_due(member),
            items=[checkin_out(view) for view in await services.checkins_of(member.member_id)],
        )

    @post("/", status_code=HTTP_201_CREATED)
    async def answer(
        self, member: CurrentMember, data: JSONBody[CheckInIn], engine: EngineDep
    ) -> CheckInOut:
        """A check-in: optional; kept only with `consent: true`; out of range -> 422."""
        view = await services.checkin_record(
            engine=engine, actor=member, answers=data.answers(), consent=data.consent
        )
        return checkin_out(view)

    @post("/skip", status_code=HTTP_204_NO_CONTENT)
    async def skip(self, member: CurrentMember, engine: EngineDep) -> None:
        """Not now: offered again in six months."""
        await services.checkin_skip(engine=engine, actor=member)

    @delete("/{checkin_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self, member: CurrentMember, checkin_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> None:
        """Delete one of your check-ins (anyone else's answers 404)."""
        await services.checkin_delete(engine=engine, actor=member, checkin_id=checkin_id)


ROUTERS = [WellbeingController]

__all__ = ["ROUTERS"]

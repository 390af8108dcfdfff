"""A member lets a coordinator of their community act for them (issue 16, ADR 0031).

(A coordinator adds a member without a login in members/controllers.py, beside the
other `/api/v1/coordinator/members` routes: Litestar wants one controller per path.)"""

from __future__ import annotations

from litestar import Controller, put
from litestar.params import JSONBody

from service.http.access import Access, access
from service.http.deps import CurrentMember, EngineDep
from service.members import offline
from service.members.schemas import ConsentIn, ConsentOut


class ConsentController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me/consent"
    tags = ("me",)

    @put("/")
    async def set_consent(
        self, member: CurrentMember, data: JSONBody[ConsentIn], engine: EngineDep
    ) -> ConsentOut:
        found = await offline.consent_set(
            engine=engine, principal=member, allowed=data.coordinator_may_act
        )
        return ConsentOut(
            coordinator_may_act=found.coordinator_may_act_at is not None,
            coordinator_may_act_since=found.coordinator_may_act_at,
        )


ROUTERS = [ConsentController]

"""The blocked members page in settings: who the member has blocked, and unblocking."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from service.blocks import selectors, services
from service.http.access import Access, access
from service.http.deps import EngineDep
from service.i18n import N_, _
from service.web.kit import (
    PageController,
    Viewer,
    done_message,
    render,
    see_other,
)

DONE_MESSAGES = {
    "blocked": N_(
        "You have blocked this member. They cannot message you, and neither of you "
        "will see the other's listings."
    ),
    "unblocked": N_("You have unblocked this member."),
}


class BlockPages(PageController):
    opt = access(Access.MEMBER)
    path = "/settings/blocked"

    @get("/")
    async def blocked(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        return render(
            "blocks/blocked.html",
            viewer=viewer,
            title=_("Blocked members"),
            current="profile",
            notice=done_message(DONE_MESSAGES, done),
            blocks=await selectors.blocks_of(viewer.member_id),
        )

    @post("/{member_id:uuid}/unblock")
    async def unblock(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> Response[Any]:
        await services.block_remove(engine=engine, actor=viewer, member_id=member_id)
        return see_other("/settings/blocked", done="unblocked")


PAGE_ROUTERS = [BlockPages]

__all__ = ["PAGE_ROUTERS"]

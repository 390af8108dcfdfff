"""The blocks JSON API: block, unblock, and the member's own list."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service.blocks import selectors, services
from service.blocks.schemas import BlockIn, BlockOut, BlockPage
from service.http.access import Access, access
from service.http.deps import CurrentMember, EngineDep


def _page(items: list[selectors.BlockedMember]) -> BlockPage:
    return BlockPage(
        items=[
            BlockOut(
                member_id=item.member_id, display_name=item.display_name, blocked_at=item.blocked_at
            )
            for item in items
        ]
    )


class BlocksController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me/blocks"
    tags = ("blocks",)

    @get("/")
    async def own(self, member: CurrentMember) -> BlockPage:
        return _page(await selectors.blocks_of(member.member_id))

    @post("/", status_code=HTTP_201_CREATED)
    async def block(
        self, member: CurrentMember, data: JSONBody[BlockIn], engine: EngineDep
    ) -> BlockPage:
        """Block a member: neither of you finds the other, and they cannot reach you."""
        await services.block_add(engine=engine, actor=member, member_id=data.member_id)
        return _page(await selectors.blocks_of(member.member_id))

    @delete("/{member_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def unblock(
        self, member: CurrentMember, member_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> None:
        await services.block_remove(engine=engine, actor=member, member_id=member_id)


ROUTERS = [BlocksController]

__all__ = ["ROUTERS"]

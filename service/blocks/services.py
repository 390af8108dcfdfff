"""Blocking and unblocking another member (writes)."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.blocks.tables import Block
from service.errors import Invalid
from service.http.principal_cache import principals_changed
from service.i18n import _
from service.members.tables import Member
from service.principal import Principal, not_found


async def block_add(*, engine: Engine[Any], actor: Principal, member_id: uuid.UUID) -> None:
    """`actor` blocks `member_id`; blocking twice is the same as once."""
    if member_id == actor.member_id:
        raise Invalid(code="block_self", detail=_("You cannot block yourself."))
    exists = await Member.exists().where(Member.id == member_id).run()
    if not exists:
        raise not_found(_("That member"))

    async def work(_transaction: WriteTransaction) -> None:
        # Kept gift recipients carry the block check (ADR 0067): the version moves once
        # this commits, so the next gift between the two, on any worker, is refused.
        principals_changed()
        await (
            Block.insert(
                Block(
                    id=uuid.uuid4(),
                    blocker=actor.member_id,
                    blocked=member_id,
                    created_at=clock.utc_now(),
                )
            )
            .on_conflict(action="DO NOTHING")
            .run()
        )

    await run_write(engine, work)


async def block_remove(*, engine: Engine[Any], actor: Principal, member_id: uuid.UUID) -> None:
    """Lift a block the actor made; 404 when there is none (nothing to say about others')."""

    async def work(_transaction: WriteTransaction) -> None:
        pair = (Block.blocker == actor.member_id) & (Block.blocked == member_id)
        if not await Block.exists().where(pair).run():
            raise not_found(_("That block"))
        principals_changed()  # a kept gift recipient's block check (ADR 0067)
        await Block.delete().where(pair).run()

    await run_write(engine, work)


async def blocks_erase(member_id: uuid.UUID) -> None:
    """A closing member's blocks, both ways, go with the account (inside the closure)."""
    await Block.delete().where((Block.blocker == member_id) | (Block.blocked == member_id)).run()

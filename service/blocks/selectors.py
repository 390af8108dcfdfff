"""Who is hidden from whom: blocks read by messages, exchanges, gifts, search and the directory.

A block works both ways for finding and reaching: neither member appears in the
other's search or directory, and neither can message, propose an exchange to or
give hours to the other. Only the blocker can lift it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from service.blocks.tables import Block
from service.errors import Forbidden
from service.i18n import _
from service.limits import BLOCKS_MAX
from service.members.tables import Member


async def hidden_member_ids(*, member_id: uuid.UUID) -> set[uuid.UUID]:
    """Members `member_id` blocked or was blocked by: hidden from each other both ways."""
    blocked = await Block.select(Block.blocked).where(Block.blocker == member_id).run()
    blockers = await Block.select(Block.blocker).where(Block.blocked == member_id).run()
    return {uuid.UUID(str(row["blocked"])) for row in blocked} | {
        uuid.UUID(str(row["blocker"])) for row in blockers
    }


def hidden_members_sql(member_id: uuid.UUID, column: str) -> tuple[str, list[object]]:
    """A SQL condition (Piccolo `{}` placeholders) keeping rows whose `column` is not
    a member hidden from `member_id`: for searches written as raw SQL."""
    sql = (
        f"{column} NOT IN (SELECT blocked FROM safety_block WHERE blocker = {{}})"
        f" AND {column} NOT IN (SELECT blocker FROM safety_block WHERE blocked = {{}})"
    )
    return sql, [member_id, member_id]


def blocked_between_sql(first: int, second: int) -> str:
    """A SQL expression, true when the members in numbered parameters `$first` and
    `$second` have a block between them: for a hot query that reads it beside its row."""
    return blocked_between_columns_sql(f"${first}", f"${second}")


def blocked_between_columns_sql(first: str, second: str) -> str:
    """`blocked_between_sql` for two SQL expressions (columns of a query's own rows)."""
    return (
        f"EXISTS (SELECT 1 FROM safety_block WHERE (blocker = {first} AND blocked = {second})"
        f" OR (blocker = {second} AND blocked = {first}))"
    )


async def blocked_between(first_id: uuid.UUID, second_id: uuid.UUID) -> bool:
    return bool(
        await Block.exists()
        .where(
            ((Block.blocker == first_id) & (Block.blocked == second_id))
            | ((Block.blocker == second_id) & (Block.blocked == first_id))
        )
        .run()
    )


def blocked_problem() -> Forbidden:
    return Forbidden(
        code="blocked",
        detail=_("You cannot contact this member: one of you has blocked the other."),
    )


async def refuse_if_blocked(actor_id: uuid.UUID, other_ids: list[uuid.UUID]) -> None:
    """403 `blocked` when the actor and any of `other_ids` have a block between them."""
    for other_id in other_ids:
        if other_id != actor_id and await blocked_between(actor_id, other_id):
            raise blocked_problem()


@dataclass(frozen=True, slots=True)
class BlockedMember:
    member_id: uuid.UUID
    display_name: str
    blocked_at: datetime


async def blocks_of(member_id: uuid.UUID) -> list[BlockedMember]:
    """The members `member_id` has blocked, newest first."""
    rows = (
        await Block.select(Block.blocked, Block.created_at)
        .where(Block.blocker == member_id)
        .order_by(Block.created_at, ascending=False)
        .limit(BLOCKS_MAX)
        .run()
    )
    ids = [row["blocked"] for row in rows]
    if not ids:
        return []
    names = {
        row["id"]: row["display_name"]
        for row in await Member.select(Member.id, Member.display_name)
        .where(Member.id.is_in(ids))
        .run()
    }
    return [
        BlockedMember(
            member_id=uuid.UUID(str(row["blocked"])),
            display_name=names.get(row["blocked"]) or _("A former member"),
            blocked_at=row["created_at"],
        )
        for row in rows
    ]


async def has_blocked(blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    return bool(
        await Block.exists()
        .where((Block.blocker == blocker_id) & (Block.blocked == blocked_id))
        .run()
    )

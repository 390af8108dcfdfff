"""The desk's JSON API: a coordinator's members, one member's statement, declining."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from service.desk import selectors as desk
from service.desk.schemas import DeskMemberOut, DeskPageOut
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.http.idempotency import idempotency_middleware
from service.limits import (
    CURSOR_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SEARCH_TEXT_CHARS_MAX,
    SLUG_CHARS_MAX,
)
from service.members import offline
from service.members.communities import community_by_slug
from service.members.registration import member_decline
from service.members.schemas import SLUG_PATTERN, DeclineIn, MemberOut, OfflineMemberIn
from service.members.views import member_out
from service.transfers import services as transfers
from service.transfers.schemas import StatementOut, statement_out


def desk_member_out(row: desk.DeskRow) -> DeskMemberOut:
    return DeskMemberOut(
        id=row.id,
        display_name=row.display_name,
        status=row.status,  # type: ignore[arg-type]
        has_login=row.has_login,
        available_minutes=row.available_minutes,
        balance_minutes=row.balance_minutes,
        last_exchange_at=row.last_exchange_at,
        ward=row.ward,
        community=row.community_name,
        inactive_days=row.inactive_days,
    )


async def community_id_of(slug: str | None) -> uuid.UUID | None:
    """The community a desk filter names; unknown -> 404 (out of reach finds no one anyway)."""
    if slug is None:
        return None
    return (await community_by_slug(slug)).id


class DeskController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/members"
    tags = ("coordinator",)

    @get("/")
    async def members(
        self,
        *,
        member: CurrentMember,
        ledger: LedgerDep,
        q: Annotated[str, QueryParameter(max_length=SEARCH_TEXT_CHARS_MAX)] = "",
        status: FromQuery[desk.DeskStatus | None] = None,
        inactive_days: Annotated[
            int | None, QueryParameter(ge=1, le=desk.INACTIVE_DAYS_MAX)
        ] = None,
        community: Annotated[
            str | None, QueryParameter(max_length=SLUG_CHARS_MAX, pattern=SLUG_PATTERN)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)] = None,
    ) -> DeskPageOut:
        """Members of the caller's communities (every community for admins), by name."""
        filters = desk.DeskFilters(
            q=q,
            status=status,
            inactive_days=inactive_days,
            community_id=await community_id_of(community),
        )
        rows, next_cursor = await desk.desk_members(
            actor=member, ledger=ledger, filters=filters, limit=limit, cursor=cursor
        )
        return DeskPageOut(items=[desk_member_out(row) for row in rows], next_cursor=next_cursor)

    @post("/", status_code=HTTP_201_CREATED, middleware=[idempotency_middleware])
    async def create_without_login(
        self,
        member: CurrentMember,
        data: JSONBody[OfflineMemberIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> MemberOut:
        """A member who is not online: no login, active at once (issue 16, ADR 0030)."""
        created = await offline.member_create_offline(
            engine=engine, ledger=ledger, actor=member, data=data
        )
        return await member_out(created)

    @get("/{member_id:uuid}/statement")
    async def statement(
        self,
        member: CurrentMember,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)] = None,
    ) -> StatementOut:
        """That member's statement, in the shape of the member's own."""
        await desk.desk_member(actor=member, member_id=member_id)
        items, next_cursor = await transfers.member_statement_page(
            ledger=ledger, member_id=member_id, limit=limit, cursor=cursor
        )
        return statement_out(items, next_cursor)

    @post("/{member_id:uuid}/decline", status_code=200, opt=on_object("member", "member_id"))
    async def decline(
        self,
        member: CurrentMember,
        engine: EngineDep,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[DeclineIn],
    ) -> DeskMemberOut:
        """Decline a pending applicant with a reason: status `declined`, and they are told."""
        await member_decline(
            engine=engine, actor=member, member_id=member_id, reason=data.reason.strip()
        )
        row = await desk.desk_row(actor=member, ledger=ledger, member_id=member_id)
        return desk_member_out(row)


ROUTERS = [DeskController]

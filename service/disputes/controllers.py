"""The disputes JSON API: thin handlers that parse, call one service function, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.disputes import resolution as disputes_resolution
from service.disputes import selectors as disputes_selectors
from service.disputes import services
from service.disputes.schemas import (
    CorrectionOut,
    DisputeIn,
    DisputeOut,
    DisputePage,
    DisputeStatus,
    DisputeSummaryOut,
    ResolveIn,
    StatementIn,
    StatementOut,
)
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.http.idempotency import idempotency_middleware
from service.limits import CURSOR_CHARS_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from service.principal import Principal, require_admin


def dispute_out(view: disputes_selectors.DisputeView) -> DisputeOut:
    dispute = view.dispute
    return DisputeOut(
        id=view.id,
        exchange_id=dispute.exchange,
        community_id=dispute.community,
        status=dispute.status,  # type: ignore[arg-type]
        opened_by_id=dispute.opened_by,
        opened_by_name=view.name_of(dispute.opened_by),
        reason=dispute.reason,
        opened_at=dispute.opened_at,
        exchange_completed_at=view.completed_at,
        outcome=dispute.outcome,  # type: ignore[arg-type]
        resolution_note=dispute.resolution_note,
        resolved_by_id=dispute.resolved_by,
        resolved_at=dispute.resolved_at,
        statements=[
            StatementOut(
                id=statement.id,
                author_id=statement.author,
                author_name=view.name_of(statement.author),
                body=statement.body,
                at=statement.at,
            )
            for statement in view.statements
        ],
        corrections=[
            CorrectionOut(
                recipient_id=correction.recipient,
                recipient_name=view.name_of(correction.recipient),
                outcome=correction.outcome,  # type: ignore[arg-type]
                minutes=correction.minutes,
                original_transfer_id=correction.original_transfer_id,
                reversal_transfer_id=correction.reversal_transfer_id,
                below_floor_minutes=correction.below_floor_minutes,
            )
            for correction in view.corrections
        ],
    )


def summary_out(item: disputes_selectors.QueueItem) -> DisputeSummaryOut:
    dispute = item.dispute
    return DisputeSummaryOut(
        id=dispute.id,
        exchange_id=dispute.exchange,
        status=dispute.status,  # type: ignore[arg-type]
        outcome=dispute.outcome,  # type: ignore[arg-type]
        opened_by_name=item.opened_by_name,
        reason=dispute.reason,
        opened_at=dispute.opened_at,
        resolved_at=dispute.resolved_at,
        minutes=item.exchange.minutes,
        description=item.exchange.description,
    )


async def _out(actor: Principal, dispute_id: uuid.UUID) -> DisputeOut:
    return dispute_out(await disputes_selectors.dispute_get(actor=actor, dispute_id=dispute_id))


class DisputesController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1"
    tags = ("disputes",)

    @post(
        "/exchanges/{exchange_id:uuid}/dispute",
        status_code=HTTP_201_CREATED,
        opt=on_object("exchange", "exchange_id"),
    )
    async def open_dispute(
        self,
        member: CurrentMember,
        exchange_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeIn],
        engine: EngineDep,
    ) -> DisputeOut:
        dispute_id = await services.dispute_open(
            engine=engine, actor=member, exchange_id=exchange_id, reason=data.reason
        )
        return await _out(member, dispute_id)

    @get("/disputes")
    async def own(self, member: CurrentMember) -> DisputePage:
        items = await disputes_selectors.disputes_of(actor=member)
        return DisputePage(items=[summary_out(item) for item in items], next_cursor=None)

    @get("/disputes/{dispute_id:uuid}")
    async def one(self, member: CurrentMember, dispute_id: FromPath[uuid.UUID]) -> DisputeOut:
        return await _out(member, dispute_id)

    @post(
        "/disputes/{dispute_id:uuid}/statements",
        status_code=HTTP_201_CREATED,
        opt=on_object("dispute", "dispute_id"),
    )
    async def add_statement(
        self,
        member: CurrentMember,
        dispute_id: FromPath[uuid.UUID],
        data: JSONBody[StatementIn],
        engine: EngineDep,
    ) -> DisputeOut:
        await services.dispute_add_statement(
            engine=engine, actor=member, dispute_id=dispute_id, body=data.body
        )
        return await _out(member, dispute_id)


class AdminDisputesController(Controller):
    opt = access(Access.ADMIN)
    path = "/api/v1/admin/disputes"
    tags = ("admin",)

    @get("/")
    async def queue(
        self,
        member: CurrentMember,
        status: Annotated[DisputeStatus | None, QueryParameter()] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)] = None,
    ) -> DisputePage:
        items, next_cursor = await disputes_selectors.dispute_queue(
            actor=member, status=status, limit=limit, cursor=cursor
        )
        return DisputePage(items=[summary_out(item) for item in items], next_cursor=next_cursor)

    @get("/{dispute_id:uuid}")
    async def one(self, member: CurrentMember, dispute_id: FromPath[uuid.UUID]) -> DisputeOut:
        require_admin(member)
        return await _out(member, dispute_id)

    @post(
        "/{dispute_id:uuid}/resolve",
        status_code=HTTP_200_OK,
        middleware=[idempotency_middleware],
        opt=on_object("dispute", "dispute_id"),
    )
    async def resolve(
        self,
        member: CurrentMember,
        dispute_id: FromPath[uuid.UUID],
        data: JSONBody[ResolveIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> DisputeOut:
        view = await disputes_resolution.dispute_resolve(
            engine=engine, ledger=ledger, actor=member, dispute_id=dispute_id, data=data
        )
        return dispute_out(view)


ROUTERS = [DisputesController, AdminDisputesController]

__all__ = ["ROUTERS"]

"""The exchanges JSON API: thin handlers that parse, call one service function, shape the answer.

Also the lifespan hook that sweeps expired holds while the app runs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ledger import WriteTransaction
from service.exchanges import done as exchanges_done
from service.exchanges import recording as exchanges_recording
from service.exchanges import selectors as exchanges_selectors
from service.exchanges import services
from service.exchanges.schemas import (
    EventOut,
    ExchangeDetailOut,
    ExchangeIn,
    ExchangeOut,
    ExchangePage,
    ExchangeStatus,
    PartyOut,
    RecipientOut,
    RecordIn,
)
from service.exchanges.transitions import ExchangeStep, exchange_step_take
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep, SettingsDep
from service.http.idempotency import (
    idempotency_middleware,
    idempotency_middleware_in_write,
    key_from_scope,
    keyed_reply_from_scope,
)
from service.limits import (
    CURSOR_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
)
from service.principal import Principal, require_any_coordinator


def exchange_out(view: exchanges_selectors.ExchangeView) -> ExchangeOut:
    exchange = view.exchange
    return ExchangeOut(
        id=view.id,
        status=view.status,  # type: ignore[arg-type]
        community_id=exchange.community,
        provider=PartyOut(
            id=view.provider_id,
            display_name=view.name_of(view.provider_id),
            accepted=view.provider_id in view.accepted,
        ),
        recipients=[
            RecipientOut(
                id=recipient.member_id,
                display_name=view.name_of(recipient.member_id),
                accepted=recipient.member_id in view.accepted,
                pending_transfer_id=recipient.pending_transfer_id,
                transfer_id=recipient.transfer_id,
            )
            for recipient in view.recipients
        ],
        proposer_id=exchange.proposer,
        minutes=exchange.minutes,
        service_date=exchange.service_date,
        description=exchange.description,
        listing_id=exchange.listing,
        hold_expires_at=exchange.hold_expires_at,
        recorded_by_id=exchange.recorded_by,
        marked_done_at=exchange.marked_done_at,
        autoconfirm_at=exchange.autoconfirm_at,
        in_home=bool(exchange.in_home),
        awaiting_ids=view.awaiting,
        created_at=exchange.created_at,
        updated_at=exchange.updated_at,
    )


def exchange_detail_out(view: exchanges_selectors.ExchangeView) -> ExchangeDetailOut:
    summary = exchange_out(view)
    return ExchangeDetailOut(
        **{field: getattr(summary, field) for field in summary.__struct_fields__},
        history=[
            EventOut(
                at=event.at,
                actor_id=event.actor,
                actor_name=view.name_of(event.actor),
                action=event.action,
                note=event.note,
                recorded_by_id=event.recorded_by,
                recorded_by_name=view.name_of(event.recorded_by) if event.recorded_by else None,
            )
            for event in view.history
        ],
    )


async def _detail(actor: Principal, exchange_id: uuid.UUID) -> ExchangeDetailOut:
    return exchange_detail_out(
        await exchanges_selectors.exchange_get(actor=actor, exchange_id=exchange_id)
    )


class _StepReply:
    """A step's reply, read and rendered inside its write transaction (ADR 0052).

    Keyed requests store it there too, so the middleware commits no reservation
    before the step and no reply after it; unkeyed ones answer with it. Either way
    nothing is read again after the commit. A retried transaction renders it again.
    """

    def __init__(self, request: Request[Any, Any, Any], actor: Principal, status: int) -> None:
        self.actor = actor
        self.status = status
        self.keyed = keyed_reply_from_scope(request.scope)
        self.reply: ExchangeDetailOut | None = None

    async def __call__(self, transaction: WriteTransaction, exchange_id: uuid.UUID) -> None:
        self.reply = await _detail(self.actor, exchange_id)
        if self.keyed is not None:
            await self.keyed.store(transaction.connection, self.status, encode_json(self.reply))

    async def or_read(self, exchange_id: uuid.UUID) -> ExchangeDetailOut:
        """The reply rendered in the write; read now if the step wrote nothing (a repeat)."""
        return self.reply or await _detail(self.actor, exchange_id)


def _step_route(step: ExchangeStep) -> HTTPRouteHandler:
    """The API handler of one step: take it, answer with the exchange as it now stands."""

    async def take_step(
        self: Controller,  # noqa: ARG001 - Litestar binds a handler to its controller
        *,
        request: Request[Any, Any, Any],
        member: CurrentMember,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> ExchangeDetailOut:
        reply = _StepReply(request, member, HTTP_200_OK)
        await exchange_step_take(
            step=step,
            engine=engine,
            ledger=ledger,
            actor=member,
            exchange_id=exchange_id,
            hold_seconds=settings.exchange_hold_seconds,
            after=reply,
        )
        return await reply.or_read(exchange_id)

    take_step.__name__ = take_step.__qualname__ = step
    return post(
        f"/exchanges/{{exchange_id:uuid}}/{step}",
        status_code=HTTP_200_OK,
        middleware=[idempotency_middleware_in_write],
        opt=on_object("exchange", "exchange_id"),
    )(take_step)


class ExchangesController(Controller):
    opt = access(Access.MEMBER, acting=True)
    path = "/api/v1"
    tags = ("exchanges",)

    @post("/exchanges", status_code=HTTP_201_CREATED, middleware=[idempotency_middleware_in_write])
    async def propose(
        self,
        request: Request[Any, Any, Any],
        member: CurrentMember,
        data: JSONBody[ExchangeIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> ExchangeDetailOut:
        reply = _StepReply(request, member, HTTP_201_CREATED)
        exchange_id = await services.exchange_propose(
            engine=engine,
            ledger=ledger,
            actor=member,
            data=data,
            idempotency_key=key_from_scope(request.scope),
            after=reply,
        )
        return await reply.or_read(exchange_id)

    @get("/exchanges")
    async def list_own(
        self,
        member: CurrentMember,
        status: Annotated[ExchangeStatus | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)] = None,
    ) -> ExchangePage:
        views, next_cursor = await exchanges_selectors.exchanges_of(
            actor=member, status=status, limit=limit, cursor=cursor
        )
        return ExchangePage(items=[exchange_out(view) for view in views], next_cursor=next_cursor)

    @get("/exchanges/{exchange_id:uuid}")
    async def one(
        self, member: CurrentMember, exchange_id: FromPath[uuid.UUID]
    ) -> ExchangeDetailOut:
        return await _detail(member, exchange_id)

    # One handler per step, built by _step_route: they differ only in the step's name.
    accept = _step_route("accept")
    complete = _step_route("complete")
    cancel = _step_route("cancel")

    @post(
        "/exchanges/{exchange_id:uuid}/mark-done",
        status_code=HTTP_200_OK,
        middleware=[idempotency_middleware],
        opt=on_object("exchange", "exchange_id"),
    )
    async def mark_done(
        self,
        member: CurrentMember,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> ExchangeDetailOut:
        """The provider says the help happened; the recipients are asked to confirm."""
        await exchanges_done.exchange_mark_done(
            engine=engine,
            ledger=ledger,
            actor=member,
            exchange_id=exchange_id,
            default_days=settings.exchange_autoconfirm_days,
        )
        return await _detail(member, exchange_id)


class CoordinatorExchangesController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator"
    tags = ("coordinator",)

    @post("/exchanges", status_code=HTTP_201_CREATED, middleware=[idempotency_middleware])
    async def record(
        self,
        request: Request[Any, Any, Any],
        member: CurrentMember,
        data: JSONBody[RecordIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> ExchangeDetailOut:
        require_any_coordinator(member)
        exchange_id = await exchanges_recording.exchange_record(
            engine=engine,
            ledger=ledger,
            actor=member,
            data=data,
            idempotency_key=key_from_scope(request.scope),
        )
        return await _detail(member, exchange_id)


ROUTERS = [ExchangesController, CoordinatorExchangesController]

"""The exchanges' pages: propose, accept, confirm, mark done and cancel.

Thin like the other pages (service/members/pages.py, listing_pages.py): read
the form, check it, call one service function from service/exchanges/services.py,
then render or redirect (POST-redirect-GET with a `done` flag that picks a fixed
message). A service DomainError about the input (409 insufficient credit, 422 bad
field) is shown on the page; 403 and 404 become error pages. How exchanges are
shown is in page_views.py; the forms in page_forms.py; the coordinators' recording
in record_pages.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template
from piccolo.engine.base import Engine

from ledger import Ledger
from service.errors import DomainError
from service.exchanges import done as exchanges_done
from service.exchanges import selectors as exchanges_selectors
from service.exchanges import services as exchanges
from service.exchanges.listing_context import ListingContext, proposal_listing
from service.exchanges.page_forms import (
    EXCHANGE_LABELS,
    ROLE_OPTIONS,
    SERVICE_FIELDS,
    ExchangeForm,
    help_fields,
    help_start,
)
from service.exchanges.page_views import (
    DONE_MESSAGES,
    detail_page,
    exchange_rows,
    refused_page,
)
from service.exchanges.schemas import EXCHANGE_STATUSES, ExchangeIn
from service.exchanges.steps import service_date_problems
from service.exchanges.transitions import ExchangeStep, exchange_step_take
from service.exchanges.words import status_words
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep, SettingsDep
from service.i18n import N_, _
from service.limits import CURSOR_CHARS_MAX, EXCHANGE_DESCRIPTION_CHARS_MAX, REASON_CHARS_MAX
from service.members.selectors import MemberPicks
from service.principal import Principal
from service.settings import Settings
from service.web.forms import confirmed, member_field
from service.web.kit import (
    FORM_INVALID_STATUS,
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    render,
    see_other,
    translated_options,
)
from service.web.pickers import PickerSpec, form_pickers

EXCHANGES_PER_PAGE = 20


class StepForm(msgspec.Struct, kw_only=True):
    confirm: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StepCall:
    """One step taken on an exchange from its page: by whom, on what, with what posted."""

    engine: Engine[Any]
    ledger: Ledger
    viewer: Principal
    exchange_id: uuid.UUID
    settings: Settings
    data: StepForm


# The steps differ only in what they call. A step that cannot be undone (cancel,
# decline) first asks for a ticked box (service/web/forms.py `confirmed`, ADR 0034).
StepTaker = Callable[[StepCall], Awaitable[None]]


def _party_step(step: ExchangeStep) -> StepTaker:
    async def take(call: StepCall) -> None:
        await exchange_step_take(
            step=step,
            engine=call.engine,
            ledger=call.ledger,
            actor=call.viewer,
            exchange_id=call.exchange_id,
            hold_seconds=call.settings.exchange_hold_seconds,
        )

    return take


async def _mark_done(call: StepCall) -> None:
    await exchanges_done.exchange_mark_done(
        engine=call.engine,
        ledger=call.ledger,
        actor=call.viewer,
        exchange_id=call.exchange_id,
        default_days=call.settings.exchange_autoconfirm_days,
    )


async def _decline(call: StepCall) -> None:
    await exchanges.exchange_cancel(
        engine=call.engine,
        ledger=call.ledger,
        actor=call.viewer,
        exchange_id=call.exchange_id,
        decline_reason=call.data.reason.strip(),
    )


def _step_form(data: StepForm, confirm_message: str | None) -> Form:
    """The step's form checked: the box ticked where the step asks for it, the reason short."""
    form = Form.of(data)
    if confirm_message is not None:
        confirmed(form, data.confirm, confirm_message)
    if len(data.reason.strip()) > REASON_CHARS_MAX:
        form.errors["reason"] = _("Give the reason in %(chars)s characters or fewer") % {
            "chars": REASON_CHARS_MAX
        }
    return form


def _step_route(
    path: str, done: str, take: StepTaker, *, confirm_message: str | None = None
) -> HTTPRouteHandler:
    """The form handler of one step: take it, then show the exchange with its notice
    (`done`), or the refusal (or the unticked box) on the exchange's page."""

    async def take_step(
        self: Controller,  # noqa: ARG001 - Litestar binds a handler to its controller
        *,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        data: URLEncodedBody[StepForm],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> Response[Any]:
        form = _step_form(data, confirm_message)
        if form.failed:
            return await detail_page(
                viewer, exchange_id, form=form, status=FORM_INVALID_STATUS, failed_step=path
            )
        try:
            await take(StepCall(engine, ledger, viewer, exchange_id, settings, data))
        except DomainError as problem:
            return await refused_page(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done=done)

    take_step.__name__ = take_step.__qualname__ = path.replace("-", "_")
    return post(f"/{{exchange_id:uuid}}/{path}")(take_step)


class ExchangePages(PageController):
    opt = access(Access.MEMBER, acting=True)
    path = "/exchanges"

    @get("/")
    async def mine(
        self,
        viewer: Viewer,
        status: Annotated[str, QueryParameter(max_length=20)] = "",
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        chosen = status if status in EXCHANGE_STATUSES else ""
        views, next_cursor = await exchanges_selectors.exchanges_of(
            actor=viewer, status=chosen or None, limit=EXCHANGES_PER_PAGE, cursor=cursor or None
        )
        query = {"status": chosen} if chosen else {}
        next_url = (
            "/exchanges?" + urlencode({**query, "cursor": next_cursor}) if next_cursor else None
        )
        return render(
            "market/exchanges.html",
            viewer=viewer,
            title=_("Your exchanges"),
            current="exchanges",
            form=Form(values={"status": chosen}),
            items=await exchange_rows(viewer, views),
            next_url=next_url,
            first_url="/exchanges" + (f"?{urlencode(query)}" if query else ""),
            later_page=bool(cursor),
            status_options=[(value, status_words(value)) for value in EXCHANGE_STATUSES],
        )

    @get("/new")
    async def new_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        listing: Annotated[str, QueryParameter(max_length=40)] = "",
    ) -> Template:
        context = await proposal_listing(viewer, listing)
        values = {"role": "provide", **help_start()}
        if context is not None:
            values.update(
                role=context.viewer_role,
                other=str(context.owner_id),
                listing=str(context.id),
                description=context.title,
            )
        return await _propose_page(viewer, Form(values=values), context, query=request.query_params)

    @post("/new")
    async def propose(
        self,
        viewer: Viewer,
        data: URLEncodedBody[ExchangeForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        form = Form.of(data)
        context = await proposal_listing(viewer, data.listing)
        if context is not None:
            role = context.viewer_role
            other: uuid.UUID | None = context.owner_id
        else:
            role = data.role
            if role not in ("provide", "receive"):
                form.errors["role"] = _("Choose who helps whom")
            other = member_field(form, "other", data.other, _("Choose the other member"))
        minutes, service_date, description = help_fields(form, data)
        for problem in service_date_problems(service_date, future_allowed=True):
            form_refused(form, problem, EXCHANGE_LABELS)
        if form.failed or other is None or minutes is None or service_date is None:
            return await _propose_page(viewer, form, context, status=422)
        provider, recipient = (
            (viewer.member_id, other) if role == "provide" else (other, viewer.member_id)
        )
        try:
            exchange_id = await exchanges.exchange_propose(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                data=ExchangeIn(
                    provider_id=provider,
                    recipient_id=recipient,
                    minutes=minutes,
                    service_date=service_date,
                    description=description,
                    listing_id=context.id if context else None,
                ),
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, EXCHANGE_LABELS, moves=SERVICE_FIELDS)
            return await _propose_page(viewer, form, context, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="proposed")

    @get("/{exchange_id:uuid}")
    async def detail(
        self, viewer: Viewer, exchange_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await detail_page(viewer, exchange_id, notice=done_message(DONE_MESSAGES, done))

    # One handler per step, built by _step_route: they differ only in what they call.
    accept = _step_route("accept", "accepted", _party_step("accept"))
    complete = _step_route("complete", "completed", _party_step("complete"))
    cancel = _step_route(
        "cancel",
        "cancelled",
        _party_step("cancel"),
        confirm_message=N_("Tick the box to confirm that you want to cancel the exchange"),
    )
    decline = _step_route(
        "decline",
        "declined",
        _decline,
        confirm_message=N_("Tick the box to confirm that you want to decline the exchange"),
    )
    mark_done = _step_route("mark-done", "marked_done", _mark_done)


async def _propose_page(
    viewer: Principal,
    form: Form,
    context: ListingContext | None,
    *,
    query: Mapping[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    picker = None
    if context is None:
        picks = MemberPicks(frozenset({viewer.community_id}), without=viewer.member_id)
        specs = [PickerSpec("other", _("The other member"), picks)]
        picker = (await form_pickers("/exchanges/new", specs, query, form))["other"]
    return render(
        "market/exchange_form.html",
        viewer=viewer,
        title=_("Propose an exchange"),
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        listing=context,
        role_options=translated_options(ROLE_OPTIONS),
        picker=picker,
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


PAGE_ROUTERS = [ExchangePages]

"""The exchanges' and giving pages: propose, accept, confirm, cancel, give, statement,
and the coordinators' recording and pool grants.

Thin like the other pages (service/members/pages.py, listing_pages.py): read
the form, check it, call one service function from service/exchanges/services.py
or transfers.py, then render or redirect (POST-redirect-GET with a `done` flag
that picks a fixed message). A service DomainError about the input (409
insufficient credit, 422 bad field) is shown on the page; 403 and 404 become
error pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from service.errors import Conflict, DomainError, Forbidden, NotFound
from service.exchanges import done as exchanges_done
from service.exchanges import recording as exchanges_recording
from service.exchanges import selectors as exchanges_selectors
from service.exchanges import services as exchanges
from service.exchanges.panels import dispute_panel, dispute_statuses, thanks_panel
from service.exchanges.schemas import EXCHANGE_STATUSES, ExchangeIn, RecordIn
from service.exchanges.transitions import ExchangeStep, exchange_step_take
from service.formatting import minutes_text
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep, SettingsDep
from service.limits import (
    CURSOR_CHARS_MAX,
    EXCHANGE_DESCRIPTION_CHARS_MAX,
    EXCHANGE_MINUTES_MAX,
)
from service.listings import services as listings
from service.members.selectors import MemberPicks, coordinated_picks
from service.principal import Principal, require_any_coordinator
from service.problems import status_of
from service.web.forms import (
    duration_field,
    move_errors,
    service_date_field,
    text_field,
    uuid_or_none,
)
from service.web.kit import (
    PAGE_DEPENDENCIES,
    Form,
    Viewer,
    done_message,
    form_idempotency_key,
    form_refused,
    page_exception_handlers,
    problem_status,
    render,
    see_other,
    show_problem,
)
from service.web.pickers import PickerSpec, pickers_for

EXCHANGES_PER_PAGE = 20

DONE_MESSAGES = {
    "proposed": "Your proposal has been sent. The other member needs to accept it.",
    "accepted": "You have accepted this exchange.",
    "completed": "Thank you for confirming. The hours have moved.",
    "cancelled": "The exchange has been cancelled. Any hours on hold were released.",
    "recorded": "The exchange has been recorded and the hours have moved.",
    "marked_done": "Thank you. We have asked the other member to confirm the help.",
    "thanked": "Your thank-you note is on their profile now.",
}
# The `done` flag each step redirects with (it picks the notice above).
STEP_DONE = {"accept": "accepted", "complete": "completed", "cancel": "cancelled"}
STATUS_NAMES = {
    "proposed": "Waiting for acceptance",
    "accepted": "Agreed, waiting for confirmation",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "expired": "Expired",
}
ACTION_NAMES = {
    "propose": "Proposed",
    "agree": "Agreed",
    "accept": "Accepted",
    "complete": "Confirmed the help happened",
    "cancel": "Cancelled",
    "expire": "Expired",
    "record": "Recorded by a coordinator",
    "dispute": "Disputed",
    "dispute_resolved": "Dispute decided",
    "mark_done": "Marked as done",
    "autoconfirm": "Confirmed by itself",
}
ROLE_OPTIONS = [("provide", "I will help them"), ("receive", "They will help me")]


# Forms as posted: every field a string, so a bad value is shown, never a 400. -------


class ExchangeForm(msgspec.Struct, kw_only=True):
    role: str = ""
    other: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""
    listing: str = ""


class RecordForm(msgspec.Struct, kw_only=True):
    provider: str = ""
    recipient: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""
    form_token: str = ""


EXCHANGE_LABELS = {
    "other": "The other member",
    "provider_id": "The other member",
    "recipient_id": "The other member",
    "recipient_ids": "The other member",
    "hours": "How long",
    "minutes": "How long",
    "service_date": "Date of the help",
    "description": "What the help is",
}
RECORD_LABELS = {
    "provider": "Who helped",
    "provider_id": "Who helped",
    "recipient": "Who was helped",
    "recipient_id": "Who was helped",
    "hours": "How long",
    "minutes": "How long",
    "service_date": "Date of the help",
    "description": "What the help was",
}
# Service field names -> the form field that shows them.
SERVICE_FIELDS = {
    "provider_id": "other",
    "recipient_id": "other",
    "recipient_ids": "other",
    "minutes": "hours",
}
RECORD_FIELDS = {"provider_id": "provider", "recipient_id": "recipient", "minutes": "hours"}


# Who can be chosen -------------------------------------------------------------------


# Exchanges ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingContext:
    id: uuid.UUID
    title: str
    kind: str
    owner_id: uuid.UUID
    owner_name: str


def _step_route(step: ExchangeStep) -> HTTPRouteHandler:
    """The form handler of one step: take it, then show the exchange with its notice, or
    the refusal on the exchange's page."""

    async def take_step(
        self: Controller,  # noqa: ARG001 - Litestar binds a handler to its controller
        *,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> Response[Any]:
        try:
            await exchange_step_take(
                step=step,
                engine=engine,
                ledger=ledger,
                actor=viewer,
                exchange_id=exchange_id,
                hold_seconds=settings.exchange_hold_seconds,
            )
        except DomainError as problem:
            return await _refused(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done=STEP_DONE[step])

    take_step.__name__ = take_step.__qualname__ = step
    return post(f"/{{exchange_id:uuid}}/{step}")(take_step)


class ExchangePages(Controller):
    opt = access(Access.MEMBER, acting=True)
    path = "/exchanges"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

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
            title="Your exchanges",
            current="exchanges",
            form=Form(values={"status": chosen}),
            items=await _rows(viewer, views),
            next_url=next_url,
            first_url="/exchanges" + (f"?{urlencode(query)}" if query else ""),
            later_page=bool(cursor),
            status_options=[(value, STATUS_NAMES[value]) for value in EXCHANGE_STATUSES],
        )

    @get("/new")
    async def new_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        listing: Annotated[str, QueryParameter(max_length=40)] = "",
    ) -> Template:
        context = await _listing_context(viewer, listing)
        values = {
            "role": "provide",
            "service_date": datetime.now(UTC).date().isoformat(),
            "hours": "1",
            "minutes": "0",
        }
        if context is not None:
            values.update(
                role="receive" if context.kind == "offer" else "provide",
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
        context = await _listing_context(viewer, data.listing)
        if context is not None:
            role = "receive" if context.kind == "offer" else "provide"
            other: uuid.UUID | None = context.owner_id
        else:
            role = data.role
            other = uuid_or_none(data.other)
            if role not in ("provide", "receive"):
                form.errors["role"] = "Choose who helps whom"
            if other is None:
                form.errors["other"] = "Choose the other member"
        minutes, service_date, description = _help_fields(form, data)
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
            reshow = form_refused(form, problem, EXCHANGE_LABELS)
            move_errors(form, SERVICE_FIELDS)
            return await _propose_page(viewer, form, context, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="proposed")

    @get("/{exchange_id:uuid}")
    async def detail(
        self, viewer: Viewer, exchange_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _detail_page(viewer, exchange_id, notice=done_message(DONE_MESSAGES, done))

    # One handler per step, built by _step_route: they differ only in the step's name.
    accept = _step_route("accept")
    complete = _step_route("complete")
    cancel = _step_route("cancel")

    @post("/{exchange_id:uuid}/mark-done")
    async def mark_done(
        self,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> Response[Any]:
        try:
            await exchanges_done.exchange_mark_done(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                exchange_id=exchange_id,
                default_days=settings.exchange_autoconfirm_days,
            )
        except DomainError as problem:
            return await _refused(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done="marked_done")


def _help_fields(
    form: Form, data: ExchangeForm | RecordForm
) -> tuple[int | None, datetime | None, str]:
    """What every exchange form asks: how long, when, and what the help was."""
    minutes = duration_field(form, data, EXCHANGE_MINUTES_MAX)
    service_date = service_date_field(form, data.service_date)
    description = text_field(
        form,
        "description",
        data.description,
        f"Describe the help, in {EXCHANGE_DESCRIPTION_CHARS_MAX} characters or fewer",
        EXCHANGE_DESCRIPTION_CHARS_MAX,
    )
    return minutes, service_date, description


async def _listing_context(viewer: Principal, raw: str) -> ListingContext | None:
    """The listing an exchange is proposed from (an open one of another member), if any."""
    if not raw.strip():
        return None
    listing_id = uuid_or_none(raw)
    if listing_id is None:
        raise NotFound(code="not_found", detail="That listing was not found.")
    listing = await listings.listing_by_id(actor=viewer, listing_id=listing_id)
    if listing.owner is None:
        # Seen in summary (ADR 0020): the owner is not the viewer's to know.
        raise Forbidden(
            code="forbidden",
            detail="Only members of this listing's time bank can propose an exchange from it.",
        )
    if listing.owner.id == viewer.member_id:
        raise Conflict(
            code="own_listing",
            detail="This is your own listing: other members propose exchanges from it.",
        )
    if listing.status != "open":
        raise Conflict(
            code="listing_withdrawn",
            detail="This listing has been withdrawn, so no exchange can be proposed from it.",
        )
    return ListingContext(
        listing.id, listing.title, listing.kind, listing.owner.id, listing.owner.display_name
    )


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
        pickers = await pickers_for(
            "/exchanges/new",
            [PickerSpec("other", "The other member", picks)],
            query or {},
            chosen_values={"other": form.values.get("other", "")},
        )
        picker = pickers["other"]
    return render(
        "market/exchange_form.html",
        viewer=viewer,
        title="Propose an exchange",
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        listing=context,
        role_options=ROLE_OPTIONS,
        picker=picker,
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


# A completed exchange someone disputed reads as disputed until the decision.
DISPUTE_STATUS_NAMES = {
    "open": "Disputed: waiting for a decision",
    "resolved": "Completed, then a dispute was decided",
}


async def _rows(
    viewer: Principal, views: list[exchanges_selectors.ExchangeView]
) -> list[dict[str, Any]]:
    disputed = await dispute_statuses(exchange_ids=[view.id for view in views])
    rows = [_row(viewer, view) for view in views]
    for row in rows:
        if row["id"] in disputed:
            row["status"] = DISPUTE_STATUS_NAMES.get(disputed[row["id"]], row["status"])
    return rows


def _row(viewer: Principal, view: exchanges_selectors.ExchangeView) -> dict[str, Any]:
    providing = view.provider_id == viewer.member_id
    others = [view.provider_id] if not providing else list(view.recipient_ids)
    return {
        "id": view.id,
        "service_date": view.exchange.service_date,
        "description": view.exchange.description,
        "with": ", ".join(view.name_of(member) for member in others),
        "role": "You help" if providing else "You are helped",
        "hours": minutes_text(view.exchange.minutes),
        "status": STATUS_NAMES.get(view.status, view.status),
        "waiting_for_you": exchanges_selectors.waits_for(viewer, view),
    }


async def _detail_page(
    viewer: Principal,
    exchange_id: uuid.UUID,
    *,
    notice: str | None = None,
    form: Form | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Template:
    view = await exchanges_selectors.exchange_get(actor=viewer, exchange_id=exchange_id)
    me = viewer.member_id
    steps = exchanges_selectors.steps_open(viewer, view)
    panel = await dispute_panel(actor=viewer, view=view)
    thanks = await thanks_panel(actor=viewer, view=view)
    return render(
        "market/exchange_detail.html",
        viewer=viewer,
        title="Exchange: " + view.exchange.description[:60],
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        view=view,
        exchange=view.exchange,
        status_name=STATUS_NAMES.get(view.status, view.status),
        hours=minutes_text(view.exchange.minutes),
        provider_name=view.name_of(view.provider_id),
        recipients=[
            (view.name_of(member), member in view.accepted, member == me)
            for member in view.recipient_ids
        ],
        provider_is_me=view.provider_id == me,
        provider_accepted=view.provider_id in view.accepted,
        history=[
            {
                "at": event.at,
                "who": view.name_of(event.actor),
                "recorded_by": view.name_of(event.recorded_by) if event.recorded_by else None,
                "what": ACTION_NAMES.get(event.action, event.action),
                "note": event.note,
            }
            for event in view.history
        ],
        can_accept=steps.accept,
        can_complete=steps.complete,
        can_cancel=steps.cancel,
        can_mark_done=steps.mark_done,
        marked_done=steps.marked_done,
        waiting_names=[view.name_of(member) for member in view.awaiting if member != me],
        dispute=panel.dispute,
        can_dispute=panel.can_open,
        dispute_closes_at=panel.closes_at,
        can_thank=thanks.can_thank,
        thanks_given=thanks.given_text,
    )


async def _refused(viewer: Principal, exchange_id: uuid.UUID, problem: DomainError) -> Template:
    """A step the service refused: 409 (no credit, wrong state) on the page; others raise."""
    form = Form()
    show_problem(form, problem, {})
    status, headers = problem_status(problem)
    if isinstance(problem, Conflict):
        status = status_of(problem)
    return await _detail_page(viewer, exchange_id, form=form, status=status, headers=headers)


# Giving and the statement ------------------------------------------------------------


# Coordinators ------------------------------------------------------------------------


class CoordinatorExchangePages(Controller):
    opt = access(Access.COORDINATOR)
    path = "/coordinator"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/record")
    async def record_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_any_coordinator(viewer)
        form = Form(
            values={
                "service_date": datetime.now(UTC).date().isoformat(),
                "hours": "1",
                "minutes": "0",
            }
        )
        return await _record_page(
            viewer, form, query=request.query_params, notice=done_message(DONE_MESSAGES, done)
        )

    @post("/record")
    async def record(
        self,
        viewer: Viewer,
        data: URLEncodedBody[RecordForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_any_coordinator(viewer)
        form = Form.of(data)
        provider = uuid_or_none(data.provider)
        recipient = uuid_or_none(data.recipient)
        if provider is None:
            form.errors["provider"] = "Choose the member who helped"
        if recipient is None:
            form.errors["recipient"] = "Choose the member who was helped"
        minutes, service_date, description = _help_fields(form, data)
        key = form_idempotency_key(form, data.form_token)
        if (
            form.failed
            or provider is None
            or recipient is None
            or minutes is None
            or service_date is None
            or key is None
        ):
            return await _record_page(viewer, form, status=422)
        try:
            exchange_id = await exchanges_recording.exchange_record(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                data=RecordIn(
                    provider_id=provider,
                    recipient_id=recipient,
                    minutes=minutes,
                    service_date=service_date,
                    description=description,
                ),
                idempotency_key=key,
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, RECORD_LABELS)
            move_errors(form, RECORD_FIELDS)
            return await _record_page(viewer, form, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="recorded")


async def _record_page(
    viewer: Principal,
    form: Form,
    *,
    query: Mapping[str, str] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    picks = coordinated_picks(viewer)
    pickers = await pickers_for(
        "/coordinator/record",
        [
            PickerSpec("provider", "Who helped", picks),
            PickerSpec("recipient", "Who was helped", picks),
        ],
        query or {},
        chosen_values={
            "provider": form.values.get("provider", ""),
            "recipient": form.values.get("recipient", ""),
        },
    )
    return render(
        "market/coordinator_record.html",
        viewer=viewer,
        title="Record an exchange",
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        provider=pickers["provider"],
        recipient=pickers["recipient"],
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


PAGE_ROUTERS = [ExchangePages, CoordinatorExchangePages]

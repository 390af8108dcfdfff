"""The exchanges' and giving pages: propose, accept, confirm, cancel, give, statement,
and the coordinators' recording and pool grants.

Thin like the other pages (service/members/pages.py, listing_pages.py): read
the form, check it, call one service function from service/exchanges/services.py
or transfers.py, then render or redirect (POST-redirect-GET with a `done` flag
that picks a fixed message). A service Problem about the input (409
insufficient credit, 422 bad field) is shown on the page; 403 and 404 become
error pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from ledger import LedgerError
from service.disputes.services import dispute_of_exchange, dispute_window_closes_at, utc_now
from service.exchanges import services as exchanges
from service.exchanges.schemas import EXCHANGE_STATUSES, ExchangeIn, RecordIn
from service.http.deps import EngineDep, LedgerDep, SettingsDep
from service.limits import (
    CURSOR_CHARS_MAX,
    EMAIL_CHARS_MAX,
    EXCHANGE_DESCRIPTION_CHARS_MAX,
    EXCHANGE_MINUTES_MAX,
    PAGE_SIZE_DEFAULT,
    REASON_CHARS_MAX,
)
from service.listings import services as listings
from service.members import services
from service.members.pages import hours_text
from service.members.tables import Member
from service.principal import Principal, require_any_coordinator
from service.problems import Problem
from service.transfers import services as transfers
from service.transfers.controllers import GIFT_MINUTES_MAX, MEMO_CHARS_MAX
from service.web.kit import (
    FORM_INVALID_STATUS,
    PAGE_DEPENDENCIES,
    Form,
    Viewer,
    form_refused,
    page_exception_handlers,
    problem_status,
    render,
    see_other,
    show_problem,
)

EXCHANGES_PER_PAGE = 20
MEMBER_OPTIONS_MAX = 500
MINUTES_PER_HOUR = 60
DIGITS_MAX = 6  # of an hours or minutes field

DONE_MESSAGES = {
    "proposed": "Your proposal has been sent. The other member needs to accept it.",
    "accepted": "You have accepted this exchange.",
    "completed": "Thank you for confirming. The hours have moved.",
    "cancelled": "The exchange has been cancelled. Any hours on hold were released.",
    "given": "Thank you. Your hours have been given.",
    "recorded": "The exchange has been recorded and the hours have moved.",
    "granted": "The hours have been granted from the pool. It is recorded in the audit log.",
}
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
}
CODE_NAMES = {
    "exchange": "Exchange",
    "gift": "Gift",
    "donation": "Donation to the pool",
    "grant": "Grant from the pool",
    "welcome": "Welcome credit",
    "closure": "Account closure",
    "dispute": "Correction after a dispute",
}
ROLE_OPTIONS = [("provide", "I will help them"), ("receive", "They will help me")]
GIVE_TO_OPTIONS = [("member", "A member"), ("pool", "The community pool")]


def _done(done: str | None) -> str | None:
    return DONE_MESSAGES.get(done or "")


def signed_hours(minutes: int) -> str:
    """A statement change: "+1 hour 30 minutes", "-45 minutes"."""
    return ("-" if minutes < 0 else "+") + hours_text(abs(minutes))


# Forms as posted: every field a string, so a bad value is shown, never a 400. -------


class ExchangeForm(msgspec.Struct, kw_only=True):
    role: str = ""
    other: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""
    listing: str = ""


class GiveForm(msgspec.Struct, kw_only=True):
    to: str = ""
    member: str = ""
    email: str = ""
    hours: str = ""
    minutes: str = ""
    memo: str = ""


class RecordForm(msgspec.Struct, kw_only=True):
    provider: str = ""
    recipient: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""


class GrantForm(msgspec.Struct, kw_only=True):
    member: str = ""
    hours: str = ""
    minutes: str = ""
    reason: str = ""


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


def _move_errors(form: Form, fields: Mapping[str, str]) -> None:
    for source, target in fields.items():
        if source in form.errors:
            message = form.errors.pop(source)
            form.errors.setdefault(target, message)


def _whole(text: str) -> bool:
    return len(text) <= DIGITS_MAX and text.isascii() and text.isdecimal()


def _duration(form: Form, raw: Any, maximum: int) -> int | None:
    """Hours and minutes fields as whole minutes, 1..maximum; errors go on `form`."""
    hours_text_value = str(raw.hours).strip() or "0"
    minutes_text_value = str(raw.minutes).strip() or "0"
    hours = int(hours_text_value) if _whole(hours_text_value) else -1
    if hours < 0:
        form.errors["hours"] = "Enter the hours as a whole number, like 1"
        return None
    minutes = int(minutes_text_value) if _whole(minutes_text_value) else -1
    if not 0 <= minutes < MINUTES_PER_HOUR:
        form.errors["minutes"] = "Enter the minutes as a whole number from 0 to 59"
        return None
    total = hours * MINUTES_PER_HOUR + minutes
    if total < 1:
        form.errors["hours"] = "Enter how long the help takes"
        return None
    if total > maximum:
        form.errors["hours"] = f"Enter at most {hours_text(maximum)}"
        return None
    return total


def _service_date(form: Form, value: str) -> datetime | None:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        form.errors["service_date"] = "Enter the date of the help, like 2026-05-14"
        return None
    # Midnight UTC: "today" is never in the future, so a coordinator can record it.
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _text(form: Form, name: str, value: str, message: str, maximum: int) -> str:
    text = value.strip()
    if not text or len(text) > maximum:
        form.errors[name] = message
    return text


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


# Who can be chosen -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberChoice:
    id: uuid.UUID
    display_name: str
    email: str | None


async def _members_of(community_ids: frozenset[uuid.UUID] | None) -> list[MemberChoice]:
    """Active members of these communities (all communities if None), by name."""
    query = Member.select(Member.id, Member.display_name, Member.email).where(
        Member.status == "active"
    )
    if community_ids is not None:
        if not community_ids:
            return []
        query = query.where(Member.community.is_in(list(community_ids)))
    rows = await query.order_by(Member.display_name).limit(MEMBER_OPTIONS_MAX).run()
    return [MemberChoice(row["id"], row["display_name"], row["email"]) for row in rows]


def _options(choices: list[MemberChoice], *, without: uuid.UUID | None) -> list[tuple[str, str]]:
    return [(str(choice.id), choice.display_name) for choice in choices if choice.id != without]


# Exchanges ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingContext:
    id: uuid.UUID
    title: str
    kind: str
    owner_id: uuid.UUID
    owner_name: str


class ExchangePages(Controller):
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
        views, next_cursor = await exchanges.exchanges_of(
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
            items=[_row(viewer, view) for view in views],
            next_url=next_url,
            first_url="/exchanges" + (f"?{urlencode(query)}" if query else ""),
            later_page=bool(cursor),
            status_options=[(value, STATUS_NAMES[value]) for value in EXCHANGE_STATUSES],
        )

    @get("/new")
    async def new_page(
        self,
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
        return await _propose_page(viewer, Form(values=values), context)

    @post("/new")
    async def propose(
        self, viewer: Viewer, data: URLEncodedBody[ExchangeForm], engine: EngineDep
    ) -> Response[Any]:
        form = Form.of(data)
        context = await _listing_context(viewer, data.listing)
        if context is not None:
            role = "receive" if context.kind == "offer" else "provide"
            other: uuid.UUID | None = context.owner_id
        else:
            role = data.role
            other = _uuid_or_none(data.other)
            if role not in ("provide", "receive"):
                form.errors["role"] = "Choose who helps whom"
            if other is None:
                form.errors["other"] = "Choose the other member"
        minutes = _duration(form, data, EXCHANGE_MINUTES_MAX)
        service_date = _service_date(form, data.service_date)
        description = _text(
            form,
            "description",
            data.description,
            f"Describe the help, in {EXCHANGE_DESCRIPTION_CHARS_MAX} characters or fewer",
            EXCHANGE_DESCRIPTION_CHARS_MAX,
        )
        if form.failed or other is None or minutes is None or service_date is None:
            return await _propose_page(viewer, form, context, status=422)
        provider, recipient = (
            (viewer.member_id, other) if role == "provide" else (other, viewer.member_id)
        )
        try:
            exchange_id = await exchanges.exchange_propose(
                engine=engine,
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
        except Problem as problem:
            reshow = form_refused(form, problem, EXCHANGE_LABELS)
            _move_errors(form, SERVICE_FIELDS)
            return await _propose_page(viewer, form, context, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="proposed")

    @get("/{exchange_id:uuid}")
    async def detail(
        self, viewer: Viewer, exchange_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _detail_page(viewer, exchange_id, notice=_done(done))

    @post("/{exchange_id:uuid}/accept")
    async def accept(
        self,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
        settings: SettingsDep,
    ) -> Response[Any]:
        try:
            await exchanges.exchange_accept(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                exchange_id=exchange_id,
                hold_seconds=settings.exchange_hold_seconds,
            )
        except Problem as problem:
            return await _refused(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done="accepted")

    @post("/{exchange_id:uuid}/complete")
    async def complete(
        self,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        try:
            await exchanges.exchange_complete(
                engine=engine, ledger=ledger, actor=viewer, exchange_id=exchange_id
            )
        except Problem as problem:
            return await _refused(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done="completed")

    @post("/{exchange_id:uuid}/cancel")
    async def cancel(
        self,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        try:
            await exchanges.exchange_cancel(
                engine=engine, ledger=ledger, actor=viewer, exchange_id=exchange_id
            )
        except Problem as problem:
            return await _refused(viewer, exchange_id, problem)
        return see_other(f"/exchanges/{exchange_id}", done="cancelled")


async def _listing_context(viewer: Principal, raw: str) -> ListingContext | None:
    """The listing an exchange is proposed from (an open one of another member), if any."""
    if not raw.strip():
        return None
    listing_id = _uuid_or_none(raw)
    if listing_id is None:
        raise Problem(status=404, code="not_found", detail="That listing was not found.")
    listing = await listings.listing_by_id(actor=viewer, listing_id=listing_id)
    if listing.owner.id == viewer.member_id:
        raise Problem(
            status=409,
            code="own_listing",
            detail="This is your own listing: other members propose exchanges from it.",
        )
    if listing.status != "open":
        raise Problem(
            status=409,
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
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    members = [] if context else await _members_of(frozenset({viewer.community_id}))
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
        member_options=_options(members, without=viewer.member_id),
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


def _row(viewer: Principal, view: exchanges.ExchangeView) -> dict[str, Any]:
    providing = view.provider_id == viewer.member_id
    others = [view.provider_id] if not providing else list(view.recipient_ids)
    return {
        "id": view.id,
        "service_date": view.exchange.service_date,
        "description": view.exchange.description,
        "with": ", ".join(view.name_of(member) for member in others),
        "role": "You help" if providing else "You are helped",
        "hours": hours_text(view.exchange.minutes),
        "status": STATUS_NAMES.get(view.status, view.status),
        "waiting_for_you": viewer.member_id in view.awaiting
        or (view.status == "accepted" and viewer.member_id in view.recipient_ids),
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
    view = await exchanges.exchange_get(actor=viewer, exchange_id=exchange_id)
    me = viewer.member_id
    open_ = view.status in ("proposed", "accepted")
    coordinates = viewer.is_admin or viewer.coordinates(view.exchange.community)
    dispute = await dispute_of_exchange(actor=viewer, exchange_id=exchange_id)
    closes_at = await dispute_window_closes_at(view) if dispute is None else None
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
        hours=hours_text(view.exchange.minutes),
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
                "what": ACTION_NAMES.get(event.action, event.action),
                "note": event.note,
            }
            for event in view.history
        ],
        can_accept=me in view.awaiting,
        can_complete=view.status == "accepted" and (me in view.recipient_ids or coordinates),
        can_cancel=open_ and me in view.parties,
        waiting_names=[view.name_of(member) for member in view.awaiting if member != me],
        dispute=dispute,
        can_dispute=me in view.parties and closes_at is not None and utc_now() <= closes_at,
        dispute_closes_at=closes_at,
    )


async def _refused(viewer: Principal, exchange_id: uuid.UUID, problem: Problem) -> Template:
    """A step the service refused: 409 (no credit, wrong state) on the page; others raise."""
    form = Form()
    show_problem(form, problem, {})
    status = problem.status_code if problem.status_code == 409 else problem_status(problem)[0]  # noqa: PLR2004
    return await _detail_page(
        viewer, exchange_id, form=form, status=status, headers=dict(problem.headers or {})
    )


# Giving and the statement ------------------------------------------------------------


class GivingPages(Controller):
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/give")
    async def give_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        form = Form(values={"to": "member", "hours": "1", "minutes": "0"})
        return await _give_page(viewer, form, notice=_done(done))

    @post("/give")
    async def give(
        self, viewer: Viewer, data: URLEncodedBody[GiveForm], ledger: LedgerDep
    ) -> Response[Any]:
        form = Form.of(data)
        to_pool = data.to == "pool"
        to_member: uuid.UUID | None = None
        if data.to not in ("member", "pool"):
            form.errors["to"] = "Choose who receives the hours"
        elif not to_pool:
            to_member = await _gift_recipient(form, viewer, data)
        minutes = _duration(form, data, GIFT_MINUTES_MAX)
        memo = data.memo.strip()
        if len(memo) > MEMO_CHARS_MAX:
            form.errors["memo"] = f"Enter a message in {MEMO_CHARS_MAX} characters or fewer"
        if form.failed or minutes is None:
            return await _give_page(viewer, form, status=422)
        try:
            await transfers.gift(
                ledger=ledger,
                principal=viewer,
                minutes=minutes,
                to_member_id=to_member,
                to_pool=to_pool,
                memo=memo,
                idempotency_key=None,
            )
        except Problem as problem:
            reshow = form_refused(
                form, problem, {"member": "Member"}, code_fields={"gift_to_self": "member"}
            )
            return await _give_page(viewer, form, **reshow)
        except LedgerError as error:
            if error.code != "exceeds_floor":
                raise
            available = int(str(error.data.get("available_minor") or 0))
            form.general.append(
                f"Not enough credit: you have {hours_text(available)} available to give."
            )
            return await _give_page(viewer, form, status=FORM_INVALID_STATUS)
        return see_other("/give", done="given")

    @get("/statement")
    async def statement(
        self,
        viewer: Viewer,
        ledger: LedgerDep,
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        items, next_cursor = await transfers.statement_page(
            ledger=ledger, principal=viewer, limit=PAGE_SIZE_DEFAULT, cursor=cursor or None
        )
        return render(
            "market/statement.html",
            viewer=viewer,
            title="Your statement",
            current="statement",
            lines=[
                {
                    "date": item.effective_at,
                    "what": CODE_NAMES.get(item.code, item.code.replace("_", " ").capitalize()),
                    "memo": item.memo,
                    "with": item.counterparty,
                    "change": "no change yet"
                    if item.on_hold and item.minutes == 0
                    else signed_hours(item.minutes),
                    "balance": hours_text(item.balance_after_minutes),
                    "on_hold": item.on_hold,
                }
                for item in items
            ],
            next_url=f"/statement?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            later_page=bool(cursor),
        )


async def _gift_recipient(form: Form, viewer: Principal, data: GiveForm) -> uuid.UUID | None:
    """The member chosen by email (in the viewer's own community) or from the list."""
    email = data.email.strip()
    if email:
        found = None
        if len(email) <= EMAIL_CHARS_MAX:
            found = (
                await Member.select(Member.id)
                .where(
                    (Member.email == services.normalise_email(email))
                    & (Member.community == viewer.community_id)
                    & (Member.status == "active")
                )
                .first()
                .run()
            )
        if found is None:
            form.errors["email"] = "There is no active member of your time bank with that email"
            return None
        return uuid.UUID(str(found["id"]))
    chosen = _uuid_or_none(data.member)
    if chosen is None:
        form.errors["member"] = "Choose a member, or enter their email address"
    return chosen


async def _give_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    members = await _members_of(frozenset({viewer.community_id}))
    return render(
        "market/give.html",
        viewer=viewer,
        title="Give hours",
        current="give",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        to_options=GIVE_TO_OPTIONS,
        member_options=_options(members, without=viewer.member_id),
        memo_max=MEMO_CHARS_MAX,
    )


# Coordinators ------------------------------------------------------------------------


class CoordinatorExchangePages(Controller):
    path = "/coordinator"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/record")
    async def record_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_any_coordinator(viewer)
        form = Form(
            values={
                "service_date": datetime.now(UTC).date().isoformat(),
                "hours": "1",
                "minutes": "0",
            }
        )
        return await _record_page(viewer, form, notice=_done(done))

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
        provider = _uuid_or_none(data.provider)
        recipient = _uuid_or_none(data.recipient)
        if provider is None:
            form.errors["provider"] = "Choose the member who helped"
        if recipient is None:
            form.errors["recipient"] = "Choose the member who was helped"
        minutes = _duration(form, data, EXCHANGE_MINUTES_MAX)
        service_date = _service_date(form, data.service_date)
        description = _text(
            form,
            "description",
            data.description,
            f"Describe the help, in {EXCHANGE_DESCRIPTION_CHARS_MAX} characters or fewer",
            EXCHANGE_DESCRIPTION_CHARS_MAX,
        )
        if (
            form.failed
            or provider is None
            or recipient is None
            or minutes is None
            or service_date is None
        ):
            return await _record_page(viewer, form, status=422)
        try:
            exchange_id = await exchanges.exchange_record(
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
            )
        except Problem as problem:
            reshow = form_refused(form, problem, RECORD_LABELS)
            _move_errors(form, RECORD_FIELDS)
            return await _record_page(viewer, form, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="recorded")

    @get("/grant")
    async def grant_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_any_coordinator(viewer)
        form = Form(values={"hours": "1", "minutes": "0"})
        return await _grant_page(viewer, form, notice=_done(done))

    @post("/grant")
    async def grant(
        self,
        viewer: Viewer,
        data: URLEncodedBody[GrantForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_any_coordinator(viewer)
        form = Form.of(data)
        member = _uuid_or_none(data.member)
        if member is None:
            form.errors["member"] = "Choose the member who receives the hours"
        minutes = _duration(form, data, GIFT_MINUTES_MAX)
        reason = _text(
            form,
            "reason",
            data.reason,
            f"Give the reason, in {REASON_CHARS_MAX} characters or fewer",
            REASON_CHARS_MAX,
        )
        if form.failed or member is None or minutes is None:
            return await _grant_page(viewer, form, status=422)
        try:
            await transfers.pool_grant(
                engine=engine,
                ledger=ledger,
                principal=viewer,
                member_id=member,
                minutes=minutes,
                reason=reason,
                idempotency_key=None,
            )
        except Problem as problem:
            return await _grant_page(
                viewer, form, **form_refused(form, problem, {"member": "Member"})
            )
        return see_other("/coordinator/grant", done="granted")


async def _coordinated_members(viewer: Principal) -> list[tuple[str, str]]:
    scope = None if viewer.is_admin else viewer.coordinated_communities
    return _options(await _members_of(scope), without=None)


async def _record_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    return render(
        "market/coordinator_record.html",
        viewer=viewer,
        title="Record an exchange",
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        member_options=await _coordinated_members(viewer),
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


async def _grant_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    return render(
        "market/coordinator_grant.html",
        viewer=viewer,
        title="Grant hours from the pool",
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        member_options=await _coordinated_members(viewer),
        reason_max=REASON_CHARS_MAX,
    )


PAGE_ROUTERS = [ExchangePages, GivingPages, CoordinatorExchangePages]

__all__ = ["PAGE_ROUTERS", "signed_hours"]

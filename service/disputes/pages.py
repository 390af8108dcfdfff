"""The disputes' pages: a party opens a dispute and adds their account; admins work the
queue, read both sides and the history, and resolve.

Thin like the other pages: read the form, call one service function from
service/disputes/services.py, then render or redirect with a `done` flag. A
DomainError about the input (422, 409) is shown on the form; 403 and 404 become
error pages.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from service.disputes import resolution as disputes_resolution
from service.disputes import selectors as disputes_selectors
from service.disputes import services
from service.disputes.schemas import DisputeStatus, RecipientOutcome, ResolveIn
from service.errors import DomainError, Invalid
from service.exchanges.selectors import ExchangeView, exchange_get
from service.exchanges.words import action_words, status_words
from service.formatting import minutes_text
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _, ngettext
from service.limits import (
    CURSOR_CHARS_MAX,
    DISPUTE_NOTE_CHARS_MAX,
    DISPUTE_REASON_CHARS_MAX,
    DISPUTE_STATEMENT_CHARS_MAX,
)
from service.principal import Principal, require_admin
from service.settings import SECONDS_PER_DAY
from service.web.forms import confirmed
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    render,
    see_other,
    show_problem,
)

QUEUE_PAGE_SIZE = 25
MINUTE_DIGITS_MAX = 4  # of the minutes field: an exchange is at most a day

DONE_MESSAGES = {
    "opened": N_("Your dispute has been sent. An admin will read both sides and decide."),
    "added": N_("Your account has been added to the dispute."),
    "resolved": N_("The dispute is resolved. Both members can see the outcome."),
}
OUTCOME_NAMES = {
    "upheld": N_("Upheld: the exchange stands as it was"),
    "reversed": N_("Reversed: all the hours went back"),
    "adjusted": N_("Adjusted: some of the hours went back"),
}
OUTCOME_OPTIONS = [
    ("upheld", N_("Uphold: the exchange stands, nothing moves")),
    ("reversed", N_("Reverse: give all the hours back")),
    ("adjusted", N_("Adjust: give some of the minutes back")),
]
RESOLVE_LABELS = {
    "outcome": N_("Outcome"),
    "minutes": N_("Minutes to give back"),
    "note": N_("Note to both members"),
    "recipients": N_("Who the outcome applies to"),
}


class DisputeForm(msgspec.Struct, kw_only=True):
    reason: str = ""


class StatementForm(msgspec.Struct, kw_only=True):
    body: str = ""


def _outcome_words(outcome: str | None) -> str | None:
    """A dispute's outcome in the reader's language (None while it waits)."""
    if outcome is None or outcome not in OUTCOME_NAMES:
        return None
    return _(OUTCOME_NAMES[outcome])


def _age_words(since: datetime, now: datetime) -> str:
    days = int((now - since).total_seconds() // SECONDS_PER_DAY)
    if days < 1:
        return _("today")
    return ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days}


def _history(view: ExchangeView) -> list[dict[str, Any]]:
    return [
        {
            "at": event.at,
            "who": view.name_of(event.actor),
            "what": action_words(event.action),
            "record": event.action == "record",
            "note": event.note,
        }
        for event in view.history
    ]


def _thread(view: disputes_selectors.DisputeView) -> list[dict[str, Any]]:
    opened = {
        "at": view.dispute.opened_at,
        "who": view.name_of(view.dispute.opened_by),
        "body": view.dispute.reason,
        "opening": True,
    }
    return [
        opened,
        *(
            {
                "at": statement.at,
                "who": view.name_of(statement.author),
                "body": statement.body,
                "opening": False,
            }
            for statement in view.statements
        ),
    ]


def _corrections(view: disputes_selectors.DisputeView) -> list[dict[str, Any]]:
    return [
        {
            "recipient": view.name_of(correction.recipient),
            "outcome": correction.outcome,
            "hours": minutes_text(correction.minutes),
            "below_floor": minutes_text(correction.below_floor_minutes)
            if correction.below_floor_minutes
            else None,
        }
        for correction in view.corrections
    ]


def _dispute_context(view: disputes_selectors.DisputeView) -> dict[str, Any]:
    exchange = view.exchange
    return {
        "dispute": view.dispute,
        "exchange": exchange.exchange,
        "provider_name": exchange.name_of(exchange.provider_id),
        "recipient_names": [exchange.name_of(member) for member in exchange.recipient_ids],
        "hours": minutes_text(exchange.exchange.minutes),
        "thread": _thread(view),
        "history": _history(exchange),
        "outcome_name": _outcome_words(view.dispute.outcome),
        "corrections": _corrections(view),
    }


# Members' pages -----------------------------------------------------------------


def _own_row(item: disputes_selectors.QueueItem, viewer: Principal) -> dict[str, Any]:
    opened_by = _("You") if item.dispute.opened_by == viewer.member_id else item.opened_by_name
    return {
        "id": item.dispute.id,
        "open": item.dispute.status == "open",
        "opened_on": item.dispute.opened_at,
        "opened_by": opened_by,
        "description": item.exchange.description,
        "hours": minutes_text(item.exchange.minutes),
        "outcome": _outcome_words(item.dispute.outcome) or _("Waiting for a decision"),
    }


class DisputePages(PageController):
    opt = access(Access.MEMBER)

    @get("/exchanges/{exchange_id:uuid}/dispute")
    async def new_page(self, viewer: Viewer, exchange_id: FromPath[uuid.UUID]) -> Template:
        return await _new_page(viewer, exchange_id, Form())

    @post("/exchanges/{exchange_id:uuid}/dispute", opt=on_object("exchange", "exchange_id"))
    async def open_dispute(
        self,
        viewer: Viewer,
        exchange_id: FromPath[uuid.UUID],
        data: URLEncodedBody[DisputeForm],
        engine: EngineDep,
    ) -> Response[Any]:
        form = Form.of(data)
        try:
            dispute_id = await services.dispute_open(
                engine=engine, actor=viewer, exchange_id=exchange_id, reason=data.reason
            )
        except DomainError as problem:
            refused = form_refused(form, problem, {"reason": _("What went wrong")})
            return await _new_page(viewer, exchange_id, form, **refused)
        return see_other(f"/disputes/{dispute_id}", done="opened")

    @get("/disputes")
    async def mine(self, viewer: Viewer) -> Template:
        """The member's own disputes: the open ones first, then the decided ones."""
        items = await disputes_selectors.disputes_of(actor=viewer)
        rows = [_own_row(item, viewer) for item in items]
        return render(
            "disputes/mine.html",
            viewer=viewer,
            title=_("Your disputes"),
            current="exchanges",
            open_rows=[row for row in rows if row["open"]],
            decided_rows=[row for row in rows if not row["open"]],
        )

    @get("/disputes/{dispute_id:uuid}")
    async def detail(
        self, viewer: Viewer, dispute_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _dispute_page(
            viewer, dispute_id, Form(), notice=done_message(DONE_MESSAGES, done)
        )

    @post("/disputes/{dispute_id:uuid}/statements", opt=on_object("dispute", "dispute_id"))
    async def add_statement(
        self,
        viewer: Viewer,
        dispute_id: FromPath[uuid.UUID],
        data: URLEncodedBody[StatementForm],
        engine: EngineDep,
    ) -> Response[Any]:
        form = Form.of(data)
        try:
            await services.dispute_add_statement(
                engine=engine, actor=viewer, dispute_id=dispute_id, body=data.body
            )
        except DomainError as problem:
            refused = form_refused(form, problem, {"body": _("Your account")})
            return await _dispute_page(viewer, dispute_id, form, **refused)
        return see_other(f"/disputes/{dispute_id}", done="added")


async def _new_page(
    viewer: Principal,
    exchange_id: uuid.UUID,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    view = await exchange_get(actor=viewer, exchange_id=exchange_id)
    return render(
        "disputes/new.html",
        viewer=viewer,
        title=_("Dispute an exchange"),
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        exchange=view.exchange,
        provider_name=view.name_of(view.provider_id),
        hours=minutes_text(view.exchange.minutes),
        closes_at=await disputes_selectors.dispute_window_closes_at(view),
        reason_max=DISPUTE_REASON_CHARS_MAX,
    )


async def _dispute_page(
    viewer: Principal,
    dispute_id: uuid.UUID,
    form: Form,
    *,
    notice: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    view = await disputes_selectors.dispute_get(actor=viewer, dispute_id=dispute_id)
    return render(
        "disputes/detail.html",
        viewer=viewer,
        title=_("Dispute about an exchange"),
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        can_add=view.is_open and viewer.member_id in view.exchange.parties,
        statement_max=DISPUTE_STATEMENT_CHARS_MAX,
        **_dispute_context(view),
    )


# Admins' pages --------------------------------------------------------------------


class AdminDisputePages(PageController):
    opt = access(Access.ADMIN)
    path = "/admin/disputes"

    @get("/")
    async def queue(
        self,
        viewer: Viewer,
        status: Annotated[DisputeStatus, QueryParameter()] = "open",
        cursor: Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)] = None,
    ) -> Template:
        items, next_cursor = await disputes_selectors.dispute_queue(
            actor=viewer, status=status, limit=QUEUE_PAGE_SIZE, cursor=cursor
        )
        now = datetime.now(UTC)
        return render(
            "disputes/queue.html",
            viewer=viewer,
            title=_("Disputes") if status == "open" else _("Resolved disputes"),
            current="admin",
            admin_page="disputes",
            queue_status=status,
            rows=[
                {
                    "id": item.dispute.id,
                    "opened_at": item.dispute.opened_at,
                    "age": _age_words(item.dispute.opened_at, now),
                    "opened_by": item.opened_by_name,
                    "description": item.exchange.description,
                    "hours": minutes_text(item.exchange.minutes),
                    "outcome": _outcome_words(item.dispute.outcome),
                }
                for item in items
            ],
            next_cursor=next_cursor,
        )

    @get("/{dispute_id:uuid}")
    async def detail(
        self, viewer: Viewer, dispute_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        form = Form()  # no outcome chosen for the admin: each decision is made on purpose
        return await _admin_page(viewer, dispute_id, form, notice=done_message(DONE_MESSAGES, done))

    @post("/{dispute_id:uuid}/resolve", opt=on_object("dispute", "dispute_id"))
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        dispute_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)
        posted = await request.form()
        form = Form(values={name: str(posted.get(name, "")) for name in RESOLVE_FIELDS})
        view = await disputes_selectors.dispute_get(actor=viewer, dispute_id=dispute_id)
        chosen = [str(value) for value in posted.getall("apply_to", [])]
        data = _resolve_in(form, view.exchange, chosen)
        if data is None:
            return await _admin_page(viewer, dispute_id, form, status=422, chosen=chosen)
        try:
            await disputes_resolution.dispute_resolve(
                engine=engine, ledger=ledger, actor=viewer, dispute_id=dispute_id, data=data
            )
        except DomainError as problem:
            refused = form_refused(form, problem, RESOLVE_LABELS)
            return await _admin_page(viewer, dispute_id, form, **refused, chosen=chosen)
        return see_other(f"/admin/disputes/{dispute_id}", done="resolved")


RESOLVE_FIELDS = ("outcome", "minutes", "note", "confirm_override", "confirm")


def _resolve_in(form: Form, exchange: ExchangeView, chosen: list[str]) -> ResolveIn | None:
    """The form as the service's request; None (with errors on `form`) if it cannot be read."""
    values = form.values
    outcome = values.get("outcome", "")
    if outcome not in OUTCOME_NAMES:
        form.errors["outcome"] = _("Outcome: choose one")
    minutes_text = values.get("minutes", "").strip()
    minutes: int | None = None
    if minutes_text:
        if not minutes_text.isdigit() or len(minutes_text) > MINUTE_DIGITS_MAX:
            form.errors["minutes"] = _("Minutes to give back: a whole number of minutes")
        else:
            minutes = int(minutes_text)
    if outcome in OUTCOME_NAMES and "minutes" not in form.errors:
        # The service's own check, asked now so every error of the form shows at once.
        try:
            disputes_resolution.minutes_for(outcome, minutes, exchange.exchange.minutes, "")
        except Invalid as problem:
            show_problem(form, problem, RESOLVE_LABELS)
    if not values.get("note", "").strip():
        form.errors["note"] = _("Note to both members: write a few words for both members")
    recipients = _chosen_recipients(form, exchange, chosen)
    confirmed(form, values.get("confirm", ""), _("Tick the box to confirm the decision"))
    if form.failed:
        return None
    general = outcome
    applied = recipients is not None and len(recipients) < len(exchange.recipient_ids)
    if applied:
        general = "upheld"  # recipients not ticked keep their hours
    return ResolveIn(
        outcome=general,  # type: ignore[arg-type]
        note=values.get("note", "")[:DISPUTE_NOTE_CHARS_MAX],
        minutes=None if applied or outcome != "adjusted" else minutes,
        recipients=[
            RecipientOutcome(
                recipient_id=member,
                outcome=outcome,  # type: ignore[arg-type]
                minutes=minutes if outcome == "adjusted" else None,
            )
            for member in recipients or []
        ]
        if applied
        else None,
        confirm_override=values.get("confirm_override") == "yes",
    )


def _chosen_recipients(
    form: Form, exchange: ExchangeView, chosen: list[str]
) -> list[uuid.UUID] | None:
    """For a group exchange, the ticked recipients (None: one recipient, or all of them)."""
    if len(exchange.recipient_ids) == 1:
        return None
    allowed = {str(member): member for member in exchange.recipient_ids}
    picked = [allowed[value] for value in chosen if value in allowed]
    if not picked or len(picked) != len(chosen):
        form.errors["recipients"] = _("Who the outcome applies to: tick at least one member")
    return picked


async def _admin_page(
    viewer: Principal,
    dispute_id: uuid.UUID,
    form: Form,
    *,
    notice: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    chosen: list[str] | None = None,
) -> Template:
    require_admin(viewer)
    view = await disputes_selectors.dispute_get(actor=viewer, dispute_id=dispute_id)
    exchange = view.exchange
    recipients = exchange.recipient_ids
    between = await disputes_selectors.exchanges_between(exchange.provider_id, recipients[0])
    return render(
        "disputes/admin_detail.html",
        viewer=viewer,
        title=_("Resolve a dispute"),
        current="admin",
        admin_page="disputes",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        is_open=view.is_open,
        outcome_options=[(value, _(words)) for value, words in OUTCOME_OPTIONS],
        group=[
            (str(member), exchange.name_of(member), chosen is None or str(member) in chosen)
            for member in recipients
        ]
        if len(recipients) > 1
        else [],
        between=[
            {
                "id": row.id,
                "service_date": row.service_date,
                "description": row.description,
                "hours": minutes_text(row.minutes),
                "status": status_words(row.status),
                "provider": exchange.name_of(row.provider),
            }
            for row in between
        ],
        first_recipient_name=exchange.name_of(recipients[0]),
        completed_at=view.completed_at,
        note_max=DISPUTE_NOTE_CHARS_MAX,
        **_dispute_context(view),
    )


PAGE_ROUTERS = [DisputePages, AdminDisputePages]

__all__ = ["PAGE_ROUTERS"]

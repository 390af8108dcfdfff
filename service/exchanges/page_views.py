"""How the exchange pages show exchanges: the list's rows, the detail page with its
steps, and a step the service refused shown on that page."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from litestar.response import Template

from service.errors import Conflict, DomainError
from service.exchanges import selectors as exchanges_selectors
from service.exchanges.panels import dispute_panel, dispute_statuses, thanks_panel
from service.exchanges.words import status_words
from service.formatting import minutes_text
from service.i18n import N_, _
from service.limits import REASON_CHARS_MAX
from service.principal import Principal
from service.problems import status_of
from service.web.kit import Form, problem_status, render, show_problem

DONE_MESSAGES = {
    "proposed": N_("Your proposal has been sent. The other member needs to accept it."),
    "accepted": N_("You have accepted this exchange."),
    "completed": N_("Thank you for confirming. The hours have moved."),
    "cancelled": N_("The exchange has been cancelled. Any hours on hold were released."),
    "recorded": N_("The exchange has been recorded and the hours have moved."),
    "marked_done": N_("Thank you. We have asked the other member to confirm the help."),
    "thanked": N_("Your thank-you note is on their profile now."),
    "declined": N_("You have declined this exchange. We have told the other member."),
}
ACTION_NAMES = {
    "propose": N_("Proposed"),
    "agree": N_("Agreed"),
    "accept": N_("Accepted"),
    "complete": N_("Confirmed the help happened"),
    "cancel": N_("Cancelled"),
    "decline": N_("Declined"),
    "expire": N_("Expired"),
    "record": N_("Recorded by a coordinator"),
    "dispute": N_("Disputed"),
    "dispute_resolved": N_("Dispute decided"),
    "mark_done": N_("Marked as done"),
    "autoconfirm": N_("Confirmed by itself"),
}
# A completed exchange someone disputed reads as disputed until the decision.
DISPUTE_STATUS_NAMES = {
    "open": N_("Disputed: waiting for a decision"),
    "resolved": N_("Completed, then a dispute was decided"),
}


async def exchange_rows(
    viewer: Principal, views: list[exchanges_selectors.ExchangeView]
) -> list[dict[str, Any]]:
    disputed = await dispute_statuses(exchange_ids=[view.id for view in views])
    rows = [_row(viewer, view) for view in views]
    for row in rows:
        if row["id"] in disputed:
            named = DISPUTE_STATUS_NAMES.get(disputed[row["id"]])
            row["status"] = _(named) if named else row["status"]
    return rows


def _row(viewer: Principal, view: exchanges_selectors.ExchangeView) -> dict[str, Any]:
    providing = view.provider_id == viewer.member_id
    others = [view.provider_id] if not providing else list(view.recipient_ids)
    return {
        "id": view.id,
        "service_date": view.exchange.service_date,
        "description": view.exchange.description,
        "with": ", ".join(view.name_of(member) for member in others),
        "role": _("You help") if providing else _("You are helped"),
        "hours": minutes_text(view.exchange.minutes),
        "status": status_words(view.status),
        "waiting_for_you": exchanges_selectors.waits_for(viewer, view),
    }


def _history(view: exchanges_selectors.ExchangeView) -> list[dict[str, Any]]:
    return [
        {
            "at": event.at,
            "who": view.name_of(event.actor),
            "recorded_by": view.name_of(event.recorded_by) if event.recorded_by else None,
            "what": ACTION_NAMES.get(event.action, event.action),
            "note": event.note,
        }
        for event in view.history
    ]


async def detail_page(
    viewer: Principal,
    exchange_id: uuid.UUID,
    *,
    notice: str | None = None,
    form: Form | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    failed_step: str | None = None,
) -> Template:
    """`failed_step` names the step whose form is `form` (shown again with its errors)."""
    view = await exchanges_selectors.exchange_get(actor=viewer, exchange_id=exchange_id)
    me = viewer.member_id
    steps = exchanges_selectors.steps_open(viewer, view)
    panel = await dispute_panel(actor=viewer, view=view)
    thanks = await thanks_panel(actor=viewer, view=view)
    return render(
        "market/exchange_detail.html",
        viewer=viewer,
        title=_("Exchange: %(description)s") % {"description": view.exchange.description[:60]},
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        view=view,
        exchange=view.exchange,
        status_name=status_words(view.status),
        hours=minutes_text(view.exchange.minutes),
        provider_name=view.name_of(view.provider_id),
        recipients=[
            (view.name_of(member), member in view.accepted, member == me)
            for member in view.recipient_ids
        ],
        provider_is_me=view.provider_id == me,
        provider_accepted=view.provider_id in view.accepted,
        history=_history(view),
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
        failed_step=failed_step,
        blank_form=Form(),
        reason_max=REASON_CHARS_MAX,
        cancel_consequence=cancel_consequence(viewer, view),
    )


def cancel_consequence(viewer: Principal, view: exchanges_selectors.ExchangeView) -> str:
    """What cancelling does, in words, for the box that must be ticked first."""
    hours = minutes_text(view.exchange.minutes)
    if view.status != "accepted":
        return _("The proposal will be called off. This cannot be undone.")
    if view.provider_id == viewer.member_id:
        return _(
            "You will not get the %(hours)s on hold: the hours go back. This cannot be undone."
        ) % {"hours": hours}
    return _(
        "%(name)s will not get the %(hours)s on hold: the hours go back. This cannot be undone."
    ) % {"name": view.name_of(view.provider_id), "hours": hours}


async def refused_page(viewer: Principal, exchange_id: uuid.UUID, problem: DomainError) -> Template:
    """A step the service refused: 409 (no credit, wrong state) on the page; others raise."""
    form = Form()
    show_problem(form, problem, {})
    status, headers = problem_status(problem)
    if isinstance(problem, Conflict):
        status = status_of(problem)
    return await detail_page(viewer, exchange_id, form=form, status=status, headers=headers)

"""The concerns pages: a member reports a worry and sees their reports; coordinators
work the queue, read a concern with what it is about, close it, or suspend pending review."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from service.concerns import selectors, services
from service.errors import DomainError
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import CONCERN_OUTCOME_CHARS_MAX, CONCERN_TEXT_CHARS_MAX
from service.principal import Principal
from service.web.forms import optional_uuid
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Viewer,
    done_message,
    form_post,
    form_refused,
    render,
    see_other,
)

# The service checks what these forms send; these name its fields on the page.
REPORT_LABELS = {"text": N_("What worries you")}
CLOSE_LABELS = {"outcome": N_("Outcome")}
ATTACHMENTS = ("about_member_id", "listing_id", "exchange_id", "conversation_id")
DONE_MESSAGES = {
    "reported": N_(
        "Thank you. Your concern has gone to the coordinators of your time bank. "
        "You will get a notice when they have looked into it."
    ),
    "closed": N_("The concern is closed. The member who reported it has been told."),
    "suspended": N_("The member is suspended pending review. They have been signed out."),
}


class ConcernForm(msgspec.Struct, kw_only=True):
    text: str = ""
    about_member_id: str = ""
    listing_id: str = ""
    exchange_id: str = ""
    conversation_id: str = ""


class CloseForm(msgspec.Struct, kw_only=True):
    outcome: str = ""


class ConcernPages(PageController):
    opt = access(Access.MEMBER)
    path = "/concerns"

    @get("/")
    async def mine(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        return render(
            "concerns/mine.html",
            viewer=viewer,
            title=_("Concerns you have reported"),
            current="messages",
            notice=done_message(DONE_MESSAGES, done),
            concerns=await selectors.concerns_reported_by(viewer.member_id),
        )

    @get("/new")
    async def new_page(
        self,
        viewer: Viewer,
        about_member_id: FromQuery[uuid.UUID | None] = None,
        listing_id: FromQuery[uuid.UUID | None] = None,
        exchange_id: FromQuery[uuid.UUID | None] = None,
        conversation_id: FromQuery[uuid.UUID | None] = None,
    ) -> Template:
        given = {
            "about_member_id": about_member_id,
            "listing_id": listing_id,
            "exchange_id": exchange_id,
            "conversation_id": conversation_id,
        }
        form = Form(values={name: str(value) for name, value in given.items() if value})
        return _new_page(viewer, form)

    @post("/new")
    async def report(
        self, viewer: Viewer, data: URLEncodedBody[ConcernForm], engine: EngineDep
    ) -> Response[Any]:
        async def write(_cleaned: dict[str, Any]) -> Response[Any]:
            # The service checks the text; the attachments are ids or nothing.
            ids = {name: optional_uuid(getattr(data, name), name) for name in ATTACHMENTS}
            await services.concern_raise(engine=engine, actor=viewer, text=data.text, **ids)
            return see_other("/concerns", done="reported")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return _new_page(viewer, form, **refused)

        return await form_post(Form.of(data), data, {}, REPORT_LABELS, write=write, reshow=reshow)


def _new_page(
    viewer: Principal, form: Form, *, status: int = 200, headers: dict[str, str] | None = None
) -> Template:
    return render(
        "concerns/new.html",
        viewer=viewer,
        title=_("Report a concern"),
        current="messages",
        status=status,
        headers=headers,
        form=form,
        attachments=ATTACHMENTS,
        text_max=CONCERN_TEXT_CHARS_MAX,
    )


class CoordinatorConcernPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/concerns"

    @get("/")
    async def queue(self, viewer: Viewer, status: FromQuery[str] = "open") -> Template:
        status_checked: selectors.ConcernStatus = "closed" if status == "closed" else "open"
        return render(
            "concerns/queue.html",
            viewer=viewer,
            title=_("Concerns"),
            current="coordinator",
            queue_status=status_checked,
            items=await selectors.concern_queue(viewer, status_checked),
        )

    @get("/{concern_id:uuid}")
    async def detail(
        self, viewer: Viewer, concern_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _concern_page(
            viewer, concern_id, Form(), notice=done_message(DONE_MESSAGES, done)
        )

    @post("/{concern_id:uuid}/close", opt=on_object("concern", "concern_id"))
    async def close(
        self,
        viewer: Viewer,
        concern_id: FromPath[uuid.UUID],
        data: URLEncodedBody[CloseForm],
        engine: EngineDep,
    ) -> Response[Any]:
        async def write(_cleaned: dict[str, Any]) -> Response[Any]:
            await services.concern_close(
                engine=engine, actor=viewer, concern_id=concern_id, outcome=data.outcome
            )
            return see_other(f"/coordinator/concerns/{concern_id}", done="closed")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _concern_page(viewer, concern_id, form, **refused)

        return await form_post(Form.of(data), data, {}, CLOSE_LABELS, write=write, reshow=reshow)

    @post("/{concern_id:uuid}/suspend", opt=on_object("concern", "concern_id"))
    async def suspend(
        self,
        viewer: Viewer,
        concern_id: FromPath[uuid.UUID],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        try:
            await services.concern_suspend_member(
                engine=engine, ledger=ledger, actor=viewer, concern_id=concern_id
            )
        except DomainError as problem:
            form = Form()
            return await _concern_page(viewer, concern_id, form, **form_refused(form, problem, {}))
        return see_other(f"/coordinator/concerns/{concern_id}", done="suspended")


async def _concern_page(
    viewer: Principal,
    concern_id: uuid.UUID,
    form: Form,
    *,
    notice: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    view = await selectors.concern_view(viewer, concern_id)
    return render(
        "concerns/detail.html",
        viewer=viewer,
        title=_("A concern"),
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        view=view,
        concern=view.concern,
        outcome_max=CONCERN_OUTCOME_CHARS_MAX,
    )


PAGE_ROUTERS = [ConcernPages, CoordinatorConcernPages]

__all__ = ["PAGE_ROUTERS"]

"""The coordinator's desk as pages: find a member (a plain GET form), see their file,
decline an applicant with a reason. Approval stays in service/members/community_pages.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from service.checks import services as checks
from service.checks.schemas import CHECK_KIND_NAMES, CheckIn
from service.desk import selectors as desk
from service.events.selectors import may_host_of
from service.exchanges.words import STATUS_WORDS
from service.formatting import minutes_text, room_words
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import CURSOR_CHARS_MAX, REASON_CHARS_MAX, SEARCH_TEXT_CHARS_MAX
from service.members.communities import communities_list, community_by_id
from service.members.registration import member_decline, pending_members
from service.members.schemas import DeclineIn
from service.members.selectors import coordinated_communities, selected_community
from service.members.words import MEMBER_STATUS_WORDS, member_status_words
from service.principal import Principal
from service.transfers import statement_view
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    done_message,
    form_post,
    render,
    schema_type,
    see_other,
)

DESK_PAGE_SIZE = 25
STATEMENT_LINES = 20
DONE_MESSAGES = {
    "approved": N_("Approved. Their welcome hours have been added to their account."),
    "declined": N_("The application has been declined. They have been told, with your reason."),
    "check_recorded": N_("The check has been recorded."),
    "may_host": N_("Saved: whether they may make events."),
}
DECLINE_RULES = {
    "reason": Rule(
        schema_type(DeclineIn, "reason"),
        N_("Give the reason, in %(chars)s characters or fewer"),
        values={"chars": REASON_CHARS_MAX},
    )
}


DECLINE_LABELS = {"reason": N_("Reason")}


class DeclineForm(msgspec.Struct, kw_only=True):
    reason: str = ""


class CheckForm(msgspec.Struct, kw_only=True):
    kind: str = ""
    checked_on: str = ""
    expires_on: str = ""


CHECK_RULES = {
    "kind": Rule(schema_type(CheckIn, "kind"), N_("Choose the kind of check")),
    "checked_on": Rule(
        schema_type(CheckIn, "checked_on"), N_("Enter the day of the check, like 2026-03-31")
    ),
    "expires_on": Rule(
        date, N_("Enter the day it runs out, like 2029-03-31, or leave it blank"), optional=True
    ),
}
CHECK_LABELS = {"kind": N_("Kind"), "checked_on": N_("Checked on"), "expires_on": N_("Runs out on")}


def _filters_of(
    q: str, status: str, inactive: str, community_id: uuid.UUID, form: Form
) -> desk.DeskFilters:
    """The search form's values; a bad one is shown beside its field and left out."""
    chosen_status = status if status in desk.DESK_STATUSES else None
    if status and chosen_status is None:
        form.errors["status"] = _("Choose a status from the list")
    days: int | None = None
    if inactive.strip():
        text = inactive.strip()
        if text.isascii() and text.isdecimal() and 1 <= int(text) <= desk.INACTIVE_DAYS_MAX:
            days = int(text)
        else:
            form.errors["inactive_days"] = _(
                "Enter a number of days from 1 to %(days)s, or leave it blank"
            ) % {"days": desk.INACTIVE_DAYS_MAX}
    return desk.DeskFilters(
        q=q,
        status=chosen_status,
        inactive_days=days,
        community_id=community_id,
    )


def _row_view(row: desk.DeskRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.display_name,
        "status": member_status_words(row.status),
        "login": _("Yes") if row.has_login else _("No"),
        "balance": minutes_text(row.balance_minutes),
        "available": minutes_text(row.available_minutes),
        "last": row.last_exchange_at,
        "inactive_days": row.inactive_days,
        "ward": row.ward,
    }


class DeskPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/members"

    @get("/")
    async def desk_page(
        self,
        *,
        viewer: Viewer,
        ledger: LedgerDep,
        community: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
        q: Annotated[str, QueryParameter(max_length=SEARCH_TEXT_CHARS_MAX)] = "",
        status: Annotated[str, QueryParameter(max_length=20)] = "",
        inactive_days: Annotated[str, QueryParameter(max_length=10)] = "",
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        desk.reach_of(viewer)
        choices = coordinated_communities(viewer, await communities_list())
        selected = selected_community(choices, community)
        form = Form(values={"q": q, "status": status, "inactive_days": inactive_days})
        pending: list[Any] = []
        rows: list[dict[str, Any]] = []
        next_url = None
        if selected is not None:
            pending = await pending_members(actor=viewer, community_id=selected.id)
            filters = _filters_of(q, status, inactive_days, selected.id, form)
            found, next_cursor = await desk.desk_members(
                actor=viewer,
                ledger=ledger,
                filters=filters,
                limit=DESK_PAGE_SIZE,
                cursor=cursor or None,
            )
            rows = [_row_view(row) for row in found]
            if next_cursor:
                query = {**form.values, "community": selected.slug, "cursor": next_cursor}
                next_url = "/coordinator/members?" + urlencode(query)
        return render(
            "desk/desk.html",
            viewer=viewer,
            title=_("Coordinator's desk"),
            current="coordinator",
            choices=choices,
            selected=selected,
            members=pending,
            rows=rows,
            form=form,
            searched=bool(q.strip() or status or inactive_days),
            status_options=[(status, _(words)) for status, words in MEMBER_STATUS_WORDS.items()],
            next_url=next_url,
            later_page=bool(cursor),
            notice=done_message(DONE_MESSAGES, done),
        )

    @get("/{member_id:uuid}")
    async def member_page(
        self,
        viewer: Viewer,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _member_page(viewer, ledger, member_id, done=done)

    @post("/{member_id:uuid}/checks")
    async def record_check(
        self,
        viewer: Viewer,
        engine: EngineDep,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[CheckForm],
    ) -> Response[Any]:
        await desk.desk_member(actor=viewer, member_id=member_id)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await checks.check_record(
                engine=engine, actor=viewer, member_id=member_id, data=CheckIn(**cleaned)
            )
            return see_other(f"/coordinator/members/{member_id}", done="check_recorded")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _member_page(viewer, ledger, member_id, form=form, **refused)

        return await form_post(
            Form.of(data, prefix="check-"),
            data,
            CHECK_RULES,
            CHECK_LABELS,
            write=write,
            reshow=reshow,
        )

    @get("/{member_id:uuid}/decline")
    async def decline_page(self, viewer: Viewer, member_id: FromPath[uuid.UUID]) -> Template:
        member = await desk.desk_member(actor=viewer, member_id=member_id)
        return _decline_page(viewer, member, Form())

    @post("/{member_id:uuid}/decline")
    async def decline(
        self,
        viewer: Viewer,
        engine: EngineDep,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[DeclineForm],
    ) -> Response[Any]:
        member = await desk.desk_member(actor=viewer, member_id=member_id)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await member_decline(
                engine=engine, actor=viewer, member_id=member_id, reason=cleaned["reason"]
            )
            community = await community_by_id(member.community)
            return see_other("/coordinator/members", community=community.slug, done="declined")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return _decline_page(viewer, member, form, **refused)

        return await form_post(
            Form.of(data), data, DECLINE_RULES, DECLINE_LABELS, write=write, reshow=reshow
        )


async def _member_page(
    viewer: Principal,
    ledger: Any,
    member_id: uuid.UUID,
    *,
    form: Form | None = None,
    done: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    found = await desk.member_file(actor=viewer, ledger=ledger, member_id=member_id)
    entries, _next_cursor = await statement_view.statement_entries(
        ledger=ledger, member_id=member_id, limit=STATEMENT_LINES, cursor=None
    )
    return render(
        "desk/member.html",
        viewer=viewer,
        title=found.member.display_name,
        current="coordinator",
        file=found,
        member=found.member,
        status_name=member_status_words(found.member.status),
        balance=minutes_text(found.balance_minutes),
        room=room_words(found.floor_minutes, subject="They"),
        available=minutes_text(found.available_minutes),
        on_hold=minutes_text(found.pending_minutes),
        hours=minutes_text,
        exchange_status=STATUS_WORDS,
        checks=await checks.checks_of(member_id),
        may_host=await may_host_of(member_id),
        check_form=form or Form(prefix="check-"),
        check_kinds=[(kind, _(name)) for kind, name in CHECK_KIND_NAMES.items()],
        check_names=CHECK_KIND_NAMES,
        notice=done_message(DONE_MESSAGES, done),
        status=status,
        headers=headers,
        lines=entries,
        holds=await statement_view.holds_of(member_id),
    )


def _decline_page(
    viewer: Principal,
    member: Any,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return render(
        "desk/decline.html",
        viewer=viewer,
        title=_("Decline %(name)s's application") % {"name": member.display_name},
        current="coordinator",
        status=status,
        headers=headers,
        member=member,
        form=form,
        reason_max=REASON_CHARS_MAX,
    )


PAGE_ROUTERS = [DeskPages]

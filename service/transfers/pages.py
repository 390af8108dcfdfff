"""Giving hours, the statement and the coordinator's grants from the pool: pages over
service/transfers/services.py."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from ledger import ExceedsFloor, Ledger, LedgerError
from service.errors import DomainError
from service.formatting import minutes_text
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import (
    CURSOR_CHARS_MAX,
    EMAIL_CHARS_MAX,
    GIFT_MINUTES_MAX,
    MEMO_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    REASON_CHARS_MAX,
)
from service.members.selectors import MemberPicks, coordinated_picks
from service.principal import Principal, require_any_coordinator
from service.transfers import services as transfers
from service.transfers import statement_view
from service.web.forms import (
    DURATION_START,
    confirmed,
    duration_field,
    member_field,
    short_text_field,
)
from service.web.kit import (
    FORM_INVALID_STATUS,
    Form,
    PageController,
    Viewer,
    done_message,
    form_idempotency_key,
    form_refused,
    render,
    see_other,
    translated_options,
)
from service.web.pickers import PickerSpec, form_pickers

DONE_MESSAGES = {
    "given": N_("Thank you. Your hours have been given."),
    "granted": N_("The hours have been granted from the pool. It is recorded in the audit log."),
}


GIVE_TO_OPTIONS = [("member", N_("A member")), ("pool", N_("The community pool"))]


class GiveForm(msgspec.Struct, kw_only=True):
    to: str = ""
    member: str = ""
    email: str = ""
    hours: str = ""
    minutes: str = ""
    memo: str = ""
    confirm: str = ""
    form_token: str = ""


class GrantForm(msgspec.Struct, kw_only=True):
    member: str = ""
    hours: str = ""
    minutes: str = ""
    reason: str = ""
    form_token: str = ""


class GivingPages(PageController):
    opt = access(Access.MEMBER, acting=True)

    @get("/give")
    async def give_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        done: FromQuery[str | None] = None,
    ) -> Template:
        form = Form(values={"to": "member", **DURATION_START})
        return await give_page_of(
            viewer, form, query=request.query_params, notice=done_message(DONE_MESSAGES, done)
        )

    @post("/give")
    async def give(
        self, viewer: Viewer, data: URLEncodedBody[GiveForm], ledger: LedgerDep
    ) -> Response[Any]:
        form = Form.of(data)
        to_pool = data.to == "pool"
        to_member: uuid.UUID | None = None
        if data.to not in ("member", "pool"):
            form.errors["to"] = _("Choose who receives the hours")
        elif not to_pool:
            to_member = await gift_recipient(form, viewer, data)
        minutes = duration_field(form, data, GIFT_MINUTES_MAX)
        memo = data.memo.strip()
        if len(memo) > MEMO_CHARS_MAX:
            form.errors["memo"] = _("Enter a message in %(chars)s characters or fewer") % {
                "chars": MEMO_CHARS_MAX
            }
        confirmed(form, data.confirm, N_("Tick the box to confirm that you want to give the hours"))
        key = form_idempotency_key(form, data.form_token)
        if form.failed or minutes is None or key is None:
            return await give_page_of(viewer, form, status=422)
        try:
            await transfers.gift(
                ledger=ledger,
                principal=viewer,
                minutes=minutes,
                to_member_id=to_member,
                to_pool=to_pool,
                memo=memo,
                idempotency_key=key,
            )
        except DomainError as problem:
            reshow = form_refused(
                form, problem, {"member": N_("Member")}, code_fields={"gift_to_self": "member"}
            )
            return await give_page_of(viewer, form, **reshow)
        except LedgerError as error:
            if not isinstance(error, ExceedsFloor):
                raise
            available = int(str(error.data.get("available_minor") or 0))
            form.general.append(
                _("Not enough credit: you have %(hours)s available to give.")
                % {"hours": minutes_text(available)}
            )
            return await give_page_of(viewer, form, status=FORM_INVALID_STATUS)
        return see_other("/give", done="given")

    @get("/statement")
    async def statement(
        self,
        viewer: Viewer,
        ledger: LedgerDep,
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        # The lines and notes are built in service/transfers/statement_view.py (shared).
        entries, next_cursor = await statement_view.statement_entries(
            ledger=ledger,
            member_id=viewer.member_id,
            limit=PAGE_SIZE_DEFAULT,
            cursor=cursor or None,
        )
        return render(
            "market/statement.html",
            viewer=viewer,
            title=_("Your statement"),
            current="statement",
            lines=entries,
            holds=await statement_view.holds_of(viewer.member_id),
            balance=await statement_view.balance_sentence(ledger, viewer.member_id),
            next_url=f"/statement?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            later_page=bool(cursor),
        )


async def gift_recipient(form: Form, viewer: Principal, data: GiveForm) -> uuid.UUID | None:
    """The member chosen by email (in the viewer's own community) or from the list."""
    email = data.email.strip()
    if email:
        recipient = None
        if len(email) <= EMAIL_CHARS_MAX:
            with contextlib.suppress(DomainError):
                recipient = await transfers.gift_recipient_by_email(principal=viewer, email=email)
        if recipient is None:
            # One message for every address that cannot receive (ADR 0020).
            form.errors["email"] = _("There is no active member of your time bank with that email")
        return recipient
    return member_field(
        form, "member", data.member, N_("Choose a member, or enter their email address")
    )


async def give_page_of(
    viewer: Principal,
    form: Form,
    *,
    query: Mapping[str, str] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    picks = MemberPicks(frozenset({viewer.community_id}), without=viewer.member_id)
    pickers = await form_pickers(
        "/give", [PickerSpec("member", _("Which member?"), picks)], query, form
    )
    return render(
        "market/give.html",
        viewer=viewer,
        title=_("Give hours"),
        current="give",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        to_options=translated_options(GIVE_TO_OPTIONS),
        picker=pickers["member"],
        memo_max=MEMO_CHARS_MAX,
    )


async def grant_page_of(
    viewer: Principal,
    form: Form,
    *,
    ledger: Ledger,
    query: Mapping[str, str] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    specs = [PickerSpec("member", _("Who receives the hours?"), coordinated_picks(viewer))]
    pickers = await form_pickers("/coordinator/grant", specs, query, form)
    return render(
        "market/coordinator_grant.html",
        viewer=viewer,
        title=_("Grant hours from the pool"),
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        picker=pickers["member"],
        reason_max=REASON_CHARS_MAX,
        pools=[
            (pool.community_name, minutes_text(pool.available_minutes))
            for pool in await transfers.pool_figures(ledger=ledger, principal=viewer)
        ],
    )


class CoordinatorGrantPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator"

    @get("/grant")
    async def grant_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        ledger: LedgerDep,
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_any_coordinator(viewer)
        form = Form(values=dict(DURATION_START))
        return await grant_page_of(
            viewer,
            form,
            ledger=ledger,
            query=request.query_params,
            notice=done_message(DONE_MESSAGES, done),
        )

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
        member = member_field(
            form, "member", data.member, N_("Choose the member who receives the hours")
        )
        minutes = duration_field(form, data, GIFT_MINUTES_MAX)
        reason = short_text_field(
            form, "reason", data.reason, N_("Give the reason"), REASON_CHARS_MAX
        )
        key = form_idempotency_key(form, data.form_token)
        if form.failed or member is None or minutes is None or key is None:
            return await grant_page_of(viewer, form, ledger=ledger, status=422)
        try:
            await transfers.pool_grant(
                engine=engine,
                ledger=ledger,
                principal=viewer,
                member_id=member,
                minutes=minutes,
                reason=reason,
                idempotency_key=key,
            )
        except DomainError as problem:
            return await grant_page_of(
                viewer, form, ledger=ledger, **form_refused(form, problem, {"member": "Member"})
            )
        return see_other("/coordinator/grant", done="granted")


PAGE_ROUTERS = [GivingPages, CoordinatorGrantPages]

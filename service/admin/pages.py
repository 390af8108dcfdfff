"""The admin console's HTML pages: the console home, member search and one member
(suspend, reinstate, credit limits), the audit log, and ledger health.

Thin like the other pages (service/members/pages.py): read the form, check it,
call one function of service/admin/services.py, then render or redirect
(POST-redirect-GET with a `done` flag that picks a fixed message). Admins
only: anyone else gets the 403 page, and a signed-out visitor is sent to sign in.
The dispute queue lives under /admin/disputes (service/disputes/).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from ledger import Ledger, TrialBalance, Unit, VerifyReport
from service.admin import audit_log, ledger_health, member_details, services
from service.admin.audit_view import action_name, audit_filters_from, audit_rows
from service.admin.limits_form import (
    LIMITS_REFUSAL_LABELS,
    LIMITS_RULES,
    LIMITS_SERVICE_FIELDS,
    REASON_LIMIT,
    REASON_MESSAGE,
    LimitsForm,
    ceiling_text,
    floor_text,
    limits_from,
    limits_values,
)
from service.admin.member_details import MemberDetailsIn, NoteText
from service.admin.schemas import MemberStatusIn
from service.disputes.floors import below_floor_minutes
from service.exchanges import selectors as exchanges_selectors
from service.exchanges.words import status_words
from service.formatting import minutes_text, money_text
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import (
    ADMIN_NOTE_CHARS_MAX,
    ADMIN_RECENT_EXCHANGES_MAX,
    ADMIN_SEARCH_CHARS_MAX,
    CURSOR_CHARS_MAX,
    EMAIL_CHARS_MAX,
    TRIAL_BALANCE_ROWS_SHOWN_MAX,
)
from service.members.words import MEMBER_STATUS_WORDS, member_status_words
from service.principal import Principal, require_admin
from service.web.forms import confirmed
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

FILTER_CHARS_MAX = 100  # any one audit filter field
AUDIT_PER_PAGE = 25
MEMBERS_PER_PAGE = 25

DONE_MESSAGES = {
    "suspended": N_(
        "The member has been suspended. They have been signed out everywhere, "
        "and their open exchanges were cancelled with any hours on hold released."
    ),
    "reinstated": N_("The suspension has been lifted. The member can sign in again."),
    "limits-saved": N_("The credit limits have been saved."),
    "details-saved": N_("Their details have been saved. It is recorded in the audit log."),
    "note-added": N_("Your note has been added. Only admins can read it."),
}
STATUS_CHOICES = [("", N_("Any status")), *MEMBER_STATUS_WORDS.items()]


def amount_text(unit: Unit, minor: int) -> str:
    return minutes_text(minor) if unit is Unit.HOUR else money_text(minor)


# Forms as posted: every field a string, so a bad value is shown, never a 400. ---------


class StatusForm(msgspec.Struct, kw_only=True):
    action: str = ""
    reason: str = ""
    confirm: str = ""


STATUS_RULES = {
    "action": Rule(schema_type(MemberStatusIn, "action"), N_("Choose suspend or lift")),
    "reason": Rule(schema_type(MemberStatusIn, "reason"), REASON_MESSAGE, values=REASON_LIMIT),
}
STATUS_LABELS = {"action": N_("Action"), "reason": N_("Reason")}


class DetailsForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    email: str = ""
    phone: str = ""
    ward: str = ""
    reason: str = ""


DETAILS_RULES = {
    "display_name": Rule(
        schema_type(MemberDetailsIn, "display_name"), N_("Enter their name, up to 80 characters")
    ),
    "email": Rule(
        schema_type(MemberDetailsIn, "email"),
        N_("Enter an email address like name@example.org, or leave it blank"),
        optional=True,
    ),
    "phone": Rule(
        schema_type(MemberDetailsIn, "phone"),
        N_("Enter a phone number with digits, spaces, + or brackets only"),
    ),
    "ward": Rule(schema_type(MemberDetailsIn, "ward"), N_("Enter a ward of up to 80 characters")),
    "reason": Rule(
        schema_type(MemberDetailsIn, "reason"),
        N_("Say why in up to 1000 characters"),
        optional=True,
    ),
}
DETAILS_LABELS = {
    "display_name": N_("Name"),
    "email": N_("Email address"),
    "phone": N_("Phone"),
    "ward": N_("Neighbourhood or ward"),
    "reason": N_("Reason"),
}


class NoteForm(msgspec.Struct, kw_only=True):
    body: str = ""


NOTE_RULES = {
    "body": Rule(
        NoteText,
        N_("Write the note, up to %(chars)s characters"),
        values={"chars": ADMIN_NOTE_CHARS_MAX},
    ),
}
NOTE_LABELS = {"body": N_("Note")}
# The audit log in words -----------------------------------------------------------------


# Pages ----------------------------------------------------------------------------------


class AdminConsolePages(PageController):
    opt = access(Access.ADMIN)
    path = "/admin"

    @get("/")
    async def console(self, viewer: Viewer) -> Template:
        require_admin(viewer)
        return render(
            "admin/console.html", viewer=viewer, title=_("Admin console"), current="admin"
        )

    @get("/members")
    async def members(
        self,
        viewer: Viewer,
        q: Annotated[str, QueryParameter(max_length=ADMIN_SEARCH_CHARS_MAX)] = "",
        status: Annotated[str, QueryParameter(max_length=FILTER_CHARS_MAX)] = "",
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        require_admin(viewer)
        form = Form(values={"q": q, "status": status})
        if status and status not in MEMBER_STATUS_WORDS:
            form.errors["status"] = _("Choose a status from the list")
            return _members_page(viewer, form, [], None, status=422)
        rows, next_cursor = await services.members_search(
            actor=viewer,
            text=q,
            status=status or None,
            limit=MEMBERS_PER_PAGE,
            cursor=cursor or None,
        )
        next_url = None
        if next_cursor:
            next_url = "/admin/members?" + urlencode(
                {"q": q, "status": status, "cursor": next_cursor}
            )
        return _members_page(viewer, form, rows, next_url, later_page=bool(cursor))

    @get("/members/{member_id:uuid}")
    async def member(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        ledger: LedgerDep,
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_admin(viewer)
        return await _member_page(
            viewer, ledger, member_id, notice=done_message(DONE_MESSAGES, done)
        )

    @post("/members/{member_id:uuid}/status", opt=on_object("member", "member_id"))
    async def change_status(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[StatusForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)

        def check(form: Form, cleaned: dict[str, Any]) -> None:
            if cleaned.get("action") == "suspend":  # cannot be undone: their exchanges end
                confirmed(form, data.confirm, _("Tick the box to confirm the suspension"))

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            if cleaned["action"] == "suspend":
                await services.member_suspend(
                    engine=engine,
                    ledger=ledger,
                    actor=viewer,
                    member_id=member_id,
                    reason=cleaned["reason"],
                )
                return see_other(f"/admin/members/{member_id}", done="suspended")
            await services.member_reinstate(
                engine=engine, actor=viewer, member_id=member_id, reason=cleaned["reason"]
            )
            return see_other(f"/admin/members/{member_id}", done="reinstated")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _member_page(viewer, ledger, member_id, status_form=form, **refused)

        return await form_post(
            Form.of(data, prefix="status-"),
            data,
            STATUS_RULES,
            STATUS_LABELS,
            check=check,
            write=write,
            reshow=reshow,
        )

    @post("/members/{member_id:uuid}/limits", opt=on_object("member", "member_id"))
    async def change_limits(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[LimitsForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)
        overview = await services.member_overview(actor=viewer, ledger=ledger, member_id=member_id)
        read_limits: list[tuple[int, int | None]] = []  # (floor, ceiling) once `check` read them

        def check(form: Form, _cleaned: dict[str, Any]) -> None:
            floor_minutes, ceiling_minutes = limits_from(form)
            if floor_minutes is not None:  # else the form has an error and `write` is not reached
                read_limits.append((floor_minutes, ceiling_minutes))

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await services.account_limits_set(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                account_id=overview.account.account_id,
                floor_minutes=read_limits[0][0],
                ceiling_minutes=read_limits[0][1],
                reason=cleaned["reason"],
            )
            return see_other(f"/admin/members/{member_id}", done="limits-saved")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _member_page(viewer, ledger, member_id, limits_form=form, **refused)

        return await form_post(
            Form.of(data, prefix="limits-"),
            data,
            LIMITS_RULES,
            LIMITS_REFUSAL_LABELS,
            check=check,
            write=write,
            reshow=reshow,
            moves=LIMITS_SERVICE_FIELDS,
        )

    @post("/members/{member_id:uuid}/details", opt=on_object("member", "member_id"))
    async def change_details(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[DetailsForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            details = MemberDetailsIn(
                display_name=cleaned["display_name"],
                email=cleaned["email"] or "",
                phone=cleaned["phone"],
                ward=cleaned["ward"],
                reason=cleaned["reason"] or "",
            )
            await member_details.member_details_update(
                engine=engine, actor=viewer, member_id=member_id, data=details
            )
            return see_other(f"/admin/members/{member_id}", done="details-saved")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _member_page(viewer, ledger, member_id, details_form=form, **refused)

        return await form_post(
            Form.of(data, prefix="details-"),
            data,
            DETAILS_RULES,
            DETAILS_LABELS,
            write=write,
            reshow=reshow,
            code_fields={"email_taken": "email"},
        )

    @post("/members/{member_id:uuid}/notes", opt=on_object("member", "member_id"))
    async def add_note(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[NoteForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await member_details.admin_note_add(
                engine=engine, actor=viewer, member_id=member_id, body=cleaned["body"]
            )
            return see_other(f"/admin/members/{member_id}", done="note-added")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _member_page(viewer, ledger, member_id, note_form=form, **refused)

        return await form_post(
            Form.of(data, prefix="note-"),
            data,
            NOTE_RULES,
            NOTE_LABELS,
            write=write,
            reshow=reshow,
        )

    @get("/audit")
    async def audit(
        self,
        *,
        viewer: Viewer,
        actor: Annotated[str, QueryParameter(max_length=EMAIL_CHARS_MAX)] = "",
        action: Annotated[str, QueryParameter(max_length=FILTER_CHARS_MAX)] = "",
        target_type: Annotated[str, QueryParameter(max_length=FILTER_CHARS_MAX)] = "",
        target_id: Annotated[str, QueryParameter(max_length=FILTER_CHARS_MAX)] = "",
        from_: Annotated[str, QueryParameter(name="from", max_length=FILTER_CHARS_MAX)] = "",
        to: Annotated[str, QueryParameter(max_length=FILTER_CHARS_MAX)] = "",
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        require_admin(viewer)
        values = {
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "from": from_,
            "to": to,
        }
        form = Form(values=values)
        filters = await audit_filters_from(form)
        if filters is None:
            return await _audit_page(viewer, form, [], None, status=422)
        entries, next_cursor = await audit_log.audit_search(
            actor=viewer, filters=filters, limit=AUDIT_PER_PAGE, cursor=cursor or None
        )
        next_url = None
        if next_cursor:
            next_url = "/admin/audit?" + urlencode({**values, "cursor": next_cursor})
        return await _audit_page(
            viewer, form, await audit_rows(entries), next_url, later_page=bool(cursor)
        )

    @get("/ledger")
    async def ledger_health(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        require_admin(viewer)
        return await _ledger_page(viewer, ledger, report=None)

    @get("/ledger/verify")
    async def ledger_verify(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        require_admin(viewer)
        report = await ledger_health.ledger_verify(actor=viewer, ledger=ledger)
        return await _ledger_page(viewer, ledger, report=report)


def _members_page(
    viewer: Principal,
    form: Form,
    rows: list[services.MemberRow],
    next_url: str | None,
    *,
    status: int = 200,
    later_page: bool = False,
) -> Template:
    return render(
        "admin/members.html",
        viewer=viewer,
        title=_("Members"),
        current="admin",
        status=status,
        form=form,
        status_choices=[(value, _(words)) for value, words in STATUS_CHOICES],
        status_names=MEMBER_STATUS_WORDS,
        rows=rows,
        searched=bool(form.values.get("q") or form.values.get("status")),
        next_url=next_url,
        later_page=later_page,
    )


async def _member_page(
    viewer: Principal,
    ledger: Ledger,
    member_id: uuid.UUID,
    *,
    status_form: Form | None = None,
    limits_form: Form | None = None,
    details_form: Form | None = None,
    note_form: Form | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    overview = await services.member_overview(actor=viewer, ledger=ledger, member_id=member_id)
    member, account = overview.member, overview.account
    below = await below_floor_minutes(account.account_id, account.balance_minutes)
    audit = await audit_log.audit_about_member(actor=viewer, member=member)
    return render(
        "admin/member.html",
        viewer=viewer,
        title=_("Member: %(name)s") % {"name": member.display_name},
        current="admin",
        status=status,
        headers=headers,
        notice=notice,
        member=member,
        community=overview.community,
        status_name=member_status_words(member.status),
        account={
            "balance": minutes_text(account.balance_minutes),
            "on_hold": minutes_text(account.pending_minutes),
            "available": minutes_text(account.available_minutes),
            "floor": floor_text(account.floor_minutes),
            "ceiling": ceiling_text(account.ceiling_minutes),
            "below_floor": minutes_text(below) if below > 0 else None,
            "closed": account.closed,
            "id": account.account_id,
        },
        status_form=status_form or Form(prefix="status-"),
        limits_form=limits_form or Form(values=limits_values(account), prefix="limits-"),
        details_form=details_form
        or Form(
            values={
                "display_name": member.display_name,
                "email": member.email or "",
                "phone": member.phone,
                "ward": member.ward,
            },
            prefix="details-",
        ),
        note_form=note_form or Form(prefix="note-"),
        notes=await member_details.admin_notes_of(actor=viewer, member_id=member_id),
        failed_form=next(
            (
                form
                for form in (status_form, limits_form, details_form, note_form)
                if form and form.failed
            ),
            None,
        ),
        exchanges=await _recent_exchanges(viewer, member_id),
        audit=await audit_rows(audit),
    )


async def _recent_exchanges(viewer: Principal, member_id: uuid.UUID) -> list[dict[str, Any]]:
    ids = await services.member_recent_exchange_ids(
        actor=viewer, member_id=member_id, limit=ADMIN_RECENT_EXCHANGES_MAX
    )
    rows = []
    for exchange_id in ids:
        view = await exchanges_selectors.exchange_get(actor=viewer, exchange_id=exchange_id)
        providing = view.provider_id == member_id
        others = list(view.recipient_ids) if providing else [view.provider_id]
        rows.append(
            {
                "id": view.id,
                "service_date": view.exchange.service_date,
                "description": view.exchange.description,
                "role": _("Helped") if providing else _("Was helped"),
                "with": ", ".join(view.name_of(other) for other in others),
                "hours": minutes_text(view.exchange.minutes),
                "status": status_words(view.status),
            }
        )
    return rows


async def _audit_page(
    viewer: Principal,
    form: Form,
    rows: list[dict[str, Any]],
    next_url: str | None,
    *,
    status: int = 200,
    later_page: bool = False,
) -> Template:
    actions, target_types = await audit_log.audit_choices(actor=viewer)
    chosen = form.values.get("action", "")
    if chosen and chosen not in actions:
        actions.append(chosen)  # keep what was asked for selectable
    return render(
        "admin/audit.html",
        viewer=viewer,
        title=_("Audit log"),
        current="admin",
        status=status,
        form=form,
        action_choices=[(action, f"{action_name(action)} ({action})") for action in actions],
        target_choices=[(target, target) for target in target_types],
        rows=rows,
        next_url=next_url,
        later_page=later_page,
        first_url="/admin/audit?" + urlencode(form.values),
    )


async def _ledger_page(
    viewer: Principal, ledger: Ledger, *, report: VerifyReport | None
) -> Template:
    trials = await ledger_health.trial_balances(actor=viewer, ledger=ledger)
    owners = await ledger_health.owner_names(
        [row.owner for trial in trials for row in trial.rows[:TRIAL_BALANCE_ROWS_SHOWN_MAX]]
    )
    return render(
        "admin/ledger.html",
        viewer=viewer,
        title=_("Ledger health"),
        current="admin",
        report=report,
        units=[_unit_context(trial, owners) for trial in trials],
        rows_shown_max=TRIAL_BALANCE_ROWS_SHOWN_MAX,
    )


def _unit_context(
    trial: TrialBalance, owners: Mapping[str, ledger_health.OwnerName]
) -> dict[str, Any]:
    unit = trial.unit
    total = sum(row.balance_minor for row in trial.rows)
    return {
        "unit": unit.value,
        "name": _("Hours") if unit is Unit.HOUR else _("Money (pounds)"),
        "count": len(trial.rows),
        "rows": [
            {
                "owner": owners[row.owner].text,
                "member_id": owners[row.owner].member_id,
                "debits": amount_text(unit, row.debits_posted_minor),
                "credits": amount_text(unit, row.credits_posted_minor),
                "balance": amount_text(unit, row.balance_minor),
            }
            for row in sorted(
                trial.rows[:TRIAL_BALANCE_ROWS_SHOWN_MAX],
                # The communities' own accounts first, then members by name.
                key=lambda row: (owners[row.owner].member_id is not None, owners[row.owner].text),
            )
        ],
        "total_debits": amount_text(unit, trial.total_debits_minor),
        "total_credits": amount_text(unit, trial.total_credits_minor),
        "sum": amount_text(unit, total),
        "balanced": trial.balanced and total == 0,
    }


PAGE_ROUTERS = [AdminConsolePages]

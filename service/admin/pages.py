"""The admin console's HTML pages: the console home, member search and one member
(suspend, reinstate, credit limits), the audit log, and ledger health.

Thin like the other pages (service/members/pages.py): read the form, check it,
call one function of service/admin/services.py, then render or redirect
(POST-redirect-GET with a `done` flag that picks a fixed message). Admins
only: anyone else gets the 403 page, and a signed-out visitor is sent to sign in.
The dispute queue lives under /admin/disputes (service/disputes/).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from ledger import Ledger, TrialBalance, Unit, VerifyReport
from service.admin import services
from service.admin.schemas import LimitsIn, MemberStatusIn
from service.disputes.floors import below_floor_minutes
from service.errors import DomainError
from service.exchanges import selectors as exchanges_selectors
from service.formatting import MINUTES_PER_HOUR, minutes_text
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.limits import (
    ACCOUNT_CEILING_MINUTES_MAX,
    ACCOUNT_FLOOR_MINUTES_MIN,
    ADMIN_RECENT_EXCHANGES_MAX,
    ADMIN_SEARCH_CHARS_MAX,
    CURSOR_CHARS_MAX,
    EMAIL_CHARS_MAX,
    REASON_CHARS_MAX,
    TRIAL_BALANCE_ROWS_SHOWN_MAX,
)
from service.members.tables import AuditEntry
from service.principal import Principal, require_admin
from service.web.forms import DIGITS_MAX
from service.web.kit import (
    PAGE_DEPENDENCIES,
    Form,
    Rule,
    Viewer,
    done_message,
    page_exception_handlers,
    problem_status,
    render,
    schema_type,
    see_other,
    show_problem,
    validate,
)

FILTER_CHARS_MAX = 100  # any one audit filter field
AUDIT_PER_PAGE = 25
MEMBERS_PER_PAGE = 25
CHANGE_VALUE_CHARS_MAX = 300  # of one before/after value shown in the audit table

DONE_MESSAGES = {
    "suspended": "The member has been suspended. They have been signed out everywhere, "
    "and their open exchanges were cancelled with any hours on hold released.",
    "reinstated": "The suspension has been lifted. The member can sign in again.",
    "limits-saved": "The credit limits have been saved.",
}
STATUS_NAMES = {
    "active": "Active",
    "pending": "Waiting for approval",
    "suspended": "Suspended",
    "closed": "Closed",
    "declined": "Application declined",
}
STATUS_CHOICES = [("", "Any status"), *STATUS_NAMES.items()]
ACTION_NAMES = {
    "member.suspend": "Suspended a member",
    "member.reinstate": "Lifted a suspension",
    "member.approve": "Approved a member",
    "member.decline": "Declined an application",
    "member.reapply": "Applied again after a decline",
    "member.close": "Closed an account",
    "account.limits": "Changed credit limits",
    "account.floor_override": "Lowered a floor for a correction",
    "role.grant": "Granted a role",
    "role.revoke": "Revoked a role",
    "area.create": "Created an area",
    "community.create": "Created a community",
    "exchange.record": "Recorded an exchange",
    "pool.grant": "Granted hours from the pool",
    "dispute.resolve": "Resolved a dispute",
}
EXCHANGE_STATUS_NAMES = {
    "proposed": "Waiting for acceptance",
    "accepted": "Agreed, hours on hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "expired": "Expired",
}


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def pence_text(pence: int) -> str:
    pounds, rest = divmod(abs(pence), 100)
    return ("minus " if pence < 0 else "") + f"£{pounds:,}.{rest:02d}"


def amount_text(unit: Unit, minor: int) -> str:
    return minutes_text(minor) if unit is Unit.HOUR else pence_text(minor)


def floor_text(floor_minutes: int | None) -> str:
    if floor_minutes is None:
        return "No lowest balance"
    if floor_minutes < 0:
        return f"May owe up to {minutes_text(-floor_minutes)}"
    if floor_minutes == 0:
        return "Cannot go below zero"
    return f"Must keep at least {minutes_text(floor_minutes)}"


def ceiling_text(ceiling_minutes: int | None) -> str:
    return "No highest balance" if ceiling_minutes is None else minutes_text(ceiling_minutes)


# Forms as posted: every field a string, so a bad value is shown, never a 400. ---------


class StatusForm(msgspec.Struct, kw_only=True):
    action: str = ""
    reason: str = ""


class LimitsForm(msgspec.Struct, kw_only=True):
    owe_hours: str = ""
    owe_minutes: str = ""
    ceiling_hours: str = ""
    ceiling_minutes: str = ""
    reason: str = ""


REASON_MESSAGE = f"Enter the reason, in {REASON_CHARS_MAX} characters or fewer"
STATUS_RULES = {
    "action": Rule(schema_type(MemberStatusIn, "action"), "Choose suspend or lift"),
    "reason": Rule(schema_type(MemberStatusIn, "reason"), REASON_MESSAGE),
}
STATUS_LABELS = {"action": "Action", "reason": "Reason"}
LIMITS_RULES = {"reason": Rule(schema_type(LimitsIn, "reason"), REASON_MESSAGE)}
LIMITS_LABELS = {"owe_hours": "How much they may owe", "ceiling_hours": "Highest balance"}


def _whole(text: str) -> int | None:
    text = text.strip() or "0"
    if len(text) > DIGITS_MAX or not (text.isascii() and text.isdecimal()):
        return None
    return int(text)


def _hours_and_minutes(form: Form, hours_field: str, minutes_field: str, what: str) -> int | None:
    """Two fields as whole minutes; errors go on `form` next to the hours field."""
    hours = _whole(str(form.values.get(hours_field, "")))
    minutes = _whole(str(form.values.get(minutes_field, "")))
    if hours is None:
        form.errors[hours_field] = f"Enter {what} in whole hours, like 10"
        return None
    if minutes is None or minutes >= MINUTES_PER_HOUR:
        form.errors[hours_field] = f"Enter the minutes of {what} as a whole number from 0 to 59"
        return None
    return hours * MINUTES_PER_HOUR + minutes


def _limits_from(form: Form) -> tuple[int | None, int | None]:
    """(floor, ceiling) in minutes from the form; the floor is "how much they may owe"."""
    owed = _hours_and_minutes(form, "owe_hours", "owe_minutes", "how much they may owe")
    if owed is not None and owed > -ACCOUNT_FLOOR_MINUTES_MIN:
        form.errors["owe_hours"] = f"Enter at most {minutes_text(-ACCOUNT_FLOOR_MINUTES_MIN)}"
    ceiling_given = any(
        str(form.values.get(name, "")).strip() for name in ("ceiling_hours", "ceiling_minutes")
    )
    ceiling = None
    if ceiling_given:
        ceiling = _hours_and_minutes(
            form, "ceiling_hours", "ceiling_minutes", "the highest balance"
        )
        if ceiling is not None and ceiling > ACCOUNT_CEILING_MINUTES_MAX:
            form.errors["ceiling_hours"] = (
                f"Enter at most {minutes_text(ACCOUNT_CEILING_MINUTES_MAX)}"
            )
    return (None if owed is None else -owed), ceiling


def _split(minutes: int) -> tuple[str, str]:
    hours, rest = divmod(minutes, MINUTES_PER_HOUR)
    return str(hours), str(rest)


def _limits_values(account: services.AccountView) -> dict[str, str]:
    floor = account.floor_minutes or 0
    owe_hours, owe_minutes = _split(max(0, -floor))
    values = {"owe_hours": owe_hours, "owe_minutes": owe_minutes}
    if account.ceiling_minutes is not None:
        values["ceiling_hours"], values["ceiling_minutes"] = _split(account.ceiling_minutes)
    return values


# The audit log in words -----------------------------------------------------------------


def _value_text(value: Any) -> str:
    if value is None or value in ([], {}):
        return "none"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= CHANGE_VALUE_CHARS_MAX else text[:CHANGE_VALUE_CHARS_MAX] + "…"


def audit_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    """What an entry changed: each field whose value differs, before and after."""
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            {
                "field": key.replace("_", " "),
                "before": _value_text(old) if key in before else "—",
                "after": _value_text(new) if key in after else "—",
            }
        )
    return changes


async def audit_rows(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    names = await services.member_names(entry.actor_id for entry in entries)
    return [
        {
            "at": entry.at,
            "who": names.get(entry.actor_id, "Former member")
            if entry.actor_id
            else entry.actor_label.replace("system:", "System: "),
            "what": action_name(entry.action),
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "reason": entry.reason,
            "changes": audit_changes(
                services.audit_json(entry.before_json), services.audit_json(entry.after_json)
            ),
        }
        for entry in entries
    ]


# Pages ----------------------------------------------------------------------------------


class AdminConsolePages(Controller):
    opt = access(Access.ADMIN)
    path = "/admin"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/")
    async def console(self, viewer: Viewer) -> Template:
        require_admin(viewer)
        return render("admin/console.html", viewer=viewer, title="Admin console", current="admin")

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
        if status and status not in STATUS_NAMES:
            form.errors["status"] = "Choose a status from the list"
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
        form = Form.of(data, prefix="status-")
        cleaned = validate(form, data, STATUS_RULES)
        if form.failed:
            return await _member_page(viewer, ledger, member_id, status_form=form, status=422)
        try:
            if cleaned["action"] == "suspend":
                await services.member_suspend(
                    engine=engine,
                    ledger=ledger,
                    actor=viewer,
                    member_id=member_id,
                    reason=cleaned["reason"],
                )
            else:
                await services.member_reinstate(
                    engine=engine, actor=viewer, member_id=member_id, reason=cleaned["reason"]
                )
        except DomainError as problem:
            show_problem(form, problem, STATUS_LABELS)
            status, headers = problem_status(problem)
            return await _member_page(
                viewer, ledger, member_id, status_form=form, status=status, headers=headers
            )
        done = "suspended" if cleaned["action"] == "suspend" else "reinstated"
        return see_other(f"/admin/members/{member_id}", done=done)

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
        form = Form.of(data, prefix="limits-")
        cleaned = validate(form, data, LIMITS_RULES)
        floor, ceiling = _limits_from(form)
        if form.failed or floor is None:
            return await _member_page(viewer, ledger, member_id, limits_form=form, status=422)
        try:
            await services.account_limits_set(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                account_id=overview.account.account_id,
                floor_minutes=floor,
                ceiling_minutes=ceiling,
                reason=cleaned["reason"],
            )
        except DomainError as problem:
            if problem.code == "limits_below_position":
                field = (
                    "owe_hours"
                    if problem.extra_fields.get("field") == "floor_minutes"
                    else "ceiling_hours"
                )
                form.errors[field] = problem.detail
            else:
                show_problem(form, problem, LIMITS_LABELS)
            status, headers = problem_status(problem)
            return await _member_page(
                viewer, ledger, member_id, limits_form=form, status=status, headers=headers
            )
        return see_other(f"/admin/members/{member_id}", done="limits-saved")

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
        filters = await _audit_filters(form)
        if filters is None:
            return await _audit_page(viewer, form, [], None, status=422)
        entries, next_cursor = await services.audit_search(
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
        report = await services.ledger_verify(actor=viewer, ledger=ledger)
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
        title="Members",
        current="admin",
        status=status,
        form=form,
        status_choices=STATUS_CHOICES,
        status_names=STATUS_NAMES,
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
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    overview = await services.member_overview(actor=viewer, ledger=ledger, member_id=member_id)
    member, account = overview.member, overview.account
    below = await below_floor_minutes(account.account_id, account.balance_minutes)
    audit = await services.audit_about_member(actor=viewer, member=member)
    return render(
        "admin/member.html",
        viewer=viewer,
        title=f"Member: {member.display_name}",
        current="admin",
        status=status,
        headers=headers,
        notice=notice,
        member=member,
        community=overview.community,
        status_name=STATUS_NAMES.get(member.status, member.status),
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
        limits_form=limits_form or Form(values=_limits_values(account), prefix="limits-"),
        failed_form=status_form if status_form and status_form.failed else limits_form,
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
                "role": "Helped" if providing else "Was helped",
                "with": ", ".join(view.name_of(other) for other in others),
                "hours": minutes_text(view.exchange.minutes),
                "status": EXCHANGE_STATUS_NAMES.get(view.status, view.status),
            }
        )
    return rows


async def _audit_filters(form: Form) -> services.AuditFilters | None:
    """The audit page's filters, checked; errors go on `form` (None if any)."""
    values = form.values
    actor_id = None
    actor_text = values["actor"].strip()
    if actor_text:
        try:
            actor_id = uuid.UUID(actor_text)
        except ValueError:
            actor_id = await services.member_id_by_email(actor_text)
        if actor_id is None:
            form.errors["actor"] = "Enter the email address or id of a member"
    bounds = {}
    for name, end in (("from", False), ("to", True)):
        try:
            bounds[name] = services.audit_bound(values[name], field=name, end=end)
        except DomainError:
            form.errors[name] = "Enter a date like 2026-05-14"
    if form.failed:
        return None
    return services.AuditFilters(
        actor_id=actor_id,
        action=values["action"].strip() or None,
        target_type=values["target_type"].strip() or None,
        target_id=values["target_id"].strip() or None,
        from_at=bounds["from"],
        to_at=bounds["to"],
    )


async def _audit_page(
    viewer: Principal,
    form: Form,
    rows: list[dict[str, Any]],
    next_url: str | None,
    *,
    status: int = 200,
    later_page: bool = False,
) -> Template:
    actions, target_types = await services.audit_choices(actor=viewer)
    chosen = form.values.get("action", "")
    if chosen and chosen not in actions:
        actions.append(chosen)  # keep what was asked for selectable
    return render(
        "admin/audit.html",
        viewer=viewer,
        title="Audit log",
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
    trials = await services.trial_balances(actor=viewer, ledger=ledger)
    owners = await services.owner_names(
        [row.owner for trial in trials for row in trial.rows[:TRIAL_BALANCE_ROWS_SHOWN_MAX]]
    )
    return render(
        "admin/ledger.html",
        viewer=viewer,
        title="Ledger health",
        current="admin",
        report=report,
        units=[_unit_context(trial, owners) for trial in trials],
        rows_shown_max=TRIAL_BALANCE_ROWS_SHOWN_MAX,
    )


def _unit_context(trial: TrialBalance, owners: Mapping[str, services.OwnerName]) -> dict[str, Any]:
    unit = trial.unit
    total = sum(row.balance_minor for row in trial.rows)
    return {
        "unit": unit.value,
        "name": "Hours" if unit is Unit.HOUR else "Money (pounds)",
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

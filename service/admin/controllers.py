"""The admin console's JSON API: thin handlers that parse, call one service function, shape.

Paths (api.md): suspend or reinstate a member, change an account's limits,
the audit log, ledger verify and the trial balance; plus member search and one
member's admin view. Every handler is for admins only: the service functions
answer 403 to anyone else before reading anything.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from ledger import Unit, VerifyReport
from service.admin import audit_log, ledger_health, member_details, services
from service.admin.member_details import AdminNoteIn, MemberDetailsIn
from service.admin.schemas import (
    AdminAccountOut,
    AdminMemberOut,
    AdminNoteOut,
    AdminNotesOut,
    AuditEntryOut,
    AuditPage,
    LimitsIn,
    MemberPage,
    MemberRowOut,
    MemberStatusIn,
    TrialBalanceAccountOut,
    TrialBalanceOut,
    TrialBalanceUnitOut,
    VerifyOut,
    VerifyProblemOut,
)
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.http.idempotency import idempotency_middleware
from service.limits import (
    ADMIN_SEARCH_CHARS_MAX,
    CURSOR_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SLUG_CHARS_MAX,
)
from service.members.roles import grants_of_member
from service.members.schemas import LINE_PATTERN, SLUG_PATTERN, MemberStatus, RoleOut
from service.members.tables import AuditEntry
from service.principal import Principal

MINOR_UNIT_NAMES = {Unit.HOUR: "minute", Unit.GBP: "penny"}
AUDIT_ACTION_CHARS_MAX = 60  # the column's width
AUDIT_TARGET_TYPE_CHARS_MAX = 40
AUDIT_TARGET_ID_CHARS_MAX = 64
DATE_CHARS_MAX = 40  # "2026-05-14" or "2026-05-14T09:30:00.000000+01:00"

Limit = Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)]
Cursor = Annotated[str | None, QueryParameter(max_length=CURSOR_CHARS_MAX)]


def account_out(view: services.AccountView) -> AdminAccountOut:
    return AdminAccountOut(
        account_id=view.account_id,
        unit="HOUR",
        owner=view.owner,
        member_id=view.member_id,
        balance_minutes=view.balance_minutes,
        pending_minutes=view.pending_minutes,
        available_minutes=view.available_minutes,
        floor_minutes=view.floor_minutes,
        ceiling_minutes=view.ceiling_minutes,
        closed=view.closed,
    )


async def admin_member_out(overview: services.MemberOverview) -> AdminMemberOut:
    member = overview.member
    return AdminMemberOut(
        id=member.id,
        display_name=member.display_name,
        email=member.email,
        status=member.status,  # type: ignore[arg-type]
        community=overview.community.slug,
        community_id=overview.community.id,
        ward=member.ward,
        roles=[RoleOut(**grant) for grant in await grants_of_member(member.id)],
        created_at=member.created_at,
        approved_at=member.approved_at,
        account=account_out(overview.account),
    )


async def audit_entries_out(entries: list[AuditEntry]) -> list[AuditEntryOut]:
    names = await services.member_names(entry.actor_id for entry in entries)
    return [
        AuditEntryOut(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_label=entry.actor_label,
            actor_name=names.get(entry.actor_id) if entry.actor_id else None,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            community_id=entry.community,
            reason=entry.reason,
            before=audit_log.audit_json(entry.before_json),
            after=audit_log.audit_json(entry.after_json),
            request_id=entry.request_id,
        )
        for entry in entries
    ]


def verify_out(report: VerifyReport) -> VerifyOut:
    found = report.discrepancy
    problems = []
    if found is not None:
        problems.append(
            VerifyProblemOut(
                check=found.check,
                detail=found.detail,
                account_id=found.account_id,
                version=found.version,
                transfer_id=found.transfer_id,
            )
        )
    return VerifyOut(
        ok=report.ok,
        checked_accounts=report.accounts_checked,
        checked_entries=report.entries_checked,
        checked_transfers=report.transfers_checked,
        units=list(report.units_checked),
        problems=problems,
        summary=report.summary(),
    )


async def _member_out(actor: Principal, ledger: LedgerDep, member_id: uuid.UUID) -> AdminMemberOut:
    overview = await services.member_overview(actor=actor, ledger=ledger, member_id=member_id)
    return await admin_member_out(overview)


class AdminConsoleController(Controller):
    opt = access(Access.ADMIN)
    path = "/api/v1/admin"
    tags = ("admin",)

    @get("/members")
    async def search_members(
        self,
        *,
        member: CurrentMember,
        q: Annotated[
            str, QueryParameter(max_length=ADMIN_SEARCH_CHARS_MAX, pattern=LINE_PATTERN)
        ] = "",
        status: Annotated[MemberStatus | None, QueryParameter()] = None,
        community: Annotated[
            str | None, QueryParameter(max_length=SLUG_CHARS_MAX, pattern=SLUG_PATTERN)
        ] = None,
        limit: Limit = PAGE_SIZE_DEFAULT,
        cursor: Cursor = None,
    ) -> MemberPage:
        rows, next_cursor = await services.members_search(
            actor=member, text=q, status=status, community=community, limit=limit, cursor=cursor
        )
        return MemberPage(
            items=[
                MemberRowOut(
                    id=row.id,
                    display_name=row.display_name,
                    email=row.email,
                    status=row.status,  # type: ignore[arg-type]
                    community=row.community,
                    ward=row.ward,
                    created_at=row.created_at,
                )
                for row in rows
            ],
            next_cursor=next_cursor,
        )

    @get("/members/{member_id:uuid}")
    async def one_member(
        self, member: CurrentMember, member_id: FromPath[uuid.UUID], ledger: LedgerDep
    ) -> AdminMemberOut:
        return await _member_out(member, ledger, member_id)

    @post(
        "/members/{member_id:uuid}/suspend",
        status_code=HTTP_200_OK,
        middleware=[idempotency_middleware],
        opt=on_object("member", "member_id"),
    )
    async def suspend(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[MemberStatusIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> AdminMemberOut:
        """Suspend (`action: suspend`) or reinstate (`action: reinstate`) a member."""
        if data.action == "suspend":
            await services.member_suspend(
                engine=engine, ledger=ledger, actor=member, member_id=member_id, reason=data.reason
            )
        else:
            await services.member_reinstate(
                engine=engine, actor=member, member_id=member_id, reason=data.reason
            )
        return await _member_out(member, ledger, member_id)

    @patch("/members/{member_id:uuid}", opt=on_object("member", "member_id"))
    async def change_details(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[MemberDetailsIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> AdminMemberOut:
        """Correct a member's name, email, phone or ward; audited (ADR 0033)."""
        await member_details.member_details_update(
            engine=engine, actor=member, member_id=member_id, data=data
        )
        return await _member_out(member, ledger, member_id)

    @get("/members/{member_id:uuid}/notes")
    async def notes(self, member: CurrentMember, member_id: FromPath[uuid.UUID]) -> AdminNotesOut:
        """The newest private notes on a member, newest first (admins only, ADR 0033)."""
        return await _notes_out(member, member_id)

    @post(
        "/members/{member_id:uuid}/notes",
        middleware=[idempotency_middleware],
        opt=on_object("member", "member_id"),
    )
    async def add_note(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[AdminNoteIn],
        engine: EngineDep,
    ) -> AdminNotesOut:
        """Add a private note on a member; audited without its text (ADR 0033)."""
        await member_details.admin_note_add(
            engine=engine, actor=member, member_id=member_id, body=data.body
        )
        return await _notes_out(member, member_id)

    @get("/accounts/{account_id:uuid}")
    async def one_account(
        self, member: CurrentMember, account_id: FromPath[uuid.UUID], ledger: LedgerDep
    ) -> AdminAccountOut:
        return account_out(
            await services.account_view(actor=member, ledger=ledger, account_id=account_id)
        )

    @put("/accounts/{account_id:uuid}/limits", opt=on_object("account", "account_id"))
    async def change_limits(
        self,
        member: CurrentMember,
        account_id: FromPath[uuid.UUID],
        data: JSONBody[LimitsIn],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> AdminAccountOut:
        """Change an hours account's floor and ceiling. `account_id` is the ledger account id
        (a member's is `hour_account_id`, shown as `account.account_id` by GET /members/{id})."""
        view = await services.account_limits_set(
            engine=engine,
            ledger=ledger,
            actor=member,
            account_id=account_id,
            floor_minutes=data.floor_minutes,
            ceiling_minutes=data.ceiling_minutes,
            reason=data.reason,
        )
        return account_out(view)

    @get("/audit")
    async def audit(
        self,
        *,
        member: CurrentMember,
        actor: Annotated[uuid.UUID | None, QueryParameter()] = None,
        action: Annotated[
            str | None, QueryParameter(max_length=AUDIT_ACTION_CHARS_MAX, pattern=LINE_PATTERN)
        ] = None,
        target_type: Annotated[
            str | None,
            QueryParameter(max_length=AUDIT_TARGET_TYPE_CHARS_MAX, pattern=LINE_PATTERN),
        ] = None,
        target_id: Annotated[
            str | None,
            QueryParameter(max_length=AUDIT_TARGET_ID_CHARS_MAX, pattern=LINE_PATTERN),
        ] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=DATE_CHARS_MAX)] = None,
        to: Annotated[str | None, QueryParameter(max_length=DATE_CHARS_MAX)] = None,
        limit: Limit = PAGE_SIZE_DEFAULT,
        cursor: Cursor = None,
    ) -> AuditPage:
        filters = audit_log.AuditFilters(
            actor_id=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            from_at=audit_log.audit_bound(from_, field="from", end=False),
            to_at=audit_log.audit_bound(to, field="to", end=True),
        )
        entries, next_cursor = await audit_log.audit_search(
            actor=member, filters=filters, limit=limit, cursor=cursor
        )
        return AuditPage(items=await audit_entries_out(entries), next_cursor=next_cursor)

    @get("/ledger/verify")
    async def verify(self, member: CurrentMember, ledger: LedgerDep) -> VerifyOut:
        return verify_out(await ledger_health.ledger_verify(actor=member, ledger=ledger))

    @get("/ledger/trial-balance")
    async def trial_balance(self, member: CurrentMember, ledger: LedgerDep) -> TrialBalanceOut:
        units = [
            TrialBalanceUnitOut(
                unit=trial.unit.value,
                minor_unit=MINOR_UNIT_NAMES[trial.unit],  # type: ignore[arg-type]
                accounts=[
                    TrialBalanceAccountOut(
                        account_id=row.account_id,
                        owner=row.owner,
                        debits_posted_minor=row.debits_posted_minor,
                        credits_posted_minor=row.credits_posted_minor,
                        balance_minor=row.balance_minor,
                    )
                    for row in trial.rows
                ],
                total_debits_minor=trial.total_debits_minor,
                total_credits_minor=trial.total_credits_minor,
                sum_of_balances_minor=sum(row.balance_minor for row in trial.rows),
                balanced=trial.balanced,
            )
            for trial in await ledger_health.trial_balances(actor=member, ledger=ledger)
        ]
        return TrialBalanceOut(units=units, balanced=all(unit.balanced for unit in units))


async def _notes_out(actor: Principal, member_id: uuid.UUID) -> AdminNotesOut:
    found = await member_details.admin_notes_of(actor=actor, member_id=member_id)
    return AdminNotesOut(
        items=[
            AdminNoteOut(
                id=note.id, body=note.body, written_by=note.written_by, written_at=note.written_at
            )
            for note in found
        ]
    )


ROUTERS = [AdminConsoleController]

__all__ = ["ROUTERS", "account_out", "admin_member_out", "audit_entries_out", "verify_out"]

"""A member's own record: finding one (and whether a coordinator may reach them), the
profile, the hours account, and the members feature's part of the data export.

Joining lives in registration.py, signing in in sessions.py, areas and communities
in communities.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from ledger import Ledger
from ledger.sql import as_uuid
from service import clock, database
from service.errors import invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import LANGUAGES, _, is_language
from service.limits import EXPORT_STATEMENT_LINES_MAX
from service.members.communities import community_by_id
from service.members.schemas import ProfilePatch
from service.members.tables import ApiToken, AuditEntry, Member, RoleGrant, WebSession
from service.principal import Grant, Principal, not_found, require_coordinator_of


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def member_in_reach(actor: Principal, member_id: uuid.UUID) -> None:
    """404 unless the actor coordinates the member's community or is an admin
    (the access guard asks before the body of a route on one member)."""
    await member_in_scope(actor, member_id)


async def member_in_scope(actor: Principal, member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    require_coordinator_of(actor, member.community)
    return member


async def open_member_in_scope(actor: Principal, member_id: uuid.UUID) -> uuid.UUID:
    """The community of a member the actor coordinates (or any, for an admin) whose
    account is not closed; 404 otherwise, the same as for no such member."""
    member = (
        await Member.select(Member.community, Member.status)
        .where(Member.id == member_id)
        .first()
        .run()
    )
    if member is None or member["status"] == "closed":
        raise not_found("That member")
    require_coordinator_of(actor, member["community"])
    community_id: uuid.UUID = member["community"]
    return community_id


async def member_by_id(member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    return member


async def live_grants(member_id: uuid.UUID) -> tuple[Grant, ...]:
    rows = (
        await RoleGrant.select(RoleGrant.role, RoleGrant.community, RoleGrant.area)
        .where((RoleGrant.member == member_id) & RoleGrant.revoked_at.is_null())
        .run()
    )
    return tuple(Grant(row["role"], row["community"], row["area"]) for row in rows)


async def language_choose(*, principal: Principal, language: str) -> None:
    """Store the language a member chose; it follows them to every device and their mail."""
    if not is_language(language):
        raise invalid_field(
            "language", _("must be one of: %(choices)s") % {"choices": ", ".join(LANGUAGES)}
        )
    principals_changed()  # the principal carries the language (ADR 0043, ADR 0048)
    await Member.update({Member.language: language}).where(Member.id == principal.member_id).run()


async def profile_update(*, principal: Principal, patch: ProfilePatch) -> Member:
    changes = {
        getattr(Member, name): (value.strip() if isinstance(value, str) else value)
        for name, value in msgspec.structs.asdict(patch).items()
        if value is not None and value is not msgspec.UNSET
    }
    if patch.birth_year is None:
        changes[Member.birth_year] = None  # an explicit null removes the year
    elif isinstance(patch.birth_year, int) and patch.birth_year > clock.utc_now().year:
        raise invalid_field("birth_year", _("cannot be in the future"))
    if changes:
        principals_changed()  # the version moves once this commits (ADR 0043)
        await Member.update(changes).where(Member.id == principal.member_id).run()
    return await member_by_id(principal.member_id)


async def member_export(
    *,
    ledger: Ledger,
    principal: Principal,
    statement_lines_max: int = EXPORT_STATEMENT_LINES_MAX,
) -> dict[str, Any]:
    """The members feature's part of the data export, as plain JSON values.

    service/export/services.py adds the other features' parts (this module cannot import
    them: they import it). The statement is newest first, at most
    `statement_lines_max` lines.
    """
    member = await member_by_id(principal.member_id)
    community = await community_by_id(member.community)
    statement = await _whole_statement(ledger, member.hour_account_id, statement_lines_max)
    return {
        "exported_at": clock.utc_now().isoformat(),
        "profile": {
            "id": str(member.id),
            "email": member.email,
            "display_name": member.display_name,
            "ward": member.ward,
            "birth_year": member.birth_year,
            "skills": member.skills,
            "help_wanted": member.help_wanted,
            "status": member.status,
            "community": community.slug,
            "created_at": member.created_at.isoformat(),
            "consented_at": member.consented_at.isoformat() if member.consented_at else None,
            "approved_at": member.approved_at.isoformat() if member.approved_at else None,
            "language": member.language,  # the language they chose (ADR 0048)
        },
        "roles": [
            {
                "role": grant.role,
                "community": str_or_none(grant.community_id),
                "area": str_or_none(grant.area_id),
            }
            for grant in await live_grants(member.id)
        ],
        "account": await account_summary(ledger, member.hour_account_id),
        "statement": statement,
        "sessions": await WebSession.select(
            WebSession.created_at, WebSession.last_seen_at, WebSession.ended_at
        )
        .where(WebSession.member == member.id)
        .run(),
        "api_tokens": await ApiToken.select(
            ApiToken.created_at, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at
        )
        .where(ApiToken.member == member.id)
        .run(),
        "audit": await AuditEntry.select(
            AuditEntry.at, AuditEntry.action, AuditEntry.reason, AuditEntry.actor_label
        )
        .where((AuditEntry.target_type == "member") & (AuditEntry.target_id == str(member.id)))
        .run(),
    }


def str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


async def account_summary(ledger: Ledger, account_id: uuid.UUID) -> dict[str, Any]:
    account = await ledger.account(account_id=account_id)
    return {
        "unit": account.unit.value,
        "balance_minutes": account.balance_minor,
        "pending_minutes": account.debits_pending_minor,
        "available_minutes": account.available_minor,
        "floor_minutes": account.floor_minor,
        "ceiling_minutes": account.ceiling_minor,
    }


async def _whole_statement(
    ledger: Ledger, account_id: uuid.UUID, lines_max: int
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_lines = min(500, lines_max - len(lines))
        page = await ledger.statement(account_id=account_id, limit=page_lines, cursor=cursor)
        lines += [
            {
                "transfer_id": str(line.transfer.id),
                "code": line.transfer.code,
                "minutes": line.change_minor,
                "balance_after_minutes": line.balance_after_minor,
                "memo": line.transfer.memo,
                "effective_at": line.transfer.effective_at.isoformat(),
                "recorded_at": line.recorded_at.isoformat(),
            }
            for line in page.lines
        ]
        cursor = page.next_cursor
        if cursor is None or len(lines) >= lines_max:
            return lines


async def account_of(*, ledger: Ledger, principal: Principal) -> dict[str, Any]:
    return await account_summary(ledger, await hour_account_of(principal))


async def hour_account_of(principal: Principal) -> uuid.UUID:
    """The caller's hours account: known from the request's own lookup, else read."""
    if principal.hour_account_id is not None:
        return principal.hour_account_id
    return await hour_account_of_member(principal.member_id)


async def hour_account_of_member(member_id: uuid.UUID) -> uuid.UUID:
    """A member's hours account, by one point read (ADR 0053); 404 for no such member."""
    async with database.point_read() as connection:
        row = await connection.fetchrow(_HOUR_ACCOUNT_SQL, member_id)
    if row is None:
        raise not_found("That member")
    return as_uuid(row["hour_account_id"])


_HOUR_ACCOUNT_SQL = "SELECT hour_account_id FROM member_member WHERE id = $1"

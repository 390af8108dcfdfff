"""Members, communities and roles: the rules, as service functions (writes) and selectors.

Controllers and pages call these and nothing else; these call the ledger and
the tables. Each write runs in one transaction shared with the ledger, so a
member is never created without an account, nor approved without the welcome
credit.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from piccolo.engine.base import Engine

from ledger import (
    Ledger,
    Unit,
    WriteTransaction,
    run_write,
    write_transaction,
)
from service import clock
from service.errors import Conflict, Forbidden, Invalid, NotSignedIn, invalid_field
from service.limits import (
    API_TOKEN_LIFETIME_SECONDS,
    EXPORT_STATEMENT_LINES_MAX,
    SESSION_ABSOLUTE_SECONDS,
    SESSION_IDLE_SECONDS,
    SESSION_TOUCH_INTERVAL_SECONDS,
    TOKEN_BYTES,
)
from service.members import callers, passwords
from service.members.accounts import (
    member_account_id,
    open_system_accounts,
    welcome_transfer_id,
)
from service.members.audit import audit_record
from service.members.callers import token_digest
from service.members.mailing import membership_mail, register_taken_mail
from service.members.schemas import (
    AreaIn,
    CommunityIn,
    ProfilePatch,
    RegisterIn,
)
from service.members.tables import (
    ApiToken,
    Area,
    AuditEntry,
    Community,
    Member,
    RoleGrant,
    WebSession,
)
from service.principal import (
    Grant,
    Principal,
    not_found,
    require_admin,
    require_coordinator_of,
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


# Areas and communities -------------------------------------------------------------


async def area_create(*, engine: Engine[Any], actor: Principal, data: AreaIn) -> Area:
    require_admin(actor)
    area = Area(id=uuid.uuid4(), name=data.name, slug=data.slug, created_at=clock.utc_now())

    async def write(_: WriteTransaction) -> None:
        # Checked inside the retried write: a racing twin that inserts the slug
        # first makes the retry answer 409 here, not a unique-index 500.
        if await Area.exists().where(Area.slug == data.slug).run():
            raise Conflict(code="slug_taken", detail="An area with this slug exists.")
        await Area.insert(area).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="area.create",
            target_type="area",
            target_id=str(area.id),
            after={"name": data.name, "slug": data.slug},
        )

    await run_write(engine, write)
    return area


async def community_create(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal | None, data: CommunityIn
) -> Community:
    """Create a community and its five system accounts (actor None: the command line)."""
    if actor is not None:
        require_admin(actor)
    area = await Area.objects().where(Area.slug == data.area).first().run()
    if area is None:
        raise Invalid(code="unknown_area", detail="There is no area with that slug.")
    community_id = uuid.uuid4()
    fields: dict[str, Any] = msgspec.structs.asdict(data)
    fields.pop("area")

    async def write(_: WriteTransaction) -> Community:
        if await Community.exists().where(Community.slug == data.slug).run():
            raise Conflict(code="slug_taken", detail="A community with this slug exists.")
        accounts = await open_system_accounts(ledger, community_id)
        columns: dict[str, Any] = {
            **fields,
            **{f"{purpose}_account_id": account for purpose, account in accounts.items()},
        }
        community = Community(id=community_id, area=area.id, created_at=clock.utc_now(), **columns)
        await Community.insert(community).run()
        await audit_record(
            actor_id=actor.member_id if actor else None,
            actor_label=actor.label if actor else "system:cli",
            action="community.create",
            target_type="community",
            target_id=str(community_id),
            community_id=community_id,
            after={**fields, "area": data.area},
        )
        return community

    return await run_write(engine, write)


async def communities_list() -> list[Community]:
    return await Community.objects().order_by(Community.name).run()


async def community_by_id(community_id: uuid.UUID) -> Community:
    community = await Community.objects().where(Community.id == community_id).first().run()
    if community is None:
        raise not_found("That community")
    return community


# Registration and approval ---------------------------------------------------------


async def member_register(*, engine: Engine[Any], ledger: Ledger, data: RegisterIn) -> Member:
    """Register a member; for an email already taken, the same answer and nothing written."""
    if not data.consent:
        raise Invalid(
            code="consent_required",
            detail="Please agree to the privacy notice to join.",
            extra={"errors": [{"field": "consent", "message": "must be accepted"}]},
        )
    if data.birth_year is not None and data.birth_year > clock.utc_now().year:
        raise invalid_field("birth_year", "cannot be in the future")
    community = await Community.objects().where(Community.slug == data.community).first().run()
    if community is None:
        raise invalid_field("community", "there is no time bank with that name")
    email = normalise_email(data.email)
    password_hash = await passwords.hash_password(data.password)
    member_id = uuid.uuid4()
    now = clock.utc_now()
    member = Member(
        id=member_id,
        email=email,
        password_hash=password_hash,
        display_name=data.display_name.strip(),
        community=community.id,
        ward=data.ward.strip(),
        birth_year=data.birth_year,
        skills="",
        status="pending" if community.requires_approval else "active",
        hour_account_id=member_account_id(member_id),
        consented_at=now,
        created_at=now,
        approved_at=None if community.requires_approval else now,
    )

    async def write(_: WriteTransaction) -> Member:
        # A racing registration of the same email that commits first makes this
        # insert break the unique index (PostgreSQL); the write is then retried,
        # and the retry finds the email taken here instead of a 500.
        taken = await Member.objects().where(Member.email == email).first().run()
        if taken is not None and taken.status == "declined":
            return await _reapply(ledger, community, taken, member)
        if taken is not None:
            raise _EmailTaken
        await member_insert_with_account(ledger, community, member)
        if member.status == "active":
            await _post_welcome_credit(ledger, community, member)
        return member

    # No enumeration (ADR 0020): for a taken email the caller gets the answer a
    # new member would get, about a member that is never saved; the password
    # was hashed all the same, so the time taken matches too. Nothing is written;
    # the address's owner is told by mail that someone tried (ADR 0022).
    try:
        return await run_write(engine, write)
    except _EmailTaken:
        await register_taken_mail(engine=engine, email=email)
    return member


async def _reapply(ledger: Ledger, community: Community, declined: Member, fresh: Member) -> Member:
    """A declined applicant applies again with the same email: the same member (and hours
    account) becomes a new application, with what they typed this time.

    Their account never received the welcome credit (it comes with approval), so it
    can move to the community they chose now. The answer looks like any registration's.
    """
    changes: dict[Any, Any] = {
        Member.password_hash: fresh.password_hash,
        Member.display_name: fresh.display_name,
        Member.community: community.id,
        Member.ward: fresh.ward,
        Member.birth_year: fresh.birth_year,
        Member.status: fresh.status,
        Member.consented_at: fresh.consented_at,
        Member.approved_at: fresh.approved_at,
    }
    await Member.update(changes).where(Member.id == declined.id).run()
    reopened = await member_by_id(declined.id)
    if reopened.status == "active":
        await _post_welcome_credit(ledger, community, reopened)
    await audit_record(
        actor_id=declined.id,
        actor_label=f"member:{declined.id}",
        action="member.reapply",
        target_type="member",
        target_id=str(declined.id),
        community_id=community.id,
        before={"status": "declined"},
        after={"status": reopened.status},
    )
    return reopened


class _EmailTaken(Exception):  # noqa: N818 - a signal inside member_register, not an error
    """Raised inside the registration transaction to leave it without writing."""


async def member_insert_with_account(ledger: Ledger, community: Community, member: Member) -> None:
    """Open the member's hour account with their community's limits, then insert the member
    (inside the caller's write transaction, so neither exists without the other)."""
    await ledger.open_account(
        unit=Unit.HOUR,
        owner=f"member:{member.id}",
        floor_minor=community.member_floor_minutes,
        ceiling_minor=community.member_ceiling_minutes,
        account_id=member.hour_account_id,
    )
    await Member.insert(member).run()


async def _post_welcome_credit(ledger: Ledger, community: Community, member: Member) -> None:
    """Post the welcome credit once: its transfer id is derived from the member."""
    if community.welcome_credit_minutes <= 0:
        return
    transfer = await ledger.transfer(
        id=welcome_transfer_id(member.id),
        debit_account_id=community.issuance_account_id,
        credit_account_id=member.hour_account_id,
        amount_minor=community.welcome_credit_minutes,
        unit=Unit.HOUR,
        code="welcome",
        actor="system:welcome",
        memo=f"Welcome to {community.name}",
    )
    await (
        Member.update({Member.welcome_transfer_id: transfer.id}).where(Member.id == member.id).run()
    )


async def member_approve(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, member_id: uuid.UUID
) -> Member:
    """Approve a pending member and post the welcome credit, exactly once."""
    member = await _member_in_scope(actor, member_id)
    async with write_transaction(engine) as transaction:
        # Only the approval that flips the status posts the credit; a second
        # click, or a second coordinator at the same moment, changes nothing.
        flipped = (
            await Member.update({Member.status: "active", Member.approved_at: clock.utc_now()})
            .where((Member.id == member_id) & (Member.status == "pending"))
            .returning(Member.id)
            .run()
        )
        if flipped:
            community = await community_by_id(member.community)
            await _post_welcome_credit(ledger, community, member)
            await audit_record(
                actor_id=actor.member_id,
                actor_label=actor.label,
                action="member.approve",
                target_type="member",
                target_id=str(member_id),
                community_id=member.community,
                before={"status": "pending"},
                after={"status": "active"},
            )
            await membership_mail(transaction, member_id=member_id, approved=True)
    return await member_by_id(member_id)


async def member_decline(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, reason: str
) -> Member:
    """Decline a pending application with a reason; the applicant is told (mail and notice).

    A repeat on a declined member changes nothing and answers the same; anyone
    not waiting for approval -> 409, nothing written.
    """
    member = await _member_in_scope(actor, member_id)

    async def write(transaction: WriteTransaction) -> None:
        flipped = (
            await Member.update({Member.status: "declined"})
            .where((Member.id == member_id) & (Member.status == "pending"))
            .returning(Member.id)
            .run()
        )
        if not flipped:
            if (await member_by_id(member_id)).status == "declined":
                return
            raise Conflict(
                code="member_not_pending",
                detail="Only a member waiting for approval can be declined.",
            )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="member.decline",
            target_type="member",
            target_id=str(member_id),
            community_id=member.community,
            reason=reason,
            before={"status": "pending"},
            after={"status": "declined"},
        )
        await membership_mail(transaction, member_id=member_id, approved=False, reason=reason)

    await run_write(engine, write)
    return await member_by_id(member_id)


async def member_apply_again(*, engine: Engine[Any], ledger: Ledger, principal: Principal) -> None:
    """A declined applicant, signed in, applies again as they are: waiting for approval
    once more (or active at once with the welcome credit, if their community no longer
    asks for approval). Anyone not declined: nothing changes."""
    community = await community_by_id(principal.community_id)
    now = clock.utc_now()
    target = "pending" if community.requires_approval else "active"

    async def write(_: WriteTransaction) -> None:
        flipped = (
            await Member.update(
                {
                    Member.status: target,
                    Member.approved_at: None if target == "pending" else now,
                }
            )
            .where((Member.id == principal.member_id) & (Member.status == "declined"))
            .returning(Member.id)
            .run()
        )
        if not flipped:
            return
        if target == "active":
            await _post_welcome_credit(ledger, community, await member_by_id(principal.member_id))
        await audit_record(
            actor_id=principal.member_id,
            actor_label=principal.label,
            action="member.reapply",
            target_type="member",
            target_id=str(principal.member_id),
            community_id=community.id,
            before={"status": "declined"},
            after={"status": target},
        )

    await run_write(engine, write)


async def decline_reason(member_id: uuid.UUID) -> str | None:
    """Why the member's latest application was declined (the audit log keeps it)."""
    row = (
        await AuditEntry.select(AuditEntry.reason)
        .where(
            (AuditEntry.target_type == "member")
            & (AuditEntry.target_id == str(member_id))
            & (AuditEntry.action == "member.decline")
        )
        .order_by(AuditEntry.at, ascending=False)
        .first()
        .run()
    )
    return None if row is None else str(row["reason"])


async def member_in_reach(actor: Principal, member_id: uuid.UUID) -> None:
    """404 unless the actor coordinates the member's community or is an admin
    (the access guard asks before the body of a route on one member)."""
    await _member_in_scope(actor, member_id)


async def _member_in_scope(actor: Principal, member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    require_coordinator_of(actor, member.community)
    return member


async def member_by_id(member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    return member


async def pending_members(*, actor: Principal, community_id: uuid.UUID) -> list[Member]:
    require_coordinator_of(actor, community_id)
    return (
        await Member.objects()
        .where((Member.community == community_id) & (Member.status == "pending"))
        .order_by(Member.created_at)
        .run()
    )


# Sign-in, sessions and tokens ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    token: str
    credential_id: uuid.UUID
    expires_at: datetime
    member_id: uuid.UUID


async def authenticate(*, email: str, password: str) -> Member:
    """The member with this email and password, or 401 saying only that the pair is wrong."""
    member = await Member.objects().where(Member.email == normalise_email(email)).first().run()
    stored_hash = member.password_hash if member is not None else None
    if not await passwords.verify_password(stored_hash, password) or member is None:
        raise NotSignedIn(
            code="sign_in_failed",
            detail="That email and password do not match an account.",
        )
    if member.status == "suspended":
        raise Forbidden(
            code="account_suspended",
            detail="This account is suspended. Please contact your coordinator.",
        )
    if stored_hash is not None and passwords.needs_rehash(stored_hash):
        rehashed = await passwords.hash_password(password)
        await Member.update({Member.password_hash: rehashed}).where(Member.id == member.id).run()
    return member


async def token_create(*, member: Member) -> IssuedCredential:
    token = _new_token("tb")
    now = clock.utc_now()
    row = ApiToken(
        id=uuid.uuid4(),
        token_hash=token_digest(token),
        member=member.id,
        created_at=now,
        expires_at=now + timedelta(seconds=API_TOKEN_LIFETIME_SECONDS),
    )
    await ApiToken.insert(row).run()
    return IssuedCredential(token, row.id, row.expires_at, member.id)


async def session_create(*, member: Member, replacing_token: str | None) -> IssuedCredential:
    """A new session for a fresh sign-in; any session the browser had is ended (rotation)."""
    if replacing_token:
        await session_end(token=replacing_token)
    token = _new_token("s")
    now = clock.utc_now()
    row = WebSession(
        id=uuid.uuid4(),
        token_hash=token_digest(token),
        member=member.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=SESSION_ABSOLUTE_SECONDS),
    )
    await WebSession.insert(row).run()
    return IssuedCredential(token, row.id, row.expires_at, member.id)


async def session_end(*, token: str) -> None:
    await (
        WebSession.update({WebSession.ended_at: clock.utc_now()})
        .where((WebSession.token_hash == token_digest(token)) & WebSession.ended_at.is_null())
        .run()
    )


async def token_revoke(*, principal: Principal) -> None:
    if principal.via == "token":
        await (
            ApiToken.update({ApiToken.revoked_at: clock.utc_now()})
            .where(ApiToken.id == principal.credential_id)
            .run()
        )
    else:
        await (
            WebSession.update({WebSession.ended_at: clock.utc_now()})
            .where(WebSession.id == principal.credential_id)
            .run()
        )


async def principal_from_token(*, token: str) -> Principal | None:
    """The caller behind a bearer token, in one query (service/members/callers.py)."""
    return await callers.principal_for_token(token, now=clock.utc_now())


async def principal_from_session(*, token: str) -> Principal | None:
    """The caller behind a session cookie, in one query; touches the session now and then."""
    return await callers.principal_for_session(
        token,
        now=clock.utc_now(),
        idle_seconds=SESSION_IDLE_SECONDS,
        touch_interval_seconds=SESSION_TOUCH_INTERVAL_SECONDS,
    )


async def live_grants(member_id: uuid.UUID) -> tuple[Grant, ...]:
    rows = (
        await RoleGrant.select(RoleGrant.role, RoleGrant.community, RoleGrant.area)
        .where((RoleGrant.member == member_id) & RoleGrant.revoked_at.is_null())
        .run()
    )
    return tuple(Grant(row["role"], row["community"], row["area"]) for row in rows)


# Profile, export, closure ----------------------------------------------------------


async def profile_update(*, principal: Principal, patch: ProfilePatch) -> Member:
    changes = {
        getattr(Member, name): (value.strip() if isinstance(value, str) else value)
        for name, value in msgspec.structs.asdict(patch).items()
        if value is not None and value is not msgspec.UNSET
    }
    if patch.birth_year is None:
        changes[Member.birth_year] = None  # an explicit null removes the year
    elif isinstance(patch.birth_year, int) and patch.birth_year > clock.utc_now().year:
        raise invalid_field("birth_year", "cannot be in the future")
    if changes:
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
        },
        "roles": [
            {"role": grant.role, "community": _str(grant.community_id), "area": _str(grant.area_id)}
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


def _str(value: object) -> str | None:
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
    return (await member_by_id(principal.member_id)).hour_account_id


# Roles -----------------------------------------------------------------------------


# The first admin -------------------------------------------------------------------

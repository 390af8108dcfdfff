"""Joining a time bank: registration, a coordinator's approval or decline, applying
again, and the welcome credit that comes with approval.

Each write runs in one transaction shared with the ledger, so a member is never
created without an account, nor approved without the welcome credit.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, Unit, WriteTransaction, run_write
from service import clock
from service.errors import Conflict, Invalid, invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import _, current_language, use_language
from service.members import passwords
from service.members.accounts import member_account_id, welcome_transfer_id
from service.members.audit import audit_member_change, audit_record
from service.members.communities import community_by_id
from service.members.mailing import membership_mail, register_taken_mail
from service.members.schemas import RegisterIn
from service.members.services import member_by_id, member_in_scope, normalise_email
from service.members.tables import AuditEntry, Community, Member
from service.principal import Principal, require_coordinator_of


async def member_register(*, engine: Engine[Any], ledger: Ledger, data: RegisterIn) -> Member:
    """Register a member; for an email already taken, the same answer and nothing written."""
    if not data.consent:
        raise Invalid(
            code="consent_required",
            detail=_("Please agree to the privacy notice to join."),
            extra={"errors": [{"field": "consent", "message": _("must be accepted")}]},
        )
    if data.birth_year is not None and data.birth_year > clock.utc_now().year:
        raise invalid_field("birth_year", _("cannot be in the future"))
    community = await Community.objects().where(Community.slug == data.community).first().run()
    if community is None:
        raise invalid_field("community", _("there is no time bank with that name"))
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
        # The language they registered in is their choice until they change it (ADR 0048).
        language=current_language(),
        created_at=now,
        approved_at=None if community.requires_approval else now,
    )

    async def write(_transaction: WriteTransaction) -> Member:
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
            await welcome_credit_post(ledger, community, member)
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
    principals_changed()  # the version moves once this commits (ADR 0043)
    await Member.update(changes).where(Member.id == declined.id).run()
    reopened = await member_by_id(declined.id)
    if reopened.status == "active":
        await welcome_credit_post(ledger, community, reopened)
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


async def welcome_credit_post(ledger: Ledger, community: Community, member: Member) -> None:
    """Post the welcome credit once: its transfer id is derived from the member."""
    if community.welcome_credit_minutes <= 0:
        return
    # Written in the member's language (a coordinator may be approving them in another).
    with use_language(member.language):
        memo = _("Welcome to %(community)s") % {"community": community.name}
    transfer = await ledger.transfer(
        id=welcome_transfer_id(member.id),
        debit_account_id=community.issuance_account_id,
        credit_account_id=member.hour_account_id,
        amount_minor=community.welcome_credit_minutes,
        unit=Unit.HOUR,
        code="welcome",
        actor="system:welcome",
        memo=memo,
    )
    await (
        Member.update({Member.welcome_transfer_id: transfer.id}).where(Member.id == member.id).run()
    )


async def member_approve(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, member_id: uuid.UUID
) -> Member:
    """Approve a pending member and post the welcome credit, exactly once."""
    member = await member_in_scope(actor, member_id)

    async def write(transaction: WriteTransaction) -> None:
        # Only the approval that flips the status posts the credit; a second
        # click, or a second coordinator at the same moment, changes nothing.
        principals_changed()  # the version moves once this commits (ADR 0043)
        flipped = (
            await Member.update({Member.status: "active", Member.approved_at: clock.utc_now()})
            .where((Member.id == member_id) & (Member.status == "pending"))
            .returning(Member.id)
            .run()
        )
        if not flipped:
            return
        community = await community_by_id(member.community)
        await welcome_credit_post(ledger, community, member)
        await audit_member_change(
            actor,
            action="member.approve",
            member_id=member_id,
            community_id=member.community,
            before={"status": "pending"},
            after={"status": "active"},
        )
        await membership_mail(transaction, member_id=member_id, approved=True)

    await run_write(engine, write)
    return await member_by_id(member_id)


async def member_decline(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, reason: str
) -> Member:
    """Decline a pending application with a reason; the applicant is told (mail and notice).

    A repeat on a declined member changes nothing and answers the same; anyone
    not waiting for approval -> 409, nothing written.
    """
    member = await member_in_scope(actor, member_id)

    async def write(transaction: WriteTransaction) -> None:
        principals_changed()  # the version moves once this commits (ADR 0043)
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
                detail=_("Only a member waiting for approval can be declined."),
            )
        await audit_member_change(
            actor,
            action="member.decline",
            member_id=member_id,
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

    async def write(_transaction: WriteTransaction) -> None:
        principals_changed()  # the version moves once this commits (ADR 0043)
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
            await welcome_credit_post(ledger, community, await member_by_id(principal.member_id))
        await audit_member_change(
            principal,
            action="member.reapply",
            member_id=principal.member_id,
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


async def pending_members(*, actor: Principal, community_id: uuid.UUID) -> list[Member]:
    require_coordinator_of(actor, community_id)
    return (
        await Member.objects()
        .where((Member.community == community_id) & (Member.status == "pending"))
        .order_by(Member.created_at)
        .run()
    )

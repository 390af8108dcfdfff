"""Members who are not online: a coordinator creates them, and may act for them (issue 16).

A member "has a login" exactly when they have a password hash (ADR 0030). A
coordinator creates a member with no login, active at once with the welcome
credit; a login can be given later (service/recovery: an invitation link or the
coordinator's reset code).

A coordinator of a member's community may act for them when the member has no
login or has said yes (`coordinator_may_act_at`, recorded with the date). The
HTTP kit asks `acting_principal` on every route that may run as the member
(service/http/acting.py); the answer is the member's principal without any
roles, naming the coordinator, so everything the route writes records both
(ADR 0031).
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service import clock
from service.errors import Conflict, invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import N_, _
from service.members.accounts import member_account_id
from service.members.audit import audit_member_change, audit_record
from service.members.registration import member_insert_with_account, welcome_credit_post
from service.members.schemas import OfflineMemberIn
from service.members.services import normalise_email
from service.members.tables import Community, Member, WebSession
from service.principal import Principal, cannot_act, forbidden, not_found

# Members a coordinator may act for must be able to act at all.
ACTABLE_STATUS = "active"


def has_login(member: Member) -> bool:
    """The one definition (ADR 0030): a login is a password hash."""
    password_hash: str | None = member.password_hash  # Piccolo types it as str; null is none
    return password_hash is not None


# Creating a member who is not online ---------------------------------------------------


async def member_create_offline(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, data: OfflineMemberIn
) -> Member:
    """A member with no login in a community `actor` coordinates: active, welcomed."""
    community = await Community.objects().where(Community.slug == data.community).first().run()
    if community is None:
        raise invalid_field("community", _("there is no time bank with that name"))
    if not (actor.is_admin or actor.coordinates(community.id)):
        raise forbidden(N_("You can add members only to a time bank you coordinate."))
    if data.birth_year is not None and data.birth_year > clock.utc_now().year:
        raise invalid_field("birth_year", _("cannot be in the future"))
    email = normalise_email(data.email) if data.email else None
    member = _new_offline_member(data, community, email)

    async def write(_transaction: WriteTransaction) -> None:
        if email is not None and await Member.exists().where(Member.email == email).run():
            raise Conflict(
                code="email_taken",
                detail=_("Another account uses this email address. Leave it out, or use another."),
                extra={"errors": [{"field": "email", "message": _("is used by another account")}]},
            )
        await member_insert_with_account(ledger, community, member)
        await welcome_credit_post(ledger, community, member)
        await audit_member_change(
            actor,
            action="member.create_without_login",
            member_id=member.id,
            community_id=community.id,
            reason=f"added by {actor.display_name}",
            after={"display_name": member.display_name, "status": "active", "has_login": False},
        )

    await run_write(engine, write)
    return await Member.objects().where(Member.id == member.id).first().run() or member


def _new_offline_member(data: OfflineMemberIn, community: Community, email: str | None) -> Member:
    member_id = uuid.uuid4()
    now = clock.utc_now()
    return Member(
        id=member_id,
        email=email,
        password_hash=None,
        display_name=data.display_name.strip(),
        community=community.id,
        ward=data.ward.strip(),
        birth_year=data.birth_year,
        skills=data.skills.strip(),
        phone=data.phone.strip(),
        status="active",
        hour_account_id=member_account_id(member_id),
        consented_at=None,
        created_at=now,
        approved_at=now,
    )


# The member's consent ------------------------------------------------------------------


async def consent_set(*, engine: Engine[Any], principal: Principal, allowed: bool) -> Member:
    """Let (or stop letting) a coordinator of one's community act for one; dated, audited."""
    if principal.acting_by_id is not None:
        raise forbidden(N_("Only the member can change this."))  # never reached: /me is not actable
    now = clock.utc_now()

    async def write(_transaction: WriteTransaction) -> None:
        before = (
            await Member.select(Member.coordinator_may_act_at)
            .where(Member.id == principal.member_id)
            .first()
            .run()
        )
        was_allowed = before is not None and before["coordinator_may_act_at"] is not None
        if was_allowed == allowed:
            return  # a repeat keeps the first date
        principals_changed()  # the version moves once this commits (ADR 0043)
        await (
            Member.update({Member.coordinator_may_act_at: now if allowed else None})
            .where(Member.id == principal.member_id)
            .run()
        )
        await audit_member_change(
            principal,
            action="member.consent_coordinator_may_act",
            member_id=principal.member_id,
            community_id=principal.community_id,
            before={"coordinator_may_act": was_allowed},
            after={"coordinator_may_act": allowed, "at": now.isoformat()},
        )

    await run_write(engine, write)
    found = await Member.objects().where(Member.id == principal.member_id).first().run()
    if found is None:
        raise not_found("That member")
    return found


# Acting for a member -------------------------------------------------------------------


def may_act_for(caller: Principal, member: Member) -> bool:
    """The whole rule (ADR 0031): a coordinator of the member's own community (admins
    too only where they coordinate), for an active member other than themselves, who
    has no login or has said yes; never from inside another acting request."""
    return (
        caller.acting_by_id is None
        and caller.coordinates(member.community)
        and member.id != caller.member_id
        and member.status == ACTABLE_STATUS
        and (not has_login(member) or member.coordinator_may_act_at is not None)
    )


async def acting_principal(caller: Principal, member_id: uuid.UUID) -> Principal | None:
    """The member's principal run by `caller`, or None (unknown and refused look the same)."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None or not may_act_for(caller, member):
        return None
    return Principal(
        member_id=member.id,
        display_name=member.display_name,
        community_id=member.community,
        status=member.status,
        grants=(),  # the member's own roles never come with acting for them
        via=caller.via,
        credential_id=caller.credential_id,
        hour_account_id=member.hour_account_id,
        acting_by_id=caller.member_id,
        acting_by_name=caller.display_name,
    )


def recorded_by_words(acting: Principal) -> str:
    return f"recorded by {acting.acting_by_name} for {acting.display_name}"


ACTING_STARTED_ACTION = "acting.request.started"
ACTING_DONE_ACTION = "acting.request"


async def acting_record(acting: Principal, *, method: str, path: str, status: int | None) -> None:
    """One audit line for a request changing something for the member, naming both.

    Written twice (the log is append-only): `acting.request.started` before the
    handler runs, so that a crash after the change commits still leaves a line naming
    the coordinator; `acting.request` with the status once the change is acknowledged.
    Both carry the request id, so a started line without its answer is easy to find.
    """
    await audit_record(
        actor_id=acting.acting_by_id,
        actor_label=f"{acting.acting_by_name} for {acting.display_name}",
        action=ACTING_STARTED_ACTION if status is None else ACTING_DONE_ACTION,
        target_type="member",
        target_id=str(acting.member_id),
        community_id=acting.community_id,
        reason=recorded_by_words(acting),
        after={
            "method": method,
            "path": path,
            "status": status,
            "coordinator_id": str(acting.acting_by_id),
            "coordinator_name": acting.acting_by_name,
            "member_id": str(acting.member_id),
            "member_name": acting.display_name,
        },
    )


async def acting_start(*, engine: Engine[Any], viewer: Principal, member_id: uuid.UUID) -> Member:
    """Put the viewer's browser in acting mode for the member; 403 if they may not."""
    acting = await acting_principal(viewer, member_id)
    if acting is None or viewer.via != "session":
        raise cannot_act()

    async def write(_transaction: WriteTransaction) -> None:
        principals_changed()  # the version moves once this commits (ADR 0043)
        await (
            WebSession.update({WebSession.acting_for: member_id})
            .where(WebSession.id == viewer.credential_id)
            .run()
        )
        await _audit_mode(acting, "acting.start")

    await run_write(engine, write)
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise cannot_act()
    return member


async def acting_stop(*, engine: Engine[Any], viewer: Principal) -> uuid.UUID | None:
    """Leave acting mode; returns whom the browser was acting for (None if nobody)."""
    member_id = viewer.acting_for_id  # the stop route runs as the coordinator, never acting
    if member_id is None or viewer.via != "session":
        return None

    async def write(_transaction: WriteTransaction) -> None:
        principals_changed()  # the version moves once this commits (ADR 0043)
        await (
            WebSession.update({WebSession.acting_for: None})
            .where(WebSession.id == viewer.credential_id)
            .run()
        )
        await audit_record(
            actor_id=viewer.member_id,
            actor_label=f"{viewer.display_name} for {viewer.acting_for_name}",
            action="acting.stop",
            target_type="member",
            target_id=str(member_id),
            reason=f"{viewer.display_name} stopped acting for {viewer.acting_for_name}",
        )

    await run_write(engine, write)
    return member_id


async def _audit_mode(acting: Principal, action: str) -> None:
    await audit_record(
        actor_id=acting.acting_by_id,
        actor_label=f"{acting.acting_by_name} for {acting.display_name}",
        action=action,
        target_type="member",
        target_id=str(acting.member_id),
        community_id=acting.community_id,
        reason=f"{acting.acting_by_name} acts for {acting.display_name}",
    )


async def member_for_acting_page(*, actor: Principal, member_id: uuid.UUID) -> Member:
    """A member of a community `actor` coordinates (404 for anyone else)."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None or not (actor.is_admin or actor.coordinates(member.community)):
        raise not_found("That member")
    return member

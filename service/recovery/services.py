"""Account recovery: the rules, as service functions.

A reset token is a random secret shown once (in a mailed link, or read out by a
coordinator as a code) and stored only as its SHA-256. It works once, until it
expires: confirming it sets the new password, ends every session and API token
of the member, and uses up every other reset token they had, in one transaction.

    issued --confirm (before expires_at)--> used
    issued --expires_at passes-----------> dead (refused as reset_token_invalid)

An email change waits for the owner of the new address to follow the link sent
there; the old address is told at once, so a stolen session cannot quietly
take the account.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns import Column
from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.clock import utc_now
from service.errors import Conflict, DomainError, Unreadable, invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import _, current_language
from service.mail.outbox import mail_queue
from service.members import passwords
from service.members.audit import audit_member_change, audit_record
from service.members.callers import token_digest
from service.members.mailing import mail_member
from service.members.offline import has_login
from service.members.services import normalise_email
from service.members.tables import ApiToken, Community, Member, WebSession
from service.principal import Principal, not_found, require_coordinator_of
from service.recovery.limits import (
    EMAIL_CHANGE_SECONDS,
    INVITATION_LINK_SECONDS,
    RESET_CODE_ALPHABET,
    RESET_CODE_GROUP_CHARS,
    RESET_CODE_GROUPS,
    RESET_CODE_SECONDS,
    RESET_LINK_SECONDS,
)
from service.recovery.tables import EmailChange, ResetToken

LINK_TOKEN_PREFIX = "pr_"  # noqa: S105 - a prefix, not a secret
EMAIL_TOKEN_PREFIX = "ec_"  # noqa: S105 - a prefix, not a secret
LINK_TOKEN_BYTES = 32
UNUSABLE_STATUSES = ("closed", "suspended")


def reset_token_invalid() -> DomainError:
    return Unreadable(
        code="reset_token_invalid",
        detail=_(
            "This link or code has expired or has already been used. Please ask for a new one."
        ),
    )


def _token_key(token: str) -> str:
    """The stored digest of a link token, or of a code however it was typed."""
    token = token.strip()
    if token.startswith((LINK_TOKEN_PREFIX, EMAIL_TOKEN_PREFIX)):
        return token_digest(token)
    code = "".join(char for char in token.upper() if char.isalnum())
    return token_digest(f"code:{code}")


def _new_code() -> str:
    groups = (
        "".join(secrets.choice(RESET_CODE_ALPHABET) for _unused in range(RESET_CODE_GROUP_CHARS))
        for _unused in range(RESET_CODE_GROUPS)
    )
    return "-".join(groups)


# Asking for a reset link -----------------------------------------------------------


async def password_reset_request(*, engine: Engine[Any], email: str) -> None:
    """Mail a reset link if `email` belongs to a usable account; otherwise do nothing.

    The caller answers the same either way (and pads the time: see the controller).
    """
    member = (
        await Member.select(Member.id, Member.status)
        .where(Member.email == normalise_email(email))
        .first()
        .run()
    )
    if member is None or member["status"] in UNUSABLE_STATUSES:
        return
    token = f"{LINK_TOKEN_PREFIX}{secrets.token_urlsafe(LINK_TOKEN_BYTES)}"

    async def work(transaction: WriteTransaction) -> None:
        await _insert_reset_token(
            member_id=member["id"], key=_token_key(token), kind="link", seconds=RESET_LINK_SECONDS
        )
        await mail_member(
            transaction,
            member_id=member["id"],
            kind="password_reset",
            context={"token": token},
            account_mail=True,
        )

    await run_write(engine, work)


async def _insert_reset_token(
    *, member_id: uuid.UUID, key: str, kind: str, seconds: int, issued_by: uuid.UUID | None = None
) -> datetime:
    now = utc_now()
    expires_at = now + timedelta(seconds=seconds)
    await ResetToken.insert(
        ResetToken(
            id=uuid.uuid4(),
            member=member_id,
            token_hash=key,
            kind=kind,
            issued_by=issued_by,
            created_at=now,
            expires_at=expires_at,
        )
    ).run()
    return expires_at


# Using a link or a code --------------------------------------------------------------


async def _token_spent(
    table: type[ResetToken | EmailChange], key: str, now: datetime, *columns: Column
) -> dict[str, Any]:
    """Mark an unused, unexpired token used (one conditional UPDATE, so two tries at once
    cannot both win) and return its `columns`; an unknown, used or expired one is refused."""
    used = (
        await table.update({table.used_at: now})
        .where((table.token_hash == key) & table.used_at.is_null() & (table.expires_at > now))
        .returning(*columns)
        .run()
    )
    if not used:
        raise reset_token_invalid()
    row: dict[str, Any] = used[0]
    return row


async def password_reset_confirm(*, engine: Engine[Any], token: str, password: str) -> uuid.UUID:
    """Set the new password; end every session and token of the member. Returns the member."""
    password_hash = await passwords.hash_password(password)
    key = _token_key(token)

    async def work(transaction: WriteTransaction) -> uuid.UUID:
        now = utc_now()
        used = await _token_spent(ResetToken, key, now, ResetToken.member, ResetToken.kind)
        member_id: uuid.UUID = used["member"]
        status = await Member.select(Member.status).where(Member.id == member_id).first().run()
        if status is None or status["status"] in UNUSABLE_STATUSES:
            raise reset_token_invalid()
        # Every other way in that was handed out before goes too.
        await (
            ResetToken.update({ResetToken.used_at: now})
            .where((ResetToken.member == member_id) & ResetToken.used_at.is_null())
            .run()
        )
        await _set_password(member_id, password_hash, now=now, keep_credential=None)
        await audit_record(
            actor_id=member_id,
            actor_label="the member",
            action="member.password_reset",
            target_type="member",
            target_id=str(member_id),
            reason=f"by a {used['kind']}",
        )
        await mail_member(
            transaction,
            member_id=member_id,
            kind="password_changed",
            context={},
            account_mail=True,
        )
        return member_id

    return await run_write(engine, work)


async def _set_password(
    member_id: uuid.UUID, password_hash: str, *, now: datetime, keep_credential: uuid.UUID | None
) -> None:
    """New hash; every session and API token of the member ends, except `keep_credential`."""
    principals_changed()  # the version moves once this commits (ADR 0043)
    await Member.update({Member.password_hash: password_hash}).where(Member.id == member_id).run()
    sessions = (WebSession.member == member_id) & WebSession.ended_at.is_null()
    tokens = (ApiToken.member == member_id) & ApiToken.revoked_at.is_null()
    if keep_credential is not None:
        sessions &= WebSession.id != keep_credential
        tokens &= ApiToken.id != keep_credential
    await WebSession.update({WebSession.ended_at: now}).where(sessions).run()
    await ApiToken.update({ApiToken.revoked_at: now}).where(tokens).run()


# A signed-in member's own password and email -------------------------------------------


async def _check_password(member_id: uuid.UUID, password: str, *, field: str) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found(_("That member"))
    if not await passwords.verify_password(member.password_hash, password):
        raise invalid_field(field, _("is not your current password"))
    return member


async def password_change(
    *, engine: Engine[Any], principal: Principal, current_password: str, new_password: str
) -> None:
    """Change one's password; every other session and token ends (this one stays)."""
    await _check_password(principal.member_id, current_password, field="current_password")
    password_hash = await passwords.hash_password(new_password)

    async def work(transaction: WriteTransaction) -> None:
        await _set_password(
            principal.member_id,
            password_hash,
            now=utc_now(),
            keep_credential=principal.credential_id,
        )
        await mail_member(
            transaction,
            member_id=principal.member_id,
            kind="password_changed",
            context={},
            account_mail=True,
        )

    await run_write(engine, work)


def email_hint(email: str) -> str:
    """Enough of an address to recognise it, not enough to harvest it: "n***@example.org"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def email_change_request(
    *, engine: Engine[Any], principal: Principal, password: str, new_email: str
) -> None:
    """Send a confirmation link to the new address, and a notice to the old one."""
    member = await _check_password(principal.member_id, password, field="password")
    new_email = normalise_email(new_email)
    if new_email == member.email:
        raise invalid_field("new_email", _("is already your email address"))
    token = f"{EMAIL_TOKEN_PREFIX}{secrets.token_urlsafe(LINK_TOKEN_BYTES)}"
    community = (
        await Community.select(Community.name).where(Community.id == member.community).first().run()
    )

    async def work(transaction: WriteTransaction) -> None:
        now = utc_now()
        await EmailChange.insert(
            EmailChange(
                id=uuid.uuid4(),
                member=member.id,
                new_email=new_email,
                token_hash=_token_key(token),
                created_at=now,
                expires_at=now + timedelta(seconds=EMAIL_CHANGE_SECONDS),
            )
        ).run()
        await mail_queue(
            transaction,
            kind="email_change_confirm",
            to_address=new_email,
            context={
                "token": token,
                "display_name": member.display_name,
                "community_name": community["name"] if community else "",
                # Sent to an address, not through mail_member: in the language they use now.
                "language": current_language(),
            },
            member_id=member.id,
            sensitive=True,
        )
        await mail_member(
            transaction,
            member_id=member.id,
            kind="email_change_notice",
            context={"new_email_hint": email_hint(new_email)},
            account_mail=True,
        )

    await run_write(engine, work)


async def email_change_confirm(*, engine: Engine[Any], token: str) -> uuid.UUID:
    key = _token_key(token)

    async def work(_transaction: WriteTransaction) -> uuid.UUID:
        now = utc_now()
        used = await _token_spent(EmailChange, key, now, EmailChange.member, EmailChange.new_email)
        member_id: uuid.UUID = used["member"]
        new_email: str = used["new_email"]
        if (
            await Member.exists()
            .where((Member.email == new_email) & (Member.id != member_id))
            .run()
        ):
            raise Conflict(
                code="email_taken",
                detail=_("Another account uses this email address now."),
            )
        before = await Member.select(Member.email).where(Member.id == member_id).first().run()
        await (
            Member.update({Member.email: new_email})
            .where((Member.id == member_id) & Member.email.is_not_null())
            .run()
        )
        await audit_record(
            actor_id=member_id,
            actor_label="the member",
            action="member.email_changed",
            target_type="member",
            target_id=str(member_id),
            before={"email": before["email"] if before else None},
            after={"email": new_email},
        )
        return member_id

    return await run_write(engine, work)


# A coordinator's code ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    expires_at: datetime


async def member_for_coordinator(*, actor: Principal, member_id: uuid.UUID) -> Member:
    """A usable member of a community `actor` coordinates; 404 for anyone else."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found(_("That member"))
    require_coordinator_of(actor, member.community)
    if member.status in UNUSABLE_STATUSES:
        raise not_found(_("That member"))
    return member


async def reset_code_issue(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID
) -> IssuedCode:
    """A one-time code (24 hours) for a member of the coordinator's own community."""
    member = await member_for_coordinator(actor=actor, member_id=member_id)
    if not member.email:
        # A login is an email and a password (ADR 0030): a password alone opens nothing.
        raise Conflict(
            code="email_needed",
            detail=_(
                "This member has no email address to sign in with. "
                "Send them an invitation to an address instead."
            ),
        )
    code = _new_code()

    async def work(_transaction: WriteTransaction) -> datetime:
        expires_at = await _insert_reset_token(
            member_id=member_id,
            key=_token_key(code),
            kind="code",
            seconds=RESET_CODE_SECONDS,
            issued_by=actor.member_id,
        )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.display_name,
            action="member.reset_code_issued",
            target_type="member",
            target_id=str(member_id),
            community_id=member.community,
        )
        return expires_at

    return IssuedCode(code=code, expires_at=await run_write(engine, work))


# An invitation: a login for a member a coordinator added ------------------------------


async def member_invite(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, email: str | None
) -> datetime:
    """Mail a member without a login a link to choose a password (ADR 0030).

    The address given becomes theirs (it is how they will sign in); without one, the
    address they already have is used. Returns when the link stops working.
    """
    member = await member_for_coordinator(actor=actor, member_id=member_id)
    if has_login(member):
        raise Conflict(
            code="has_login",
            detail=_(
                "This member can sign in already. Give them a password code if they forgot it."
            ),
        )
    address = normalise_email(email) if email else member.email
    if not address:
        raise invalid_field("email", _("is needed: this member has no email address yet"))
    token = f"{LINK_TOKEN_PREFIX}{secrets.token_urlsafe(LINK_TOKEN_BYTES)}"

    async def work(transaction: WriteTransaction) -> datetime:
        taken = (
            await Member.exists().where((Member.email == address) & (Member.id != member_id)).run()
        )
        if taken:
            raise Conflict(
                code="email_taken",
                detail=_("Another account uses this email address."),
                extra={"errors": [{"field": "email", "message": "is used by another account"}]},
            )
        await Member.update({Member.email: address}).where(Member.id == member_id).run()
        expires_at = await _insert_reset_token(
            member_id=member_id,
            key=_token_key(token),
            kind="link",
            seconds=INVITATION_LINK_SECONDS,
        )
        await audit_member_change(
            actor,
            action="member.invited",
            member_id=member_id,
            community_id=member.community,
            reason=f"invited by {actor.display_name}",
            before={"email": member.email},
            after={"email": address},
        )
        await mail_member(
            transaction,
            member_id=member_id,
            kind="invitation",
            context={"token": token, "inviter": actor.display_name},
            account_mail=True,
        )
        return expires_at

    return await run_write(engine, work)

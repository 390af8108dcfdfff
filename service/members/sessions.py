"""Signing in, sessions and API tokens: checking a password, issuing and ending
credentials, and finding the caller behind one."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from service import clock
from service.errors import Forbidden, NotSignedIn
from service.http.principal_cache import principals_changed
from service.i18n import _
from service.limits import (
    API_TOKEN_LIFETIME_SECONDS,
    SESSION_ABSOLUTE_SECONDS,
    SESSION_IDLE_SECONDS,
    SESSION_TOUCH_INTERVAL_SECONDS,
    TOKEN_BYTES,
)
from service.members import callers, passwords
from service.members.callers import token_digest
from service.members.services import normalise_email
from service.members.tables import ApiToken, Member, WebSession
from service.principal import Principal


def _new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


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
            detail=_("That email and password do not match an account."),
        )
    if member.status == "suspended":
        raise Forbidden(
            code="account_suspended",
            detail=_("This account is suspended. Please contact your coordinator."),
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
    principals_changed()
    await (
        WebSession.update({WebSession.ended_at: clock.utc_now()})
        .where((WebSession.token_hash == token_digest(token)) & WebSession.ended_at.is_null())
        .run()
    )


async def token_revoke(*, principal: Principal) -> None:
    principals_changed()
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


async def resolve_token(*, token: str) -> callers.Resolved | None:
    """The caller behind a bearer token, in one query (service/members/callers.py)."""
    return await callers.resolve_token(token, now=clock.utc_now())


async def resolve_session(*, token: str) -> callers.Resolved | None:
    """The caller behind a session cookie, in one query; touches the session now and then."""
    return await callers.resolve_session(
        token,
        now=clock.utc_now(),
        idle_seconds=SESSION_IDLE_SECONDS,
        touch_interval_seconds=SESSION_TOUCH_INTERVAL_SECONDS,
    )


async def principal_from_token(*, token: str) -> Principal | None:
    """The caller behind a bearer token, straight from the database (no cache)."""
    resolved = await resolve_token(token=token)
    return None if resolved is None else resolved.principal

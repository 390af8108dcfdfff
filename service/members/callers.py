"""Who is calling, in one indexed query: the credential, the member and their live grants.

Every authenticated request starts here, so it is kept to a single round
trip: the token's unique hash index finds the credential, the member comes
by primary key, and live role grants through the partial index
`member_role_grant_live` (member first, revoked_at IS NULL). A member with
several grants yields one row per grant; none yields one row of NULLs.
Revocation, suspension and role changes take effect on the very next
request: with REDIS_URL set the resolver keeps what this returns for a few
seconds, invalidated at once by those writes (service/members/principals.py,
ADR 0043); the credential's own end (`valid_until`) bounds an entry too.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from service import database
from service.members.tables import WebSession
from service.principal import Grant, Principal

# Members who may not act at all; anyone else is resolved (pending members
# may sign in and read, and `require_active` stops them moving hours).
LOCKED_OUT_STATUSES = frozenset({"suspended", "closed"})

_BEARER_CALLER_SQL = """
SELECT t.id AS credential_id, t.expires_at, m.id AS member_id, m.display_name, m.community,
       m.status, m.hour_account_id, m.language,
       g.role AS grant_role, g.community AS grant_community, g.area AS grant_area
FROM member_api_token t
JOIN member_member m ON m.id = t.member
LEFT JOIN member_role_grant g ON g.member = m.id AND g.revoked_at IS NULL
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
"""


_SESSION_CALLER_SQL = """
SELECT s.id AS credential_id, s.expires_at, s.last_seen_at, m.id AS member_id, m.display_name,
       m.community, m.status, m.hour_account_id, m.language,
       g.role AS grant_role, g.community AS grant_community, g.area AS grant_area,
       s.acting_for, a.display_name AS acting_for_name
FROM member_session s
JOIN member_member m ON m.id = s.member
LEFT JOIN member_role_grant g ON g.member = m.id AND g.revoked_at IS NULL
LEFT JOIN member_member a ON a.id = s.acting_for
WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3
"""


def token_digest(token: str) -> str:
    """Tokens are stored as SHA-256 digests: a database leak reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Resolved:
    """A caller and the instant their credential stops being good on its own (expiry, idle)."""

    principal: Principal
    valid_until: datetime


async def principal_for_token(token: str, *, now: datetime | None = None) -> Principal | None:
    """The caller behind a live bearer token, or None (unknown, expired, revoked, locked out)."""
    resolved = await resolve_token(token, now=now or datetime.now(UTC))
    return None if resolved is None else resolved.principal


async def resolve_token(token: str, *, now: datetime) -> Resolved | None:
    rows = await _caller_rows(_BEARER_CALLER_SQL, token_digest(token), now)
    principal = principal_from_rows(rows, via="token")
    if principal is None:
        return None
    return Resolved(principal, _aware(rows[0]["expires_at"]))


async def principal_for_session(
    token: str, *, now: datetime, idle_seconds: int, touch_interval_seconds: int
) -> Principal | None:
    """The caller behind a live session cookie; its last-seen time is moved on now and then."""
    resolved = await resolve_session(
        token, now=now, idle_seconds=idle_seconds, touch_interval_seconds=touch_interval_seconds
    )
    return None if resolved is None else resolved.principal


async def resolve_session(
    token: str, *, now: datetime, idle_seconds: int, touch_interval_seconds: int
) -> Resolved | None:
    rows = await _caller_rows(
        _SESSION_CALLER_SQL, token_digest(token), now, now - timedelta(seconds=idle_seconds)
    )
    principal = principal_from_rows(rows, via="session")
    if principal is None:
        return None
    last_seen = _aware(rows[0]["last_seen_at"])
    if now - last_seen > timedelta(seconds=touch_interval_seconds):
        await WebSession.update({WebSession.last_seen_at: now}).where(
            WebSession.id == principal.credential_id
        )
        last_seen = now
    # A cached session is dropped when it would fall idle, as the query would drop it.
    idle_end = last_seen + timedelta(seconds=idle_seconds)
    return Resolved(principal, min(_aware(rows[0]["expires_at"]), idle_end))


async def _caller_rows(sql: str, *args: Any) -> list[Mapping[str, Any]]:
    # A point read with no ORM query building: on SQLite a Piccolo raw query outside
    # a transaction opens a new connection each time (issue 17), and a kept aiosqlite
    # reader costs three thread hand-offs (ADR 0053).
    async with database.point_read() as connection:
        return list(await connection.fetch(sql, *args))


def principal_from_rows(
    rows: Sequence[Mapping[str, Any]], *, via: Literal["session", "token"]
) -> Principal | None:
    """One Principal from the caller rows above (one per live grant)."""
    if not rows:
        return None
    first = rows[0]
    if first["status"] in LOCKED_OUT_STATUSES:
        return None
    grants = tuple(
        Grant(
            row["grant_role"],
            _uuid_or_none(row["grant_community"]),
            _uuid_or_none(row["grant_area"]),
        )
        for row in rows
        if row["grant_role"] is not None
    )
    return Principal(
        member_id=_uuid(first["member_id"]),
        display_name=first["display_name"],
        community_id=_uuid(first["community"]),
        status=first["status"],
        grants=grants,
        via=via,
        credential_id=_uuid(first["credential_id"]),
        hour_account_id=_uuid(first["hour_account_id"]),
        # Only sessions carry an acting mode (ADR 0031); tokens name the member per request.
        acting_for_id=_uuid_or_none(first.get("acting_for")),
        acting_for_name=first.get("acting_for_name") or "",
        language=first.get("language"),
    )


def _aware(value: Any) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _uuid(value: Any) -> uuid.UUID:
    # asyncpg gives its own UUID subclass, SQLite (through Piccolo's converters) uuid.UUID.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return None if value is None else _uuid(value)

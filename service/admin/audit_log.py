"""The audit log, read by admins: filters, keyset pages newest first, the choices
the filter offers, and the before/after documents as dicts.

Reads only, so nothing here is itself audited. Every function checks that the
caller is an admin before it reads anything.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from piccolo.custom_types import Combinable

from service.errors import unreadable_field
from service.http.cursors import cursor_invalid, decode_cursor, encode_cursor
from service.limits import ADMIN_RECENT_AUDIT_MAX, AUDIT_ACTIONS_LISTED_MAX, PAGE_SIZE_MAX
from service.members.tables import AuditEntry, Member
from service.principal import Principal, require_admin


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor_id: uuid.UUID | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    from_at: datetime | None = None  # inclusive
    to_at: datetime | None = None  # inclusive


def audit_bound(
    value: str | None, *, field: str, end: bool, source: str = "query"
) -> datetime | None:
    """A date (the whole day) or an RFC 3339 time with an offset, as a UTC instant.

    `end` makes a date mean the last instant of that day, so from=to=one day
    finds that day's entries.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        start = datetime.combine(day, time(0, 0), tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if end else start
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise unreadable_field(
            field,
            "give a date like 2026-05-14, or a time with its offset like 2026-05-14T09:30:00Z",
            source=source,
        )
    return instant.astimezone(UTC)


def _audit_where(filters: AuditFilters) -> Combinable:
    where: Combinable = AuditEntry.id.is_not_null()
    if filters.actor_id is not None:
        where &= AuditEntry.actor_id == filters.actor_id
    if filters.action:
        where &= AuditEntry.action == filters.action
    if filters.target_type:
        where &= AuditEntry.target_type == filters.target_type
    if filters.target_id:
        where &= AuditEntry.target_id == filters.target_id
    if filters.from_at is not None:
        where &= AuditEntry.at >= filters.from_at
    if filters.to_at is not None:
        where &= AuditEntry.at <= filters.to_at
    return where


async def audit_search(
    *, actor: Principal, filters: AuditFilters, limit: int, cursor: str | None = None
) -> tuple[list[AuditEntry], str | None]:
    """Audit entries matching `filters`, newest first, one page."""
    require_admin(actor)
    assert 1 <= limit <= PAGE_SIZE_MAX  # noqa: S101 - the caller bounds it
    where = _audit_where(filters)
    if cursor is not None:
        at_text, last_id = decode_cursor(cursor, 2)
        try:
            at = datetime.fromisoformat(at_text)
            entry_id = uuid.UUID(last_id)
        except ValueError:
            raise cursor_invalid() from None
        if at.tzinfo is None:
            raise cursor_invalid()
        at = at.astimezone(UTC)
        where &= (AuditEntry.at < at) | ((AuditEntry.at == at) & (AuditEntry.id < entry_id))
    rows = (
        await AuditEntry.objects()
        .where(where)
        .order_by(AuditEntry.at, AuditEntry.id, ascending=False)
        .limit(limit + 1)
        .run()
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last.at.astimezone(UTC).isoformat(), str(last.id))
    return page, next_cursor


async def audit_about_member(
    *, actor: Principal, member: Member, limit: int = ADMIN_RECENT_AUDIT_MAX
) -> list[AuditEntry]:
    """The latest audit entries about a member or their hours account."""
    require_admin(actor)
    about = ((AuditEntry.target_type == "member") & (AuditEntry.target_id == str(member.id))) | (
        (AuditEntry.target_type == "account")
        & (AuditEntry.target_id == str(member.hour_account_id))
    )
    entries: list[AuditEntry] = (
        await AuditEntry.objects()
        .where(about)
        .order_by(AuditEntry.at, AuditEntry.id, ascending=False)
        .limit(limit)
        .run()
    )
    return entries


async def audit_choices(*, actor: Principal) -> tuple[list[str], list[str]]:
    """The actions and target types found in the log, for the filter's choices."""
    require_admin(actor)
    actions = (
        await AuditEntry.select(AuditEntry.action)
        .distinct()
        .order_by(AuditEntry.action)
        .limit(AUDIT_ACTIONS_LISTED_MAX)
        .run()
    )
    targets = (
        await AuditEntry.select(AuditEntry.target_type)
        .distinct()
        .order_by(AuditEntry.target_type)
        .limit(AUDIT_ACTIONS_LISTED_MAX)
        .run()
    )
    return [row["action"] for row in actions], [row["target_type"] for row in targets]


def audit_json(text: str) -> dict[str, Any]:
    """A stored before/after document as a dict (always written by audit_record)."""
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {"value": value}

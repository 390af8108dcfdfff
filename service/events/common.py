"""What every events module needs: a meeting's row, who may see it and who may run it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from service.errors import Conflict
from service.events.tables import EventHostPermit, EventOccurrence, EventRsvp
from service.i18n import _
from service.principal import Principal, forbidden, not_found


def aware(value: Any) -> datetime:
    """SQLite answers naive or text instants; everything here is UTC."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


def event_not_found() -> Exception:
    return not_found(_("That event"))


def sees_community(principal: Principal, community_id: uuid.UUID) -> bool:
    """Members see their own community's events; coordinators theirs; admins every one."""
    return (
        principal.is_admin
        or principal.community_id == community_id
        or principal.coordinates(community_id)
    )


async def occurrence_row(occurrence_id: uuid.UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await EventOccurrence.select(
            *EventOccurrence.all_columns(),
            EventOccurrence.series.title.as_alias("title"),
            EventOccurrence.series.capacity.as_alias("capacity"),
            EventOccurrence.series.host_minutes.as_alias("host_minutes"),
        )
        .where(EventOccurrence.id == occurrence_id)
        .first()
        .run()
    )
    return row


async def visible_occurrence(principal: Principal, occurrence_id: uuid.UUID) -> dict[str, Any]:
    """The meeting, or the same 404 whether it does not exist or is another community's."""
    row = await occurrence_row(occurrence_id)
    if row is None or not sees_community(principal, row["community"]):
        raise event_not_found()
    return row


async def event_visible(principal: Principal, occurrence_id: uuid.UUID) -> None:
    """The object check of routes on one event (ADR 0025)."""
    await visible_occurrence(principal, occurrence_id)


def require_event_coordinator(principal: Principal, community_id: uuid.UUID) -> None:
    """The register, cancelling and moving a meeting are the coordinators' (admins too)."""
    if not (principal.is_admin or principal.coordinates(community_id)):
        raise forbidden(_("Only a coordinator of this community can do that."))


async def may_host(principal: Principal, community_id: uuid.UUID) -> bool:
    """A coordinator of the community, an admin, or a member of it let host."""
    if principal.is_admin or principal.coordinates(community_id):
        return True
    if principal.community_id != community_id or principal.status != "active":
        return False
    return bool(
        await EventHostPermit.exists().where(EventHostPermit.member == principal.member_id).run()
    )


def refuse_if_not_open(row: dict[str, Any], now: datetime) -> None:
    if row["cancelled_at"] is not None:
        raise Conflict(code="event_cancelled", detail=_("That meeting has been cancelled."))
    if aware(row["starts_at"]) <= now:
        raise Conflict(code="event_started", detail=_("That meeting has already started."))


async def lock_occurrence(occurrence_id: uuid.UUID) -> None:
    """Serialise writes on one meeting: an UPDATE that changes nothing still takes the
    row's lock on PostgreSQL (SQLite has one writer anyway), so two members taking the
    last place, or two registers, queue instead of both reading a free place."""
    await EventOccurrence.raw(
        "UPDATE event_occurrence SET place = place WHERE id = {}", occurrence_id
    ).run()


def going_only() -> Any:
    """RSVPs holding a place (not on the waiting list)."""
    return EventRsvp.waiting == False  # noqa: E712 - Piccolo builds SQL from ==


def waiting_only() -> Any:
    return EventRsvp.waiting == True  # noqa: E712 - Piccolo builds SQL from ==

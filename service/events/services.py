"""Events (issue 19, ADR 0041): a coordinator, or a member they let host, makes a series
of meetings; coordinators move or cancel one meeting and say who may host.

A series is stored with every meeting made up front (at most
EVENT_SERIES_OCCURRENCES_MAX): each meeting is a row members go to, so moving or
cancelling one never touches the others. Repeats keep the first meeting's UTC time.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns import Column
from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service import clock
from service.errors import Conflict, invalid_field
from service.events.common import (
    aware,
    lock_occurrence,
    may_host,
    refuse_if_not_open,
    require_event_coordinator,
    visible_occurrence,
)
from service.events.schemas import EventIn, MayHostIn, MayHostOut, OccurrenceChangeIn
from service.events.tables import (
    EventHost,
    EventHostPermit,
    EventOccurrence,
    EventRsvp,
    EventSeries,
)
from service.formatting import moment_words
from service.i18n import _
from service.limits import (
    EVENT_AHEAD_DAYS_MAX,
    EVENT_LENGTH_MINUTES_MAX,
    EVENT_SERIES_OCCURRENCES_DEFAULT,
)
from service.listings.tables import Category
from service.members.audit import audit_record
from service.members.mailing import mail_member
from service.members.services import open_member_in_scope
from service.members.tables import Community, Member
from service.principal import Principal, forbidden, require_active

REPEAT_DAYS = {"weekly": 7, "fortnightly": 14}


def _add_months(instant: datetime, months: int) -> datetime:
    """The same day of a later month, or that month's last day (31 January -> 28 February)."""
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def meeting_starts(first: datetime, repeat: str, count: int) -> list[datetime]:
    """When each meeting of a series starts: at the first one's time on the time bank's
    clock, whatever the clocks do in between (a Tuesday club at 2 pm stays at 2 pm when
    summer time begins; ADR 0064)."""
    wall = clock.local(first).replace(tzinfo=None)
    if repeat == "monthly":
        walls = [_add_months(wall, step) for step in range(1, count)]
    else:
        days = REPEAT_DAYS.get(repeat, 0)
        walls = [wall + timedelta(days=days * step) for step in range(1, count)]
    return [first, *(clock.instant_at(later.date(), later.time()) for later in walls)]


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise invalid_field("ends_at", _("must be after the start"))
    if ends_at - starts_at > timedelta(minutes=EVENT_LENGTH_MINUTES_MAX):
        raise invalid_field("ends_at", _("an event lasts a day at most"))
    if starts_at <= now:
        raise invalid_field("starts_at", _("must be in the future"))
    if starts_at > now + timedelta(days=EVENT_AHEAD_DAYS_MAX):
        raise invalid_field(
            "starts_at", _("can be at most %(days)s days ahead") % {"days": EVENT_AHEAD_DAYS_MAX}
        )


def _occurrence_count(data: EventIn) -> int:
    if data.repeat == "none":
        if data.occurrences not in {None, 1}:
            raise invalid_field("occurrences", _("a one-off event has one meeting"))
        return 1
    return data.occurrences or EVENT_SERIES_OCCURRENCES_DEFAULT


async def _community_for(actor: Principal, slug: str) -> uuid.UUID:
    community = await Community.select(Community.id).where(Community.slug == slug).first().run()
    if community is None:
        raise invalid_field("community", _("no community has that name"))
    community_id: uuid.UUID = community["id"]
    if not await may_host(actor, community_id):
        raise forbidden(_("Only a coordinator, or a member they let host, can make events here."))
    return community_id


async def _check_hosts(community_id: uuid.UUID, host_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(host_ids))
    rows = (
        await Member.select(Member.id)
        .where(
            Member.id.is_in(unique)
            & (Member.community == community_id)
            & (Member.status == "active")
        )
        .run()
    )
    if len(rows) != len(unique):
        raise invalid_field("host_ids", _("every host must be an active member of the community"))
    return unique


async def _check_category(slug: str | None) -> None:
    if slug is None:
        return
    active = Category.active == True  # noqa: E712 - Piccolo builds SQL from ==
    if not await Category.exists().where((Category.slug == slug) & active).run():
        raise invalid_field("category", _("is not one of the listing categories"))


async def event_create(
    *, engine: Engine[Any], actor: Principal, data: EventIn, now: datetime | None = None
) -> uuid.UUID:
    """Make the series and its meetings; the first meeting's id (audited).

    `now` is the clock the demo runs a past year on; requests use the real one.
    """
    now = now or clock.utc_now()
    community_id = await _community_for(actor, data.community)
    require_active(actor)  # a coordinator's own account must be in good standing too
    starts_at, ends_at = data.starts_at.astimezone(now.tzinfo), data.ends_at.astimezone(now.tzinfo)
    _check_times(starts_at, ends_at, now)
    count = _occurrence_count(data)
    host_ids = await _check_hosts(community_id, data.host_ids)
    await _check_category(data.category)
    series_id = uuid.uuid4()
    length = ends_at - starts_at
    occurrences = [
        EventOccurrence(
            id=uuid.uuid4(),
            series=series_id,
            community=community_id,
            position=position,
            starts_at=start,
            ends_at=start + length,
            place=data.place,
        )
        for position, start in enumerate(meeting_starts(starts_at, data.repeat, count), start=1)
    ]

    async def work(_transaction: WriteTransaction) -> None:
        await EventSeries.insert(
            EventSeries(
                id=series_id,
                community=community_id,
                title=data.title,
                description=data.description,
                category=data.category,
                place=data.place,
                step_free=data.step_free,
                hearing_loop=data.hearing_loop,
                access_notes=data.access_notes,
                capacity=data.capacity,
                host_minutes=data.host_minutes,
                repeats=data.repeat,
                created_by=actor.member_id,
                created_at=now,
            )
        ).run()
        await EventHost.insert(
            *[EventHost(id=uuid.uuid4(), series=series_id, member=host) for host in host_ids]
        ).run()
        await EventOccurrence.insert(*occurrences).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="event.create",
            target_type="event",
            target_id=str(occurrences[0].id),
            community_id=community_id,
            after={
                "title": data.title,
                "repeat": data.repeat,
                "occurrences": count,
                "capacity": data.capacity,
                "host_minutes": data.host_minutes,
            },
        )

    await run_write(engine, work)
    return occurrences[0].id


async def occurrence_change(
    *, engine: Engine[Any], actor: Principal, occurrence_id: uuid.UUID, data: OccurrenceChangeIn
) -> None:
    """Move one meeting, or hold it elsewhere; the rest of the series stays (audited)."""
    row = await visible_occurrence(actor, occurrence_id)
    require_event_coordinator(actor, row["community"])
    now = clock.utc_now()
    refuse_if_not_open(row, now)
    old_starts, old_ends = aware(row["starts_at"]), aware(row["ends_at"])
    starts = data.starts_at if isinstance(data.starts_at, datetime) else old_starts
    ends = data.ends_at if isinstance(data.ends_at, datetime) else old_ends
    place = data.place if isinstance(data.place, str) else row["place"]
    _check_times(starts.astimezone(now.tzinfo), ends.astimezone(now.tzinfo), now)
    changes: dict[Column | str, Any] = {
        EventOccurrence.starts_at: starts.astimezone(now.tzinfo),
        EventOccurrence.ends_at: ends.astimezone(now.tzinfo),
        EventOccurrence.place: place,
    }

    async def work(_transaction: WriteTransaction) -> None:
        await EventOccurrence.update(changes).where(EventOccurrence.id == occurrence_id).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="event.change",
            target_type="event",
            target_id=str(occurrence_id),
            community_id=row["community"],
            before={"starts_at": old_starts.isoformat(), "place": row["place"]},
            after={"starts_at": starts.isoformat(), "place": place},
        )

    await run_write(engine, work)


async def occurrence_cancel(
    *, engine: Engine[Any], actor: Principal, occurrence_id: uuid.UUID
) -> None:
    """Cancel one meeting; everyone going or waiting is told (audited). Twice: 409."""
    row = await visible_occurrence(actor, occurrence_id)
    require_event_coordinator(actor, row["community"])
    now = clock.utc_now()
    refuse_if_not_open(row, now)

    async def work(transaction: WriteTransaction) -> None:
        await lock_occurrence(occurrence_id)
        cancelled = (
            await EventOccurrence.update({EventOccurrence.cancelled_at: now})
            .where((EventOccurrence.id == occurrence_id) & EventOccurrence.cancelled_at.is_null())
            .returning(EventOccurrence.id)
            .run()
        )
        if not cancelled:
            raise Conflict(code="event_cancelled", detail=_("That meeting has been cancelled."))
        told = (
            await EventRsvp.select(EventRsvp.member)
            .where(EventRsvp.occurrence == occurrence_id)
            .run()
        )
        context = {
            "event_id": str(occurrence_id),
            "event_title": row["title"],
            "starts_words": moment_words(aware(row["starts_at"])),
            "starts_at": aware(row["starts_at"]).isoformat(),
            "place": row["place"],
        }
        for rsvp in told:
            await mail_member(
                transaction, member_id=rsvp["member"], kind="event_cancelled", context=context
            )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="event.cancel",
            target_type="event",
            target_id=str(occurrence_id),
            community_id=row["community"],
            after={"told": len(told)},
        )

    await run_write(engine, work)


async def may_host_set(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, data: MayHostIn
) -> MayHostOut:
    """A coordinator lets a member of their community make events, or stops it (audited)."""
    community_id = await open_member_in_scope(actor, member_id)
    now = clock.utc_now()

    async def work(_transaction: WriteTransaction) -> None:
        had = await EventHostPermit.exists().where(EventHostPermit.member == member_id).run()
        if had == data.may_host:
            return  # already so: nothing written, nothing audited
        if data.may_host:
            await EventHostPermit.insert(
                EventHostPermit(
                    id=uuid.uuid4(), member=member_id, granted_by=actor.member_id, granted_at=now
                )
            ).run()
        else:
            await EventHostPermit.delete().where(EventHostPermit.member == member_id).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="event.may_host",
            target_type="member",
            target_id=str(member_id),
            community_id=community_id,
            before={"may_host": had},
            after={"may_host": data.may_host},
        )

    await run_write(engine, work)
    return MayHostOut(member_id=member_id, may_host=data.may_host)

"""Reads of events: upcoming meetings, one meeting as the caller sees it, a member's
events for their export, and the figures the reports read (`event_figures`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ledger.sql import Connection, as_uuid
from ledger.transactions import read_connection
from service import clock, database
from service.events.common import aware, going_only, may_host, visible_occurrence
from service.events.register import attendance_of, hosts_of
from service.events.schemas import EventOut, HostOut, MemberEventOut
from service.events.tables import (
    EventAttendance,
    EventHostPermit,
    EventOccurrence,
    EventRsvp,
)
from service.limits import EVENTS_LISTED_MAX
from service.members.tables import Community, Member
from service.principal import Principal


async def _rsvp_counts(occurrence_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, bool], int]:
    if not occurrence_ids:
        return {}
    rows = (
        await EventRsvp.select(EventRsvp.occurrence, EventRsvp.waiting)
        .where(EventRsvp.occurrence.is_in(occurrence_ids))
        .run()
    )
    counts: dict[tuple[uuid.UUID, bool], int] = {}
    for row in rows:
        key = (row["occurrence"], bool(row["waiting"]))
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _own_rsvps(member_id: uuid.UUID, occurrence_ids: list[uuid.UUID]) -> dict[Any, bool]:
    if not occurrence_ids:
        return {}
    rows = (
        await EventRsvp.select(EventRsvp.occurrence, EventRsvp.waiting)
        .where((EventRsvp.member == member_id) & EventRsvp.occurrence.is_in(occurrence_ids))
        .run()
    )
    return {row["occurrence"]: bool(row["waiting"]) for row in rows}


_COLUMNS = (
    EventOccurrence.id,
    EventOccurrence.series,
    EventOccurrence.position,
    EventOccurrence.starts_at,
    EventOccurrence.ends_at,
    EventOccurrence.place,
    EventOccurrence.cancelled_at,
    EventOccurrence.register_taken_at,
    EventOccurrence.community.slug.as_alias("community_slug"),
    EventOccurrence.community.name.as_alias("community_name"),
    EventOccurrence.series.title.as_alias("title"),
    EventOccurrence.series.description.as_alias("description"),
    EventOccurrence.series.category.as_alias("category"),
    EventOccurrence.series.step_free.as_alias("step_free"),
    EventOccurrence.series.hearing_loop.as_alias("hearing_loop"),
    EventOccurrence.series.access_notes.as_alias("access_notes"),
    EventOccurrence.series.capacity.as_alias("capacity"),
    EventOccurrence.series.host_minutes.as_alias("host_minutes"),
    EventOccurrence.series.repeats.as_alias("repeats"),
)


async def _series_sizes(series_ids: set[uuid.UUID]) -> dict[Any, int]:
    rows = (
        await EventOccurrence.select(EventOccurrence.series)
        .where(EventOccurrence.series.is_in(list(series_ids)))
        .run()
    )
    sizes: dict[Any, int] = {}
    for row in rows:
        sizes[row["series"]] = sizes.get(row["series"], 0) + 1
    return sizes


async def _views(actor: Principal, rows: list[dict[str, Any]]) -> list[EventOut]:
    ids = [row["id"] for row in rows]
    counts = await _rsvp_counts(ids)
    mine = await _own_rsvps(actor.member_id, ids)
    series_ids = {row["series"] for row in rows}
    hosts = {series_id: await hosts_of(series_id) for series_id in series_ids}
    sizes = await _series_sizes(series_ids) if series_ids else {}
    views = []
    for row in rows:
        going_count = counts.get((row["id"], False), 0)
        capacity = row["capacity"]
        series_hosts = hosts[row["series"]]
        views.append(
            EventOut(
                id=row["id"],
                series_id=row["series"],
                community=row["community_slug"],
                community_name=row["community_name"],
                title=row["title"],
                description=row["description"],
                category=row["category"],
                starts_at=aware(row["starts_at"]),
                ends_at=aware(row["ends_at"]),
                place=row["place"],
                step_free=bool(row["step_free"]),
                hearing_loop=bool(row["hearing_loop"]),
                access_notes=row["access_notes"],
                capacity=capacity,
                hosts=[
                    HostOut(member_id=host["member"], display_name=host["display_name"])
                    for host in series_hosts
                ],
                host_ids=[host["member"] for host in series_hosts],
                host_minutes=row["host_minutes"],
                repeat=row["repeats"],
                position=row["position"],
                occurrences=sizes.get(row["series"], 1),
                cancelled=row["cancelled_at"] is not None,
                attending_count=going_count,
                waiting_count=counts.get((row["id"], True), 0),
                places_left=None if capacity is None else max(capacity - going_count, 0),
                going=mine.get(row["id"]) is False,
                waiting=mine.get(row["id"]) is True,
                register_taken=row["register_taken_at"] is not None,
            )
        )
    return views


def communities_seen(actor: Principal) -> set[uuid.UUID]:
    return {actor.community_id} | set(actor.coordinated_communities)


async def upcoming_events(
    *, actor: Principal, limit: int = EVENTS_LISTED_MAX, now: datetime | None = None
) -> list[EventOut]:
    """Meetings of the caller's communities not yet over, soonest first (cancelled ones
    too, marked, so nobody turns up at a cancelled meeting)."""
    now = now or clock.utc_now()
    query = EventOccurrence.select(*_COLUMNS).where(EventOccurrence.ends_at > now)
    if not actor.is_admin:
        query = query.where(EventOccurrence.community.is_in(list(communities_seen(actor))))
    rows = await query.order_by(EventOccurrence.starts_at).limit(limit).run()
    return await _views(actor, rows)


async def event_get(*, actor: Principal, occurrence_id: uuid.UUID) -> EventOut:
    """One meeting as the caller sees it; 404 outside their communities."""
    await visible_occurrence(actor, occurrence_id)
    rows = await EventOccurrence.select(*_COLUMNS).where(EventOccurrence.id == occurrence_id).run()
    return (await _views(actor, rows))[0]


@dataclass(frozen=True, slots=True)
class RegisterLine:
    member_id: uuid.UUID
    display_name: str
    going: bool
    attended: bool


async def register_lines(occurrence_id: uuid.UUID) -> list[RegisterLine]:
    """Who the register lists: everyone going, and anyone already marked as there."""
    going = (
        await EventRsvp.select(
            EventRsvp.member, EventRsvp.member.display_name.as_alias("display_name")
        )
        .where((EventRsvp.occurrence == occurrence_id) & going_only())
        .run()
    )
    came = (
        await EventAttendance.select(
            EventAttendance.member, EventAttendance.member.display_name.as_alias("display_name")
        )
        .where(EventAttendance.occurrence == occurrence_id)
        .run()
    )
    attended = {row["member"] for row in came}
    names = {row["member"]: row["display_name"] for row in [*going, *came]}
    going_ids = {row["member"] for row in going}
    return sorted(
        (
            RegisterLine(
                member_id=member_id,
                display_name=name,
                going=member_id in going_ids,
                attended=member_id in attended,
            )
            for member_id, name in names.items()
        ),
        key=lambda line: (line.display_name.casefold(), str(line.member_id)),
    )


async def registered_ids(occurrence_id: uuid.UUID) -> list[uuid.UUID]:
    return await attendance_of(occurrence_id)


async def events_of_member(member_id: uuid.UUID, *, limit: int) -> list[MemberEventOut]:
    """A member's RSVPs and the meetings the register has them at (their export)."""
    rsvps = (
        await EventRsvp.select(
            EventRsvp.occurrence,
            EventRsvp.waiting,
            EventRsvp.occurrence.starts_at.as_alias("starts_at"),
            EventRsvp.occurrence._.series._.title.as_alias("title"),
        )
        .where(EventRsvp.member == member_id)
        .limit(limit)
        .run()
    )
    came = (
        await EventAttendance.select(
            EventAttendance.occurrence,
            EventAttendance.occurrence.starts_at.as_alias("starts_at"),
            EventAttendance.occurrence._.series._.title.as_alias("title"),
        )
        .where(EventAttendance.member == member_id)
        .limit(limit)
        .run()
    )
    attended = {row["occurrence"] for row in came}
    items: dict[Any, MemberEventOut] = {}
    for row in [*rsvps, *came]:
        occurrence_id = row["occurrence"]
        waiting = row.get("waiting")
        if occurrence_id in items and waiting is None:
            continue
        items[occurrence_id] = MemberEventOut(
            event_id=occurrence_id,
            title=row["title"],
            starts_at=aware(row["starts_at"]),
            going=waiting is False,
            waiting=waiting is True,
            attended=occurrence_id in attended,
        )
    return sorted(items.values(), key=lambda item: item.starts_at, reverse=True)[:limit]


class Span(Protocol):
    """A period of whole instants: the reports' `Period` is one."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_before(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class EventFigures:
    events_held: int  # meetings in the period, not cancelled, whose register was taken
    event_attendances: int  # members the registers of those meetings name


async def event_figures(community_ids: Iterable[uuid.UUID], period: Span) -> EventFigures:
    """What the impact report counts of events: for the communities and the period,
    meetings held (their register taken; a cancelled one never counts) and attendances."""
    communities = list(community_ids)
    if not communities:
        return EventFigures(events_held=0, event_attendances=0)
    held = (
        EventOccurrence.community.is_in(communities)
        & EventOccurrence.cancelled_at.is_null()
        & EventOccurrence.register_taken_at.is_not_null()
        & (EventOccurrence.starts_at >= period.starts_at)
        & (EventOccurrence.starts_at < period.ends_before)
    )
    events_held = await EventOccurrence.count().where(held).run()
    attendances = (
        await EventAttendance.count()
        .where(
            EventAttendance.occurrence.community.is_in(communities)
            & EventAttendance.occurrence.cancelled_at.is_null()
            & EventAttendance.occurrence.register_taken_at.is_not_null()
            & (EventAttendance.occurrence.starts_at >= period.starts_at)
            & (EventAttendance.occurrence.starts_at < period.ends_before)
        )
        .run()
    )
    return EventFigures(events_held=int(events_held), event_attendances=int(attendances))


async def community_slugs_of(actor: Principal) -> list[tuple[str, str]]:
    """The communities the caller may make events in, as (slug, name) for a form."""
    query = Community.select(Community.id, Community.slug, Community.name).order_by(Community.name)
    rows = await query.run()
    seen = communities_seen(actor)
    return [(row["slug"], row["name"]) for row in rows if actor.is_admin or row["id"] in seen]


async def may_host_of(member_id: uuid.UUID) -> bool:
    """Whether a coordinator let this member make events (the desk's member file)."""
    return bool(await EventHostPermit.exists().where(EventHostPermit.member == member_id).run())


async def event_figures_by_month(
    community_ids: Iterable[uuid.UUID], period: Span
) -> dict[int, EventFigures]:
    """`event_figures` for each month (yyyymm, UTC) of the period that had a meeting held:
    what a chart of events over months reads (the impact report's counts, without people)."""
    async with read_connection(database.active_engine()) as connection:
        taken = await event_participation_by_month(connection, community_ids, period)
    return {
        month: EventFigures(events_held=each.events_held, event_attendances=each.event_attendances)
        for month, each in taken.items()
    }


@dataclass(frozen=True, slots=True)
class MonthParticipation:
    """One month of events for the impact report: meetings held, attendances, and the
    members who took part (came or hosted), so they count among people connected."""

    events_held: int
    event_attendances: int
    people: frozenset[uuid.UUID]


# The meetings held in the period, each with how many came; then who came, once per month
# (a weekly regular is one row a month, not four), the month worked out in SQL from the
# period's month boundaries so both engines agree.
_HELD_WHERE = (
    "o.community {in_scope} AND o.cancelled_at IS NULL AND o.register_taken_at IS NOT NULL"
    " AND o.starts_at >= $1 AND o.starts_at < $2"
)
_HELD_SQL = (
    "SELECT o.id AS occurrence, o.series AS series, o.starts_at AS starts_at,"
    " COUNT(a.member) AS came FROM event_occurrence o"
    " LEFT JOIN event_attendance a ON a.occurrence = o.id"
    " WHERE {where} GROUP BY o.id, o.series, o.starts_at"
)
_CAME_SQL = (
    "SELECT DISTINCT {month} AS month, a.member AS member FROM event_occurrence o"
    " JOIN event_attendance a ON a.occurrence = o.id WHERE {where}"
)


def _month_starts(period: Span) -> list[datetime]:
    """The first instant of each month after the period's first, up to its end (UTC)."""
    first, ends_before = aware(period.starts_at), aware(period.ends_before)
    starts: list[datetime] = []
    year, month = first.year, first.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)  # noqa: PLR2004
        start = datetime(year, month, 1, tzinfo=UTC)
        if start >= ends_before:
            return starts
        starts.append(start)


def _month_sql(connection: Connection, period: Span, first: int) -> tuple[str, list[Any]]:
    """SQL giving the yyyymm of `o.starts_at` within the period, its boundaries parameters
    from `$first` on."""
    starts = _month_starts(period)
    cases = [
        f"WHEN o.starts_at < ${first + index} THEN {_month_of(start - timedelta(days=1))}"
        for index, start in enumerate(starts)
    ]
    last = _month_of(aware(period.ends_before) - timedelta(microseconds=1))
    parameters = [database.stored_instant(connection, start) for start in starts]
    if not cases:
        return str(last), parameters
    return f"(CASE {' '.join(cases)} ELSE {last} END)", parameters


async def event_participation_by_month(
    connection: Connection, community_ids: Iterable[uuid.UUID], period: Span
) -> dict[int, MonthParticipation]:
    """For each month (yyyymm, UTC) of the period with a meeting held: meetings held,
    attendances, and who attended or hosted. SQL on `connection`, so the impact report
    can read it from a replica (ADR 0047)."""
    communities = list(community_ids)
    if not communities:
        return {}
    in_scope, ids = connection.id_list(communities, 3)
    where = _HELD_WHERE.format(in_scope=in_scope)
    window = [
        database.stored_instant(connection, period.starts_at),
        database.stored_instant(connection, period.ends_before),
    ]
    meetings = await connection.fetch(_HELD_SQL.format(where=where), *window, *ids)
    if not meetings:
        return {}
    held: dict[int, int] = {}
    came: dict[int, int] = {}
    series_months: dict[uuid.UUID, set[int]] = {}
    for row in meetings:
        month = _month_of(row["starts_at"])
        held[month] = held.get(month, 0) + 1
        came[month] = came.get(month, 0) + int(row["came"])
        series_months.setdefault(as_uuid(row["series"]), set()).add(month)
    people: dict[int, set[uuid.UUID]] = {month: set() for month in held}
    month_expression, month_parameters = _month_sql(connection, period, 3 + len(ids))
    sql = _CAME_SQL.format(month=month_expression, where=where)
    for row in await connection.fetch(sql, *window, *ids, *month_parameters):
        people[int(row["month"])].add(as_uuid(row["member"]))
    in_series, series_ids = connection.id_list(list(series_months), 1)
    hosts = await connection.fetch(
        f"SELECT series, member FROM event_host WHERE series {in_series}", *series_ids
    )
    for row in hosts:
        for month in series_months[as_uuid(row["series"])]:
            people[month].add(as_uuid(row["member"]))
    return {
        month: MonthParticipation(
            events_held=held[month],
            event_attendances=came.get(month, 0),
            people=frozenset(people[month]),
        )
        for month in sorted(held)
    }


def _month_of(starts_at: datetime) -> int:
    moment = aware(starts_at)
    return moment.year * 100 + moment.month


# The choices on the events' forms --------------------------------------------------------

HOST_CHOICES_MAX = 500  # members offered as hosts or on a register, by name


async def host_choices(viewer: Principal) -> list[tuple[str, str]]:
    """Active members of the viewer's communities (any, for an admin) as (id, "name
    (community)"), for the host field of the create form."""
    query = Member.select(
        Member.id, Member.display_name, Member.community.name.as_alias("community_name")
    ).where(Member.status == "active")
    if not viewer.is_admin:
        query = query.where(Member.community.is_in(list(communities_seen(viewer))))
    rows = await query.order_by(Member.display_name).limit(HOST_CHOICES_MAX).run()
    return [(str(row["id"]), f"{row['display_name']} ({row['community_name']})") for row in rows]


async def hostable_communities(viewer: Principal) -> list[tuple[str, str]]:
    """The communities the viewer may make events in, as (slug, name)."""
    rows = await Community.select(Community.id, Community.slug, Community.name).run()
    return [(row["slug"], row["name"]) for row in rows if await may_host(viewer, row["id"])]


async def community_members(community_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Active members of a community by name: the register's "also came" choices."""
    rows = (
        await Member.select(Member.id, Member.display_name)
        .where((Member.community == community_id) & (Member.status == "active"))
        .order_by(Member.display_name)
        .limit(HOST_CHOICES_MAX)
        .run()
    )
    return [(row["id"], row["display_name"]) for row in rows]

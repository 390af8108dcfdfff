"""Piccolo's view of the events tables (DDL in migrations/events/)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.members.tables import Community, Member


class EventSeries(Table, tablename="event_series"):
    """What an event is: a one-off meeting, or a club that repeats (its meetings are
    `EventOccurrence` rows made when the series is created)."""

    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    title = Varchar(length=120)
    description = Text()
    category = Varchar(length=40, null=True, default=None)  # a listing category's slug
    place = Varchar(length=200)
    step_free = Boolean(default=False)
    hearing_loop = Boolean(default=False)
    access_notes = Text(default="")
    capacity = Integer(null=True, default=None)  # None: as many as come
    host_minutes = Integer()
    repeats = Varchar(length=12)  # "none", "weekly", "fortnightly", "monthly"
    created_by = UUID()
    created_at = Timestamptz()


class EventHost(Table, tablename="event_host"):
    """A host of every meeting of a series, credited `host_minutes` for each one held."""

    id = UUID(primary_key=True)
    series = ForeignKey(references=EventSeries)
    member = ForeignKey(references=Member)


class EventOccurrence(Table, tablename="event_occurrence"):
    """One meeting: what members go to, take part in and are registered at."""

    id = UUID(primary_key=True)
    series = ForeignKey(references=EventSeries)
    community = ForeignKey(references=Community)
    position = Integer()  # 1 for the first meeting of the series
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    place = Varchar(length=200)
    cancelled_at = Timestamptz(null=True, default=None)
    # The register: when it was first taken, and when the hosts were credited (once).
    register_taken_at = Timestamptz(null=True, default=None)
    credited_at = Timestamptz(null=True, default=None)


class EventRsvp(Table, tablename="event_rsvp"):
    """A member going to a meeting, or waiting for a place (first come, first moved up)."""

    id = UUID(primary_key=True)
    occurrence = ForeignKey(references=EventOccurrence)
    member = ForeignKey(references=Member)
    waiting = Boolean(default=False)
    created_at = Timestamptz()
    moved_up_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)


class EventAttendance(Table, tablename="event_attendance"):
    """A member the register says came to a meeting."""

    id = UUID(primary_key=True)
    occurrence = ForeignKey(references=EventOccurrence)
    member = ForeignKey(references=Member)
    recorded_by = UUID()
    recorded_at = Timestamptz()


class EventHostPermit(Table, tablename="event_host_permit"):
    """A member a coordinator lets create events in their community ("may host")."""

    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    granted_by = UUID()
    granted_at = Timestamptz()

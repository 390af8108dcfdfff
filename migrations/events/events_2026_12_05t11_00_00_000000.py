"""Events (issue 19): series and their meetings, hosts, RSVPs with a waiting list,
the register, and who may host."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: series, occurrences, hosts, rsvps, attendance, host permits"

STATEMENTS = [
    """
    CREATE TABLE event_series (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        title VARCHAR(120) NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
        description TEXT NOT NULL CHECK (length(description) <= 2000),
        category VARCHAR(40),
        place VARCHAR(200) NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
        step_free BOOLEAN NOT NULL DEFAULT FALSE,
        hearing_loop BOOLEAN NOT NULL DEFAULT FALSE,
        access_notes TEXT NOT NULL DEFAULT '' CHECK (length(access_notes) <= 500),
        capacity INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 1000),
        host_minutes INTEGER NOT NULL CHECK (host_minutes BETWEEN 0 AND 480),
        repeats VARCHAR(12) NOT NULL
            CHECK (repeats IN ('none', 'weekly', 'fortnightly', 'monthly')),
        created_by UUID NOT NULL REFERENCES member_member (id),
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX event_series_community ON event_series (community)",
    """
    CREATE TABLE event_host (
        id UUID PRIMARY KEY,
        series UUID NOT NULL REFERENCES event_series (id),
        member UUID NOT NULL REFERENCES member_member (id),
        UNIQUE (series, member)
    )
    """,
    "CREATE INDEX event_host_member ON event_host (member)",
    """
    CREATE TABLE event_occurrence (
        id UUID PRIMARY KEY,
        series UUID NOT NULL REFERENCES event_series (id),
        community UUID NOT NULL REFERENCES member_community (id),
        position INTEGER NOT NULL CHECK (position >= 1),
        starts_at TIMESTAMPTZ NOT NULL,
        ends_at TIMESTAMPTZ NOT NULL,
        place VARCHAR(200) NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
        cancelled_at TIMESTAMPTZ,
        register_taken_at TIMESTAMPTZ,
        credited_at TIMESTAMPTZ,
        UNIQUE (series, position),
        CHECK (ends_at > starts_at),
        CHECK (credited_at IS NULL OR register_taken_at IS NOT NULL)
    )
    """,
    "CREATE INDEX event_occurrence_upcoming ON event_occurrence (community, starts_at)",
    "CREATE INDEX event_occurrence_starts ON event_occurrence (starts_at)",
    """
    CREATE TABLE event_rsvp (
        id UUID PRIMARY KEY,
        occurrence UUID NOT NULL REFERENCES event_occurrence (id),
        member UUID NOT NULL REFERENCES member_member (id),
        waiting BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL,
        moved_up_at TIMESTAMPTZ,
        reminded_at TIMESTAMPTZ,
        UNIQUE (occurrence, member)
    )
    """,
    "CREATE INDEX event_rsvp_queue ON event_rsvp (occurrence, waiting, created_at)",
    "CREATE INDEX event_rsvp_member ON event_rsvp (member)",
    """
    CREATE TABLE event_attendance (
        id UUID PRIMARY KEY,
        occurrence UUID NOT NULL REFERENCES event_occurrence (id),
        member UUID NOT NULL REFERENCES member_member (id),
        recorded_by UUID NOT NULL REFERENCES member_member (id),
        recorded_at TIMESTAMPTZ NOT NULL,
        UNIQUE (occurrence, member)
    )
    """,
    "CREATE INDEX event_attendance_member ON event_attendance (member)",
    """
    CREATE TABLE event_host_permit (
        id UUID PRIMARY KEY,
        member UUID NOT NULL UNIQUE REFERENCES member_member (id),
        granted_by UUID NOT NULL REFERENCES member_member (id),
        granted_at TIMESTAMPTZ NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def create_events_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_events_schema)
    return manager

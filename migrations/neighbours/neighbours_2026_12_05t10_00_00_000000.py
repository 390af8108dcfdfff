"""Friendship pairs (issue 18 item 7): introduced pairs and their plans of regular visits."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "neighbours: friendship pairs and visit plans"

STATEMENTS = [
    """
    CREATE TABLE friendship_pair (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        older UUID NOT NULL REFERENCES member_member (id),
        younger UUID NOT NULL REFERENCES member_member (id),
        introduced_by UUID REFERENCES member_member (id),
        introduced_at TIMESTAMPTZ NOT NULL,
        status VARCHAR(8) NOT NULL CHECK (status IN ('active', 'ended')),
        ended_at TIMESTAMPTZ,
        UNIQUE (older, younger),
        CHECK (older <> younger),
        CHECK ((status = 'ended') = (ended_at IS NOT NULL))
    )
    """,
    "CREATE INDEX friendship_pair_community ON friendship_pair (community, status)",
    "CREATE INDEX friendship_pair_younger ON friendship_pair (younger)",
    """
    CREATE TABLE friendship_visit_plan (
        id UUID PRIMARY KEY,
        pair UUID NOT NULL UNIQUE REFERENCES friendship_pair (id),
        minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
        cadence VARCHAR(12) NOT NULL CHECK (cadence IN ('weekly', 'fortnightly')),
        weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
        starts_on DATE NOT NULL,
        provider UUID NOT NULL REFERENCES member_member (id),
        recipient UUID NOT NULL REFERENCES member_member (id),
        in_home BOOLEAN NOT NULL,
        status VARCHAR(8) NOT NULL CHECK (status IN ('active', 'ended')),
        updated_by UUID REFERENCES member_member (id),
        updated_at TIMESTAMPTZ NOT NULL,
        CHECK (provider <> recipient)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="neighbours", description=DESCRIPTION)

    async def create_pairing_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_pairing_schema)
    return manager

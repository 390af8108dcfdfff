"""Neighbours (issue 18): safeguarding checks per member, and thanks after an exchange."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T10:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "neighbours: checks and thanks"

STATEMENTS = [
    """
    CREATE TABLE neighbour_check (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        kind VARCHAR(12) NOT NULL CHECK (kind IN ('dbs', 'reference', 'induction')),
        checked_on DATE NOT NULL,
        expires_on DATE,
        recorded_by UUID REFERENCES member_member (id),
        recorded_at TIMESTAMPTZ NOT NULL,
        reminded_at TIMESTAMPTZ,
        CHECK (expires_on IS NULL OR expires_on > checked_on)
    )
    """,
    "CREATE INDEX neighbour_check_member ON neighbour_check (member, expires_on)",
    "CREATE INDEX neighbour_check_expires ON neighbour_check (expires_on)",
    """
    CREATE TABLE neighbour_thanks (
        id UUID PRIMARY KEY,
        exchange UUID NOT NULL REFERENCES market_exchange (id),
        author UUID NOT NULL REFERENCES member_member (id),
        receiver UUID NOT NULL REFERENCES member_member (id),
        text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
        created_at TIMESTAMPTZ NOT NULL,
        hidden_at TIMESTAMPTZ,
        UNIQUE (exchange, author),
        CHECK (author <> receiver)
    )
    """,
    "CREATE INDEX neighbour_thanks_receiver ON neighbour_thanks (receiver, created_at)",
    "CREATE INDEX neighbour_thanks_author ON neighbour_thanks (author)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="neighbours", description=DESCRIPTION)

    async def create_neighbours_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_neighbours_schema)
    return manager

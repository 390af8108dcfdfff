"""Recovery: single-use password reset tokens (links and coordinators' codes) and email changes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T13:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recovery: reset tokens and email changes"

STATEMENTS = [
    """
    CREATE TABLE recovery_reset_token (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        token_hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(token_hash) = 64),
        kind VARCHAR(10) NOT NULL CHECK (kind IN ('link', 'code')),
        issued_by UUID REFERENCES member_member (id),
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ,
        CHECK (expires_at > created_at),
        CHECK ((kind = 'code') = (issued_by IS NOT NULL))
    )
    """,
    "CREATE INDEX recovery_reset_token_member ON recovery_reset_token (member, created_at)",
    """
    CREATE TABLE recovery_email_change (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        new_email VARCHAR(254) NOT NULL CHECK (length(new_email) BETWEEN 3 AND 254),
        token_hash VARCHAR(64) NOT NULL UNIQUE CHECK (length(token_hash) = 64),
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ,
        CHECK (expires_at > created_at)
    )
    """,
    "CREATE INDEX recovery_email_change_member ON recovery_email_change (member, created_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recovery", description=DESCRIPTION)

    async def create_recovery_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_recovery_schema)
    return manager

"""Mail: the outbox (queued in the event's own transaction) and members' mail preferences."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail: outbox and mail preferences"

STATEMENTS = [
    """
    CREATE TABLE mail_message (
        id UUID PRIMARY KEY,
        member UUID REFERENCES member_member (id),
        to_address VARCHAR(254) NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
        kind VARCHAR(40) NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
        context_json TEXT NOT NULL DEFAULT '{}',
        sensitive BOOLEAN NOT NULL DEFAULT FALSE,
        is_event BOOLEAN NOT NULL DEFAULT TRUE,
        digest BOOLEAN NOT NULL DEFAULT FALSE,
        status VARCHAR(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at TIMESTAMPTZ NOT NULL,
        last_error TEXT CHECK (length(last_error) <= 500),
        created_at TIMESTAMPTZ NOT NULL,
        sent_at TIMESTAMPTZ,
        CHECK ((status = 'sent') = (sent_at IS NOT NULL))
    )
    """,
    "CREATE INDEX mail_message_due ON mail_message (status, next_attempt_at)",
    "CREATE INDEX mail_message_listing ON mail_message (created_at)",
    "CREATE INDEX mail_message_member ON mail_message (member, created_at)",
    """
    CREATE TABLE mail_preference (
        member UUID PRIMARY KEY REFERENCES member_member (id),
        email VARCHAR(10) NOT NULL CHECK (email IN ('immediate', 'daily', 'weekly', 'off')),
        updated_at TIMESTAMPTZ NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="mail", description=DESCRIPTION)

    async def create_mail_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_mail_schema)
    return manager

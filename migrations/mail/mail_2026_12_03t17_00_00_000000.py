"""Mail: every mailed event is also an in-app notice (mail_notice), and the weekly
digest of matching offers and requests is sent once a week per member
(mail_listing_digest), issue 15.

A notice is written in the same transaction as the event, whether or not mail
goes (email off, no address, no login); it keeps the message's kind and context
so the page words it exactly as the mail does.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail: in-app notices of mailed events, weekly listing digests"

STATEMENTS = [
    """
    CREATE TABLE mail_notice (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        kind VARCHAR(40) NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
        context_json TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX mail_notice_member ON mail_notice (member, created_at)",
    """
    CREATE TABLE mail_listing_digest (
        member UUID PRIMARY KEY REFERENCES member_member (id),
        sent_at TIMESTAMPTZ NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="mail", description=DESCRIPTION)

    async def create_notice_tables() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_notice_tables)
    return manager

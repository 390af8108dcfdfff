"""Members: admins' private notes on a member (issue 22, ADR 0033).

A note is written once and never changed; it is deleted with the member's other
personal data when the account is closed.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: admins' private notes on a member"

STATEMENTS = [
    """
    CREATE TABLE member_admin_note (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
        written_by UUID,
        written_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX member_admin_note_member ON member_admin_note (member, written_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_admin_notes() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_admin_notes)
    return manager

"""Mail: reminders already sent for an exchange, so the sweep sends each one once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T14:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail: exchange reminders sent"

STATEMENTS = [
    """
    CREATE TABLE mail_reminder (
        exchange UUID NOT NULL REFERENCES market_exchange (id),
        kind VARCHAR(20) NOT NULL CHECK (kind IN ('confirm', 'hold_expiring')),
        sent_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (exchange, kind)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="mail", description=DESCRIPTION)

    async def create_reminder_table() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_reminder_table)
    return manager

"""Members and communities (issue 18): what a member would like help with, and two
community settings: how many days a listing stays up before it must be renewed, and
whether help given in someone's home needs a valid safeguarding check (ADR 0035).

Plain column additions with defaults: the same DDL serves both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: help wanted, listing days, home check setting"

STATEMENTS = [
    "ALTER TABLE member_member ADD COLUMN help_wanted TEXT NOT NULL DEFAULT ''"
    " CHECK (length(help_wanted) <= 1000)",
    "ALTER TABLE member_community ADD COLUMN listing_days INTEGER NOT NULL DEFAULT 90"
    " CHECK (listing_days BETWEEN 1 AND 3650)",
    "ALTER TABLE member_community ADD COLUMN home_check_required BOOLEAN NOT NULL DEFAULT FALSE",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def add_columns() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_columns)
    return manager

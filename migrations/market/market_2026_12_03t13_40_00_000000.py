"""Listings: a `sensitive` flag ("this says something personal about me", ADR 0020).

A sensitive description is shown only to approved members of the listing's own
community, its coordinators and admins. Existing listings are not sensitive.
The same DDL serves both engines (BOOLEAN is an integer affinity on SQLite).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market: listings may be marked sensitive"

STATEMENTS = [
    "ALTER TABLE market_listing ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT FALSE",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def add_sensitive_flag() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_sensitive_flag)
    return manager

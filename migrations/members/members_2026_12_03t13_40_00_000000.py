"""Communities: whether members of other communities may read listing descriptions (ADR 0020).

Off by default: visitors from other communities see titles and categories
only. On, they also see descriptions that are not marked sensitive.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: a community setting for what visitors see of its listings"

STATEMENTS = [
    "ALTER TABLE member_community"
    " ADD COLUMN visitors_see_descriptions BOOLEAN NOT NULL DEFAULT FALSE",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def add_visitor_setting() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_visitor_setting)
    return manager

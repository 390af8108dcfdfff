"""Members: the language a member chose for pages and mail (issue 20 item 3, ADR 0048).

Null means "not chosen": the cookie or the browser's Accept-Language decides.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: the language a member chose"

STATEMENTS = [
    "ALTER TABLE member_member ADD COLUMN language VARCHAR(8) "
    "CHECK (language IS NULL OR language IN ('en', 'cy'))",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def add_language() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_language)
    return manager

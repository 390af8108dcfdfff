"""Communities: how many days after "marked done" an exchange confirms by itself.

Null means the installation's EXCHANGE_AUTOCONFIRM_DAYS (default 7); the range
matches the setting's (service/limits.py).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: a community's days before an exchange marked done confirms by itself"

STATEMENTS = [
    "ALTER TABLE member_community ADD COLUMN autoconfirm_days INTEGER"
    " CHECK (autoconfirm_days BETWEEN 1 AND 60)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def add_autoconfirm_days() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_autoconfirm_days)
    return manager

"""Disputes: a correction records the recipient's ceiling before an override raised it.

The floor-restore sweep (service/disputes/floors.py) lowers a raised ceiling back
as the recipient spends, as it raises a lowered floor (ADR 0007 amendment).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "disputes: agreed_ceiling_minutes on dispute_correction"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="disputes", description=DESCRIPTION)

    async def add_agreed_ceiling() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        # Same DDL on both engines: a nullable column, no default to backfill.
        await engine.run_ddl(
            "ALTER TABLE dispute_correction ADD COLUMN agreed_ceiling_minutes INTEGER"
        )

    manager.add_raw(add_agreed_ceiling)
    return manager

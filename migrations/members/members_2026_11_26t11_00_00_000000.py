"""Audit log indexes for the admin console's filters.

The audit search (service/admin/services.py `audit_search`) filters by actor,
action or target and pages newest first by (at, id). With only the date index
every filtered page walked the whole log backwards; each filter now has its own
index ending in (at, id), so a page reads just its own rows in order. The old
(target_type, target_id) index is a prefix of the new target index: dropped.

The same DDL serves both engines; IF [NOT] EXISTS keeps a half-applied run
(say, interrupted by hand) repeatable.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-26T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: audit log indexes by actor, action and target, each then by date"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS member_audit_actor_at ON member_audit (actor_id, at, id)",
    "CREATE INDEX IF NOT EXISTS member_audit_action_at ON member_audit (action, at, id)",
    "CREATE INDEX IF NOT EXISTS member_audit_target_at "
    "ON member_audit (target_type, target_id, at, id)",
    "DROP INDEX IF EXISTS member_audit_target",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_audit_indexes() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_audit_indexes)
    return manager

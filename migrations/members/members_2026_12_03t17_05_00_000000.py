"""Members: a phone number (for finding a member on the coordinator's desk) and the
`declined` status (an applicant a coordinator turned down, who may apply again).

Both changes are written to compose with other migrations that touch the same
table (the no-login migration of 16:40 adds the same phone column and loosens
another CHECK the same way): the column is added only if missing, and the status CHECK is widened by
editing its list in place, never by re-creating the table from a fixed copy of
its DDL. On SQLite a CHECK cannot be altered; widening one changes nothing
stored, so the table's SQL is edited through `writable_schema` as SQLite's
documentation allows for such changes, bumping `schema_version` in the same
transaction so every connection reloads it (ADR 0029).
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-03T17:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: phone, and the declined status"

OLD_STATUSES = "'pending', 'active', 'suspended', 'closed'"
NEW_STATUSES = "'pending', 'active', 'suspended', 'closed', 'declined'"

POSTGRES = [
    "ALTER TABLE member_member ADD COLUMN IF NOT EXISTS phone VARCHAR(40) NOT NULL DEFAULT ''"
    " CHECK (length(phone) <= 40)",
    "ALTER TABLE member_member DROP CONSTRAINT IF EXISTS member_member_status_check",
    f"ALTER TABLE member_member ADD CONSTRAINT member_member_status_check"
    f" CHECK (status IN ({NEW_STATUSES}))",
]

SQLITE_PHONE = (
    "ALTER TABLE member_member ADD COLUMN phone VARCHAR(40) NOT NULL DEFAULT ''"
    " CHECK (length(phone) <= 40)"
)


async def _sqlite(engine: Any) -> None:
    columns = await engine.run_ddl("PRAGMA table_info(member_member)")
    if not any(column["name"] == "phone" for column in columns):
        await engine.run_ddl(SQLITE_PHONE)
    async with engine.transaction():
        row = await engine.run_ddl("PRAGMA schema_version")
        version = int(next(iter(row[0].values())))
        await engine.run_ddl("PRAGMA writable_schema = ON")
        await engine.run_ddl(
            "UPDATE sqlite_master SET sql = replace(sql, "
            f'"status IN ({OLD_STATUSES})", "status IN ({NEW_STATUSES})") '
            "WHERE type = 'table' AND name = 'member_member'"
        )
        await engine.run_ddl(f"PRAGMA schema_version = {version + 1}")
        await engine.run_ddl("PRAGMA writable_schema = OFF")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def phone_and_declined() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:
                await engine.run_ddl(statement)
        else:
            await _sqlite(engine)

    manager.add_raw(phone_and_declined)
    return manager

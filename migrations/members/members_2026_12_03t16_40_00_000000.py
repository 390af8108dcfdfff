"""Members without a login, and coordinators acting for a member (issue 16, ADRs 0030, 0031).

- `phone`: a coordinator may keep a phone number for a member who is not online.
- `coordinator_may_act_at`: when the member let a coordinator of their community act
  for them (null: they have not, or took it back).
- `member_session.acting_for`: the member a coordinator's browser is acting for.
- The old rule "everyone not closed has an email and a password" becomes "a login
  needs an email": a member may have neither (has_login = password_hash is not null).

SQLite cannot drop a CHECK with ALTER TABLE. Loosening one is the case SQLite's own
documentation allows through `writable_schema` (edit the table's SQL text, bump the
schema version, check integrity), which keeps the table, its rows and every foreign
key pointing at it untouched; a text replacement also leaves any other edit of the
same table (say, a wider status CHECK) alone.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-03T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: phone, consent to coordinators acting, acting sessions, no-login members"

OLD_CHECK = "CHECK (status = 'closed' OR (email IS NOT NULL AND password_hash IS NOT NULL))"
NEW_CHECK = "CHECK (status = 'closed' OR password_hash IS NULL OR email IS NOT NULL)"

COLUMNS = [
    "ALTER TABLE member_member ADD COLUMN phone VARCHAR(40) NOT NULL DEFAULT ''"
    " CHECK (length(phone) <= 40)",
    "ALTER TABLE member_member ADD COLUMN coordinator_may_act_at TIMESTAMPTZ",
    "ALTER TABLE member_session ADD COLUMN acting_for UUID REFERENCES member_member (id)",
]

POSTGRES_CHECK = [
    """
    DO $$
    DECLARE old_name text;
    BEGIN
        SELECT conname INTO old_name FROM pg_constraint
        WHERE conrelid = 'member_member'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%password_hash IS NOT NULL%';
        IF old_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE member_member DROP CONSTRAINT %I', old_name);
        END IF;
    END $$
    """,
    f"ALTER TABLE member_member ADD CONSTRAINT member_login_needs_email {NEW_CHECK}",
]


async def _loosen_sqlite_check(engine: Any) -> None:
    rows = await engine.run_ddl("PRAGMA schema_version")
    version = int(next(iter(rows[0].values())))
    await engine.run_ddl("PRAGMA writable_schema = ON")
    await engine.run_ddl(
        "UPDATE sqlite_master SET sql = replace(sql, "
        f"'{OLD_CHECK.replace(chr(39), chr(39) * 2)}', '{NEW_CHECK.replace(chr(39), chr(39) * 2)}') "
        "WHERE type = 'table' AND name = 'member_member'"
    )
    await engine.run_ddl(f"PRAGMA schema_version = {version + 1}")
    await engine.run_ddl("PRAGMA writable_schema = OFF")
    problems = await engine.run_ddl("PRAGMA integrity_check")
    if [next(iter(row.values())) for row in problems] != ["ok"]:
        raise RuntimeError(f"member_member failed the integrity check: {problems}")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def members_without_login() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in COLUMNS:
            await engine.run_ddl(statement)
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES_CHECK:
                await engine.run_ddl(statement)
        else:
            await _loosen_sqlite_check(engine)

    manager.add_raw(members_without_login)
    return manager

"""Wellbeing check-ins (issue 19): ONS personal wellbeing and the three-item UCLA scale."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "wellbeing: check-ins and skipped offers"

STATEMENTS = [
    """
    CREATE TABLE wellbeing_checkin (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        taken_at TIMESTAMPTZ NOT NULL,
        consented_at TIMESTAMPTZ NOT NULL,
        life_satisfaction INTEGER NOT NULL CHECK (life_satisfaction BETWEEN 0 AND 10),
        worthwhile INTEGER NOT NULL CHECK (worthwhile BETWEEN 0 AND 10),
        happy_yesterday INTEGER NOT NULL CHECK (happy_yesterday BETWEEN 0 AND 10),
        anxious_yesterday INTEGER NOT NULL CHECK (anxious_yesterday BETWEEN 0 AND 10),
        lack_companionship INTEGER NOT NULL CHECK (lack_companionship BETWEEN 1 AND 3),
        left_out INTEGER NOT NULL CHECK (left_out BETWEEN 1 AND 3),
        isolated INTEGER NOT NULL CHECK (isolated BETWEEN 1 AND 3)
    )
    """,
    "CREATE INDEX wellbeing_checkin_member ON wellbeing_checkin (member, taken_at)",
    """
    CREATE TABLE wellbeing_skip (
        member UUID PRIMARY KEY REFERENCES member_member (id),
        skipped_at TIMESTAMPTZ NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="wellbeing", description=DESCRIPTION)

    async def create_wellbeing_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_wellbeing_schema)
    return manager

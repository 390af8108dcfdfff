"""Checks: coordinators are told of a refused in-home exchange once a day per helper."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "neighbours: one notice a day about a helper refused for want of a check"

STATEMENTS = [
    """
    CREATE TABLE neighbour_check_refusal_told (
        helper UUID NOT NULL REFERENCES member_member (id),
        community UUID NOT NULL REFERENCES member_community (id),
        told_on DATE NOT NULL,
        PRIMARY KEY (helper, community, told_on)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="neighbours", description=DESCRIPTION)

    async def create_refusal_told() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_refusal_told)
    return manager

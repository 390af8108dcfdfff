"""Exchange history: the coordinator who recorded a step for a member (issue 16, ADR 0031).

`recorded_by` is set when a coordinator acted for the member named in `actor`,
so the history reads "accepted, recorded by David Okafor for Doreen Walsh".
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market: who recorded an exchange step for the member"

STATEMENTS = [
    "ALTER TABLE market_exchange_event ADD COLUMN recorded_by UUID REFERENCES member_member (id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def add_recorded_by() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_recorded_by)
    return manager

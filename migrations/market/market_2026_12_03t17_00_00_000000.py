"""Exchanges: the provider marks the help done; unless the recipient answers, it
completes by itself at `autoconfirm_at` (issue 16 item 4, ADR 0028).

`autoconfirm_at` is only ever set on an accepted exchange, and always before its
hold expires (the service clamps it); both columns are plain additions, so the
same DDL serves both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market: mark done and confirm by itself"

STATEMENTS = [
    "ALTER TABLE market_exchange ADD COLUMN marked_done_at TIMESTAMPTZ",
    "ALTER TABLE market_exchange ADD COLUMN autoconfirm_at TIMESTAMPTZ",
    "CREATE INDEX market_exchange_autoconfirm ON market_exchange (autoconfirm_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def add_mark_done() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_mark_done)
    return manager

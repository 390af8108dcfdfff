"""Listings and exchanges (issue 18): listings pause and expire, and help given in the
member's home is flagged on listings and exchanges (ADR 0035).

A listing is found while `status = 'open'`, `paused_at` is null and `expires_at`
is in the future; the status CHECK is left as it was (no table rebuild on SQLite).
Listings published before this change have no `expires_at` until the listing
sweep starts their clock. Plain additions: the same DDL serves both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market: listing expiry and pause, in-home flag"

STATEMENTS = [
    "ALTER TABLE market_listing ADD COLUMN in_home BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE market_listing ADD COLUMN paused_at TIMESTAMPTZ",
    "ALTER TABLE market_listing ADD COLUMN expires_at TIMESTAMPTZ",
    "ALTER TABLE market_listing ADD COLUMN renew_reminded_at TIMESTAMPTZ",
    "CREATE INDEX market_listing_expires ON market_listing (expires_at)",
    "ALTER TABLE market_exchange ADD COLUMN in_home BOOLEAN NOT NULL DEFAULT FALSE",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def add_columns() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_columns)
    return manager

"""Nodes: a record of every sweeps pass, to show that no two ever overlapped (ADR 0049)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-06T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "nodes: sweeps passes"

STATEMENTS = [
    """
    CREATE TABLE sweep_pass (
        id UUID PRIMARY KEY,
        holder VARCHAR(120) NOT NULL CHECK (length(holder) BETWEEN 1 AND 120),
        started_at TIMESTAMPTZ NOT NULL,
        -- The lease this pass ran under: no other node may start one before then,
        -- unless this one finished (and released it) first.
        lease_expires_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NULL
    )
    """,
    "CREATE INDEX sweep_pass_started_at ON sweep_pass (started_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="nodes", description=DESCRIPTION)

    async def create_sweep_pass() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_sweep_pass)
    return manager

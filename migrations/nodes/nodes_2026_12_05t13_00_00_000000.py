"""Nodes: leases on background work, so the sweeps run on one node at a time."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "nodes: the sweeps lease"

STATEMENTS = [
    """
    CREATE TABLE node_lease (
        name VARCHAR(40) PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 40),
        holder VARCHAR(120) NOT NULL DEFAULT '' CHECK (length(holder) <= 120),
        expires_at TIMESTAMPTZ NOT NULL
    )
    """,
    # Seeded expired, so the first node to ask takes it with an UPDATE (no insert race).
    "INSERT INTO node_lease (name, holder, expires_at) VALUES "
    "('sweeps', '', '2000-01-01 00:00:00+00:00')",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="nodes", description=DESCRIPTION)

    async def create_nodes_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_nodes_schema)
    return manager

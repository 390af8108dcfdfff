"""Reports: the per-flow record and the rollups council figures are read from.

Derived data only: every row can be recomputed from `reports_flow`, so the
tables carry no foreign keys (a closed member's or a deleted listing's rows
stay). Members appear only as one-way pseudonyms (`member_key`), never as ids.
See docs/adr/ (reports rollups) for the design.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-26T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: flows, flow changes, rollup cells and cell members"

# Columns of a cell's key, in primary-key order: the community a row is
# attributed to comes first so that a council's communities are index ranges.
CELL_KEY = "dimension, community, month, side, other_community, key_a, key_b"

STATEMENTS = [
    """
    CREATE TABLE reports_flow (
        id UUID PRIMARY KEY,
        kind VARCHAR(10) NOT NULL CHECK (kind IN ('exchange', 'donation', 'grant')),
        month INTEGER NOT NULL CHECK (month BETWEEN 190001 AND 299912),
        provider_community UUID NOT NULL,
        recipient_community UUID NOT NULL,
        category VARCHAR(40) NOT NULL,
        ward VARCHAR(80) NOT NULL,
        provider_band VARCHAR(12) NOT NULL,
        recipient_band VARCHAR(12) NOT NULL,
        provider_key UUID,
        recipient_key UUID,
        minutes_net INTEGER NOT NULL CHECK (minutes_net >= 0),
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE reports_flow_change (
        source_id UUID PRIMARY KEY,
        flow_id UUID NOT NULL,
        minutes_signed INTEGER NOT NULL CHECK (minutes_signed <> 0),
        at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX reports_flow_change_flow ON reports_flow_change (flow_id)",
    f"""
    CREATE TABLE reports_cell (
        dimension VARCHAR(12) NOT NULL,
        community UUID NOT NULL,
        month INTEGER NOT NULL,
        side CHAR(1) NOT NULL CHECK (side IN ('p', 'r')),
        other_community UUID NOT NULL,
        key_a VARCHAR(80) NOT NULL,
        key_b VARCHAR(80) NOT NULL,
        minutes BIGINT NOT NULL,
        exchanges BIGINT NOT NULL,
        members INTEGER NOT NULL CHECK (members >= 0),
        PRIMARY KEY ({CELL_KEY})
    )
    """,
    f"""
    CREATE TABLE reports_cell_member (
        dimension VARCHAR(12) NOT NULL,
        community UUID NOT NULL,
        month INTEGER NOT NULL,
        side CHAR(1) NOT NULL,
        other_community UUID NOT NULL,
        key_a VARCHAR(80) NOT NULL,
        key_b VARCHAR(80) NOT NULL,
        member_key UUID NOT NULL,
        gave INTEGER NOT NULL CHECK (gave >= 0),
        received INTEGER NOT NULL CHECK (received >= 0),
        PRIMARY KEY ({CELL_KEY}, member_key)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def create_reports_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_reports_schema)
    return manager

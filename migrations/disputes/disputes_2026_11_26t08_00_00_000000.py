"""Disputes: one per completed exchange, its thread, and the corrections it made.

A dispute never changes the exchange or its ledger entries: a correction is a
new reversing transfer that points at the original (ledger.md, reversal).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "disputes: disputes, their statements, and the corrections of resolutions"

COMMON = [
    """
    CREATE TABLE dispute_dispute (
        id UUID PRIMARY KEY,
        exchange UUID NOT NULL UNIQUE REFERENCES market_exchange (id),
        community UUID NOT NULL REFERENCES member_community (id),
        opened_by UUID NOT NULL REFERENCES member_member (id),
        reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
        status VARCHAR(10) NOT NULL CHECK (status IN ('open', 'resolved')),
        outcome VARCHAR(10) CHECK (outcome IN ('upheld', 'reversed', 'adjusted')),
        resolution_note TEXT CHECK (length(resolution_note) <= 2000),
        resolved_by UUID REFERENCES member_member (id),
        resolved_at TIMESTAMPTZ,
        opened_at TIMESTAMPTZ NOT NULL,
        CHECK ((status = 'resolved') = (outcome IS NOT NULL)),
        CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
        CHECK ((status = 'resolved') = (resolution_note IS NOT NULL))
    )
    """,
    "CREATE INDEX dispute_dispute_queue ON dispute_dispute (status, opened_at)",
    """
    CREATE TABLE dispute_statement (
        id UUID PRIMARY KEY,
        dispute UUID NOT NULL REFERENCES dispute_dispute (id),
        author UUID NOT NULL REFERENCES member_member (id),
        body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
        at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX dispute_statement_thread ON dispute_statement (dispute, at)",
    """
    CREATE TABLE dispute_correction (
        dispute UUID NOT NULL REFERENCES dispute_dispute (id),
        recipient UUID NOT NULL REFERENCES member_member (id),
        outcome VARCHAR(10) NOT NULL CHECK (outcome IN ('upheld', 'reversed', 'adjusted')),
        minutes INTEGER NOT NULL CHECK (minutes >= 0),
        original_transfer_id UUID NOT NULL,
        reversal_transfer_id UUID,
        provider_account_id UUID NOT NULL,
        agreed_floor_minutes INTEGER,
        below_floor_minutes INTEGER NOT NULL DEFAULT 0 CHECK (below_floor_minutes >= 0),
        PRIMARY KEY (dispute, recipient),
        CHECK ((outcome = 'upheld') = (reversal_transfer_id IS NULL)),
        CHECK ((outcome = 'upheld') = (minutes = 0))
    )
    """,
    "CREATE INDEX dispute_correction_account ON dispute_correction (provider_account_id)",
]
POSTGRES = [
    "CREATE TRIGGER dispute_statement_append_only BEFORE UPDATE OR DELETE"
    " ON dispute_statement FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER dispute_correction_append_only BEFORE UPDATE OR DELETE"
    " ON dispute_correction FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
]
SQLITE = [
    "CREATE TRIGGER dispute_statement_no_update BEFORE UPDATE ON dispute_statement "
    "BEGIN SELECT RAISE(ABORT, 'dispute statements are append-only'); END",
    "CREATE TRIGGER dispute_statement_no_delete BEFORE DELETE ON dispute_statement "
    "BEGIN SELECT RAISE(ABORT, 'dispute statements are append-only'); END",
    "CREATE TRIGGER dispute_correction_no_update BEFORE UPDATE ON dispute_correction "
    "BEGIN SELECT RAISE(ABORT, 'dispute corrections are append-only'); END",
    "CREATE TRIGGER dispute_correction_no_delete BEFORE DELETE ON dispute_correction "
    "BEGIN SELECT RAISE(ABORT, 'dispute corrections are append-only'); END",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="disputes", description=DESCRIPTION)

    async def create_disputes_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        postgres = isinstance(engine, PostgresEngine)
        for statement in COMMON + (POSTGRES if postgres else SQLITE):
            await engine.run_ddl(statement)

    manager.add_raw(create_disputes_schema)
    return manager

"""Ledger: lock a write's accounts and read its earlier attempts in one round trip.

`ledger_lock_for_write(account_ids, asked_ids)` (PostgreSQL only; ADR 0068) runs the
two statements a write sends first: it locks the accounts in id order, then reads
the transfers and recorded failures already bound to the asked ids. As a VOLATILE
PL/pgSQL function each statement takes its own snapshot, so the second still reads
after the locks are held, as it did as a statement of its own. SQLite needs nothing:
its statements cost no round trip.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: lock a write's accounts and read its earlier attempts in one call"

# Rows come back as (account, transfer, failure): an account row locked, or an earlier
# attempt (a transfer, a recorded failure, or both), the other columns NULL.
# A row value IS NOT NULL only when every field is, so the probes test their ids.
# One index probe per asked id, whatever the planner's statistics say: a cached generic
# plan made while the tables were small once hashed the whole of ledger_transfer on every
# write, under the account locks. `OFFSET 0` keeps each LATERAL probe from being
# flattened back into that join.
_LOCK_FOR_WRITE = """
CREATE FUNCTION ledger_lock_for_write(account_ids uuid[], asked_ids uuid[])
RETURNS TABLE (account ledger_account, transfer ledger_transfer, failure ledger_failure)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY
        SELECT a, NULL::ledger_transfer, NULL::ledger_failure
        FROM ledger_account AS a WHERE a.id = ANY(account_ids) ORDER BY a.id FOR UPDATE;
    RETURN QUERY
        SELECT NULL::ledger_account, t.found, f.found
        FROM unnest(asked_ids) AS asked(id)
        LEFT JOIN LATERAL (
            SELECT lt AS found, lt.id FROM ledger_transfer AS lt WHERE lt.id = asked.id OFFSET 0
        ) AS t ON true
        LEFT JOIN LATERAL (
            SELECT lf AS found, lf.transfer_id AS id
            FROM ledger_failure AS lf WHERE lf.transfer_id = asked.id OFFSET 0
        ) AS f ON true
        WHERE t.id IS NOT NULL OR f.id IS NOT NULL;
END
$$
"""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_function() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl(_LOCK_FOR_WRITE)

    manager.add_raw(create_function)
    return manager

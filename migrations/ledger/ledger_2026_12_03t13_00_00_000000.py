"""Ledger: the account change log, and append-only rules for failures and reversal tallies.

- `ledger_account_change`: a hash chain per account over floor, ceiling and
  closed_at (ledger/account_changes.py), append-only like the entries; every
  existing account gets a first `backfilled` link holding its state as found.
- `ledger_failure`: SQLite's INSERT OR REPLACE deleted a recorded failure
  without firing its DELETE trigger; a colliding insert is now refused.
- `ledger_reversal_tally`: never decreases, never changes its transfer or
  original amount, is never deleted (nor replaced, nor truncated).
"""

from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from ledger.account_changes import backfill
from ledger.transactions import write_transaction

ID = "2026-12-03T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: account change log; failures and reversal tallies append-only"


def _change_table(uuid: str, instant: str) -> str:
    return f"""
        CREATE TABLE ledger_account_change (
            account_id {uuid} NOT NULL REFERENCES ledger_account (id),
            sequence BIGINT NOT NULL CHECK (sequence > 0),
            kind TEXT NOT NULL CHECK (
                kind IN ('opened', 'backfilled', 'limits', 'limits_override', 'closed')
            ),
            floor_minor BIGINT,
            ceiling_minor BIGINT,
            closed_at {instant},
            transfer_id {uuid} REFERENCES ledger_transfer (id),
            recorded_at {instant} NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (account_id, sequence),
            CONSTRAINT ledger_account_change_override_shape
                CHECK ((kind = 'limits_override') = (transfer_id IS NOT NULL))
        )
        """


def _refuse_sqlite(name: str, event: str, table: str, when: str, message: str) -> str:
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} {when} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


def _sqlite() -> list[str]:
    change = "ledger_account_change"
    return [
        _change_table("TEXT", "TEXT"),
        _refuse_sqlite(
            f"{change}_no_update",
            "UPDATE",
            change,
            "",
            f"ledger history is append-only: UPDATE on {change} refused",
        ),
        _refuse_sqlite(
            f"{change}_no_delete",
            "DELETE",
            change,
            "",
            f"ledger history is append-only: DELETE on {change} refused",
        ),
        _refuse_sqlite(
            f"{change}_no_replace",
            "INSERT",
            change,
            f"WHEN EXISTS (SELECT 1 FROM {change} WHERE account_id = NEW.account_id "
            "AND sequence = NEW.sequence)",
            f"ledger history is append-only: REPLACE on {change} refused",
        ),
        _refuse_sqlite(
            "ledger_failure_no_replace",
            "INSERT",
            "ledger_failure",
            "WHEN EXISTS (SELECT 1 FROM ledger_failure WHERE transfer_id = NEW.transfer_id)",
            "ledger history is append-only: REPLACE on ledger_failure refused",
        ),
        _refuse_sqlite(
            "ledger_reversal_tally_no_replace",
            "INSERT",
            "ledger_reversal_tally",
            "WHEN EXISTS (SELECT 1 FROM ledger_reversal_tally WHERE transfer_id = NEW.transfer_id)",
            "ledger reversal tallies only grow: REPLACE on ledger_reversal_tally refused",
        ),
        _refuse_sqlite(
            "ledger_reversal_tally_only_grows",
            "UPDATE",
            "ledger_reversal_tally",
            "WHEN NEW.reversed_minor < OLD.reversed_minor "
            "OR NEW.transfer_id IS NOT OLD.transfer_id "
            "OR NEW.original_minor IS NOT OLD.original_minor",
            "ledger reversal tallies only grow: UPDATE on ledger_reversal_tally refused",
        ),
        _refuse_sqlite(
            "ledger_reversal_tally_no_delete",
            "DELETE",
            "ledger_reversal_tally",
            "",
            "ledger reversal tallies only grow: DELETE on ledger_reversal_tally refused",
        ),
    ]


def _postgres() -> list[str]:
    change = "ledger_account_change"
    return [
        _change_table("UUID", "TIMESTAMPTZ"),
        # ledger_refuse_change() comes from the first ledger migration.
        f"CREATE TRIGGER {change}_append_only BEFORE UPDATE OR DELETE ON {change}"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        f"CREATE TRIGGER {change}_no_truncate BEFORE TRUNCATE ON {change}"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        """
        CREATE FUNCTION ledger_tally_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.reversed_minor < OLD.reversed_minor
               OR NEW.transfer_id IS DISTINCT FROM OLD.transfer_id
               OR NEW.original_minor IS DISTINCT FROM OLD.original_minor THEN
                RAISE EXCEPTION 'ledger reversal tallies only grow: UPDATE on % refused',
                    TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        "CREATE TRIGGER ledger_reversal_tally_only_grows BEFORE UPDATE ON ledger_reversal_tally"
        " FOR EACH ROW EXECUTE FUNCTION ledger_tally_only_grows()",
        "CREATE TRIGGER ledger_reversal_tally_no_delete BEFORE DELETE ON ledger_reversal_tally"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_reversal_tally_no_truncate BEFORE TRUNCATE ON ledger_reversal_tally"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    ]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_and_backfill() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        statements = _postgres() if isinstance(engine, PostgresEngine) else _sqlite()
        for statement in statements:
            await engine.run_ddl(statement)
        # Joins the migration's transaction: the log exists fully or not at all.
        async with write_transaction(engine) as transaction:
            await backfill(transaction.connection, datetime.now(UTC))

    manager.add_raw(create_and_backfill)
    return manager

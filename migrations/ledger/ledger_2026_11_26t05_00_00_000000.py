"""Ledger tables, with every rule a database can enforce written into the schema.

Raw DDL per engine (Piccolo cannot express composite foreign keys, CHECKs on
SQLite, partial indexes or triggers). Migrations are history: this file is
never edited once released; later changes come as new migrations.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: units, accounts, transfers, entries, failures, reversal tallies"

# Shared by both engines: only types and syntax that mean the same on each.
# UUID columns are `uuid` on PostgreSQL and TEXT on SQLite; instants are
# `timestamptz` on PostgreSQL and TEXT in a sortable UTC format on SQLite.


def _tables(uuid: str, instant: str, boolean: str) -> list[str]:
    return [
        """
        CREATE TABLE ledger_unit (
            code TEXT PRIMARY KEY,
            minor_unit TEXT NOT NULL,
            minor_per_major INTEGER NOT NULL CHECK (minor_per_major > 0)
        )
        """,
        "INSERT INTO ledger_unit (code, minor_unit, minor_per_major) VALUES "
        "('HOUR', 'minute', 60), ('GBP', 'penny', 100)",
        f"""
        CREATE TABLE ledger_account (
            id {uuid} PRIMARY KEY,
            unit TEXT NOT NULL REFERENCES ledger_unit (code),
            owner TEXT NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
            floor_minor BIGINT,
            ceiling_minor BIGINT,
            debits_posted BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
            credits_posted BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
            debits_pending BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
            credits_pending BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
            version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0),
            head_hash TEXT NOT NULL,
            created_at {instant} NOT NULL,
            updated_at {instant} NOT NULL,
            closed_at {instant},
            CONSTRAINT ledger_account_id_unit UNIQUE (id, unit),
            CONSTRAINT ledger_account_limits_ordered
                CHECK (floor_minor IS NULL OR ceiling_minor IS NULL OR floor_minor <= ceiling_minor),
            -- Pending debits count against the floor, pending credits against the
            -- ceiling: a hold can never be posted into a breach.
            CONSTRAINT ledger_account_floor CHECK (
                floor_minor IS NULL
                OR credits_posted - debits_posted - debits_pending >= floor_minor
            ),
            CONSTRAINT ledger_account_ceiling CHECK (
                ceiling_minor IS NULL
                OR credits_posted + credits_pending - debits_posted <= ceiling_minor
            )
        )
        """,
        f"""
        CREATE TABLE ledger_transfer (
            id {uuid} PRIMARY KEY,
            kind TEXT NOT NULL
                CHECK (kind IN ('single', 'pending', 'post', 'void', 'expire', 'reversal')),
            unit TEXT NOT NULL,
            debit_account_id {uuid} NOT NULL,
            credit_account_id {uuid} NOT NULL,
            amount_minor BIGINT NOT NULL CHECK (amount_minor > 0 AND amount_minor <= 100000000),
            pending_id {uuid} REFERENCES ledger_transfer (id),
            reverses_id {uuid} REFERENCES ledger_transfer (id),
            chain_id {uuid},
            expires_at {instant},
            code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
            memo TEXT NOT NULL CHECK (length(memo) <= 500),
            actor TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
            override_limits {boolean} NOT NULL,
            effective_at {instant} NOT NULL,
            recorded_at {instant} NOT NULL,
            -- Composite keys: both accounts must hold the transfer's unit.
            CONSTRAINT ledger_transfer_debit_unit FOREIGN KEY (debit_account_id, unit)
                REFERENCES ledger_account (id, unit),
            CONSTRAINT ledger_transfer_credit_unit FOREIGN KEY (credit_account_id, unit)
                REFERENCES ledger_account (id, unit),
            CONSTRAINT ledger_transfer_distinct_accounts
                CHECK (debit_account_id <> credit_account_id),
            CONSTRAINT ledger_transfer_resolution_shape
                CHECK ((kind IN ('post', 'void', 'expire')) = (pending_id IS NOT NULL)),
            CONSTRAINT ledger_transfer_reversal_shape
                CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
            CONSTRAINT ledger_transfer_expiry_shape
                CHECK ((kind = 'pending') = (expires_at IS NOT NULL)),
            CONSTRAINT ledger_transfer_override_shape
                CHECK (kind = 'reversal' OR override_limits = {"false" if boolean == "BOOLEAN" else "0"})
        )
        """,
        # At most one resolution (post, void or expire) per pending transfer.
        "CREATE UNIQUE INDEX ledger_transfer_one_resolution ON ledger_transfer (pending_id)"
        " WHERE pending_id IS NOT NULL",
        "CREATE INDEX ledger_transfer_reverses ON ledger_transfer (reverses_id)"
        " WHERE reverses_id IS NOT NULL",
        "CREATE INDEX ledger_transfer_chain ON ledger_transfer (chain_id)"
        " WHERE chain_id IS NOT NULL",
        "CREATE INDEX ledger_transfer_pending_expiry ON ledger_transfer (expires_at)"
        " WHERE kind = 'pending'",
        f"""
        CREATE TABLE ledger_entry (
            account_id {uuid} NOT NULL REFERENCES ledger_account (id),
            version BIGINT NOT NULL CHECK (version > 0),
            transfer_id {uuid} NOT NULL REFERENCES ledger_transfer (id),
            debits_posted BIGINT NOT NULL CHECK (debits_posted >= 0),
            credits_posted BIGINT NOT NULL CHECK (credits_posted >= 0),
            debits_pending BIGINT NOT NULL CHECK (debits_pending >= 0),
            credits_pending BIGINT NOT NULL CHECK (credits_pending >= 0),
            balance_minor BIGINT NOT NULL,
            recorded_at {instant} NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (account_id, version),
            CONSTRAINT ledger_entry_one_per_side UNIQUE (transfer_id, account_id),
            CONSTRAINT ledger_entry_balance CHECK (balance_minor = credits_posted - debits_posted)
        )
        """,
        # Balance as of an instant: one probe of this index.
        "CREATE INDEX ledger_entry_as_of ON ledger_entry (account_id, recorded_at, version)",
        # Reversals of one transfer never add up to more than the original.
        f"""
        CREATE TABLE ledger_reversal_tally (
            transfer_id {uuid} PRIMARY KEY REFERENCES ledger_transfer (id),
            original_minor BIGINT NOT NULL CHECK (original_minor > 0),
            reversed_minor BIGINT NOT NULL CHECK (reversed_minor > 0),
            CONSTRAINT ledger_reversal_within_original CHECK (reversed_minor <= original_minor)
        )
        """,
        # A business failure stays bound to its transfer id.
        f"""
        CREATE TABLE ledger_failure (
            transfer_id {uuid} PRIMARY KEY,
            request_json TEXT NOT NULL,
            error_code TEXT NOT NULL,
            error_json TEXT NOT NULL,
            recorded_at {instant} NOT NULL
        )
        """,
    ]


_IMMUTABLE_TABLES = ("ledger_transfer", "ledger_entry", "ledger_failure")


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in _IMMUTABLE_TABLES:
        for operation in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger history is append-only: "
                f"{operation} on {table} refused'); END"
            )
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers:
    # refuse any insert that would collide with a stored transfer or entry.
    statements.append(
        "CREATE TRIGGER ledger_transfer_no_replace BEFORE INSERT ON ledger_transfer "
        "WHEN EXISTS (SELECT 1 FROM ledger_transfer WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'ledger history is append-only: REPLACE on ledger_transfer "
        "refused'); END"
    )
    statements.append(
        "CREATE TRIGGER ledger_entry_no_replace BEFORE INSERT ON ledger_entry "
        "WHEN EXISTS (SELECT 1 FROM ledger_entry WHERE (account_id = NEW.account_id AND "
        "version = NEW.version) OR (transfer_id = NEW.transfer_id AND account_id = NEW.account_id)) "
        "BEGIN SELECT RAISE(ABORT, 'ledger history is append-only: REPLACE on ledger_entry "
        "refused'); END"
    )
    statements.append(
        """
        CREATE TRIGGER ledger_transfer_resolution_matches BEFORE INSERT ON ledger_transfer
        WHEN NEW.pending_id IS NOT NULL
        BEGIN
            SELECT RAISE(ABORT, 'ledger: a resolution must match its pending transfer')
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_transfer p
                WHERE p.id = NEW.pending_id AND p.kind = 'pending'
                  AND p.debit_account_id = NEW.debit_account_id
                  AND p.credit_account_id = NEW.credit_account_id
                  AND NEW.amount_minor <= p.amount_minor
                  AND (NEW.kind = 'post' OR NEW.amount_minor = p.amount_minor)
            );
        END
        """
    )
    statements.append(
        """
        CREATE TRIGGER ledger_transfer_reversal_matches BEFORE INSERT ON ledger_transfer
        WHEN NEW.reverses_id IS NOT NULL
        BEGIN
            SELECT RAISE(ABORT, 'ledger: a reversal must mirror a posted transfer')
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_transfer o
                WHERE o.id = NEW.reverses_id AND o.kind IN ('single', 'post')
                  AND o.debit_account_id = NEW.credit_account_id
                  AND o.credit_account_id = NEW.debit_account_id
                  AND NEW.amount_minor <= o.amount_minor
            );
        END
        """
    )
    return statements


def _postgres_triggers() -> list[str]:
    statements = [
        """
        CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """,
        """
        CREATE FUNCTION ledger_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.pending_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM ledger_transfer p
                WHERE p.id = NEW.pending_id AND p.kind = 'pending'
                  AND p.debit_account_id = NEW.debit_account_id
                  AND p.credit_account_id = NEW.credit_account_id
                  AND NEW.amount_minor <= p.amount_minor
                  AND (NEW.kind = 'post' OR NEW.amount_minor = p.amount_minor)
            ) THEN
                RAISE EXCEPTION 'ledger: a resolution must match its pending transfer'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.reverses_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM ledger_transfer o
                WHERE o.id = NEW.reverses_id AND o.kind IN ('single', 'post')
                  AND o.debit_account_id = NEW.credit_account_id
                  AND o.credit_account_id = NEW.debit_account_id
                  AND NEW.amount_minor <= o.amount_minor
            ) THEN
                RAISE EXCEPTION 'ledger: a reversal must mirror a posted transfer'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        "CREATE TRIGGER ledger_transfer_references BEFORE INSERT ON ledger_transfer"
        " FOR EACH ROW WHEN (NEW.pending_id IS NOT NULL OR NEW.reverses_id IS NOT NULL)"
        " EXECUTE FUNCTION ledger_check_references()",
    ]
    for table in _IMMUTABLE_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )
    return statements


def statements(postgres: bool) -> list[str]:
    if postgres:
        return _tables("UUID", "TIMESTAMPTZ", "BOOLEAN") + _postgres_triggers()
    return _tables("TEXT", "TEXT", "INTEGER") + _sqlite_triggers()


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_ledger_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in statements(isinstance(engine, PostgresEngine)):
            await engine.run_ddl(statement)

    manager.add_raw(create_ledger_schema)
    return manager

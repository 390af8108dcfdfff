"""Donations: chargebacks, refunds that wait for their payment, and admins' reprocessing.

- `donation_event.outcome` may also be `waiting` (a refund or chargeback whose
  payment is not recorded yet), `chargeback` and `chargeback_won`. The CHECK is
  part of the column: PostgreSQL swaps the constraint, SQLite (which cannot
  alter a constraint) rebuilds the table with its index and append-only triggers.
- `donation_payment.charged_back_pence`: what chargebacks currently hold back;
  refunds and chargebacks together never exceed the gift.
- `donation_chargeback`: each chargeback and each won dispute, one ledger
  transfer each. Append-only.
- `donation_event_payload`: the verified object of an event that matched
  nothing yet, kept so it can be replayed; deleted once it is resolved.
- `donation_event_replay`: every replay (automatic or by an admin). Append-only;
  at most one replay per event resolves it (a partial unique index).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-03T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "donations: chargebacks, waiting refunds, reprocessing unmatched events"

OUTCOMES = (
    "'donation', 'refund', 'fee', 'linked', 'subscription_ended', 'awaiting_payment', "
    "'unmatched', 'ignored', 'no_change', 'waiting', 'chargeback', 'chargeback_won'"
)
UNRESOLVED = "('unmatched', 'waiting')"

EVENT_COLUMNS = f"""
        id VARCHAR(255) PRIMARY KEY,
        type VARCHAR(100) NOT NULL,
        object_id VARCHAR(255) NOT NULL,
        outcome VARCHAR(20) NOT NULL CHECK (outcome IN ({OUTCOMES})),
        community UUID REFERENCES member_community (id),
        amount_pence INTEGER,
        detail TEXT NOT NULL CHECK (length(detail) <= 500),
        received_at TIMESTAMPTZ NOT NULL
"""

SQLITE_REBUILD_EVENTS = [
    f"CREATE TABLE donation_event_new ({EVENT_COLUMNS})",
    "INSERT INTO donation_event_new SELECT id, type, object_id, outcome, community,"
    " amount_pence, detail, received_at FROM donation_event",
    "DROP TABLE donation_event",  # its index and triggers go with it
    "ALTER TABLE donation_event_new RENAME TO donation_event",
    f"CREATE INDEX donation_event_unmatched ON donation_event (received_at)"
    f" WHERE outcome IN {UNRESOLVED}",
]

POSTGRES_WIDEN_EVENTS = [
    "ALTER TABLE donation_event DROP CONSTRAINT donation_event_outcome_check",
    f"ALTER TABLE donation_event ADD CONSTRAINT donation_event_outcome_check"
    f" CHECK (outcome IN ({OUTCOMES}))",
    "DROP INDEX donation_event_unmatched",
    f"CREATE INDEX donation_event_unmatched ON donation_event (received_at)"
    f" WHERE outcome IN {UNRESOLVED}",
]

SQLITE_CHARGED_BACK = [
    "ALTER TABLE donation_payment ADD COLUMN charged_back_pence INTEGER NOT NULL DEFAULT 0"
    " CHECK (charged_back_pence >= 0 AND refunded_pence + charged_back_pence <= amount_pence)"
]

POSTGRES_CHARGED_BACK = [
    "ALTER TABLE donation_payment ADD COLUMN charged_back_pence INTEGER NOT NULL DEFAULT 0"
    " CHECK (charged_back_pence >= 0)",
    "ALTER TABLE donation_payment ADD CONSTRAINT donation_payment_taken_back"
    " CHECK (refunded_pence + charged_back_pence <= amount_pence)",
]

NEW_TABLES = [
    """
    CREATE TABLE donation_chargeback (
        id UUID PRIMARY KEY,
        dispute_id VARCHAR(255) NOT NULL,
        kind VARCHAR(10) NOT NULL CHECK (kind IN ('chargeback', 'won')),
        payment UUID NOT NULL REFERENCES donation_payment (id),
        community UUID NOT NULL REFERENCES member_community (id),
        amount_pence INTEGER NOT NULL CHECK (amount_pence > 0),
        month CHAR(7) NOT NULL,
        happened_at TIMESTAMPTZ NOT NULL,
        UNIQUE (dispute_id, kind)
    )
    """,
    "CREATE INDEX donation_chargeback_month ON donation_chargeback (community, month)",
    """
    CREATE TABLE donation_event_payload (
        event_id VARCHAR(255) PRIMARY KEY REFERENCES donation_event (id),
        type VARCHAR(100) NOT NULL,
        payment_intent_id VARCHAR(255),
        object_json TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        kept_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX donation_event_payload_intent"
    " ON donation_event_payload (payment_intent_id, created_at)",
    f"""
    CREATE TABLE donation_event_replay (
        id UUID PRIMARY KEY,
        event_id VARCHAR(255) NOT NULL REFERENCES donation_event (id),
        outcome VARCHAR(20) NOT NULL CHECK (outcome IN ({OUTCOMES})),
        community UUID REFERENCES member_community (id),
        amount_pence INTEGER,
        detail TEXT NOT NULL CHECK (length(detail) <= 500),
        actor VARCHAR(120) NOT NULL,
        replayed_at TIMESTAMPTZ NOT NULL
    )
    """,
    f"CREATE UNIQUE INDEX donation_event_replay_once ON donation_event_replay (event_id)"
    f" WHERE outcome NOT IN {UNRESOLVED}",
    "CREATE INDEX donation_event_replay_event ON donation_event_replay (event_id, replayed_at)",
]

APPEND_ONLY = ("donation_event", "donation_chargeback", "donation_event_replay")


def _sqlite_append_only(tables: tuple[str, ...]) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in tables
        for operation in ("UPDATE", "DELETE")
    ]


def _postgres_append_only(tables: tuple[str, ...]) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        for table in tables
    ]


def statements(postgres: bool) -> list[str]:
    if postgres:
        # donation_event keeps its trigger from the first migration.
        return (
            POSTGRES_WIDEN_EVENTS
            + POSTGRES_CHARGED_BACK
            + NEW_TABLES
            + _postgres_append_only(APPEND_ONLY[1:])
        )
    return (
        SQLITE_REBUILD_EVENTS + SQLITE_CHARGED_BACK + NEW_TABLES + _sqlite_append_only(APPEND_ONLY)
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="donations", description=DESCRIPTION)

    async def add_chargebacks_and_replays() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in statements(isinstance(engine, PostgresEngine)):
            await engine.run_ddl(statement)

    manager.add_raw(add_chargebacks_and_replays)
    return manager

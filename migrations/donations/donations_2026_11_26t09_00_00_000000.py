"""Donations: checkouts opened with Stripe, gift aid declarations, payments, refunds, events.

Money itself lives in the ledger (GBP accounts of each community); these tables
say where each movement came from. Stripe events are recorded once each, keyed
by Stripe's event id; refunds and events are append-only.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "donations: checkouts, gift aid, payments, refunds and Stripe events"

OUTCOMES = (
    "'donation', 'refund', 'fee', 'linked', 'subscription_ended', 'awaiting_payment', "
    "'unmatched', 'ignored', 'no_change'"
)

COMMON = [
    """
    CREATE TABLE donation_checkout (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        member UUID REFERENCES member_member (id),
        amount_pence INTEGER NOT NULL CHECK (amount_pence BETWEEN 100 AND 100000),
        recurring BOOLEAN NOT NULL,
        gift_aid BOOLEAN NOT NULL,
        stripe_session_id VARCHAR(255) NOT NULL UNIQUE,
        checkout_url TEXT NOT NULL CHECK (length(checkout_url) <= 2000),
        subscription_id VARCHAR(255) UNIQUE,
        subscription_ended_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        CHECK (recurring OR subscription_id IS NULL)
    )
    """,
    "CREATE INDEX donation_checkout_community ON donation_checkout (community, created_at)",
    """
    CREATE TABLE donation_gift_aid (
        checkout UUID PRIMARY KEY REFERENCES donation_checkout (id),
        full_name VARCHAR(100) NOT NULL CHECK (length(full_name) BETWEEN 1 AND 100),
        home_address VARCHAR(300) NOT NULL CHECK (length(home_address) BETWEEN 1 AND 300),
        postcode VARCHAR(8) NOT NULL CHECK (length(postcode) BETWEEN 5 AND 8),
        declared_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE donation_payment (
        id UUID PRIMARY KEY,
        checkout UUID NOT NULL REFERENCES donation_checkout (id),
        community UUID NOT NULL REFERENCES member_community (id),
        stripe_object_id VARCHAR(255) NOT NULL UNIQUE,
        payment_intent_id VARCHAR(255) UNIQUE,
        recurring BOOLEAN NOT NULL,
        amount_pence INTEGER NOT NULL CHECK (amount_pence > 0),
        fee_pence INTEGER CHECK (fee_pence >= 0),
        refunded_pence INTEGER NOT NULL CHECK (refunded_pence BETWEEN 0 AND amount_pence),
        month CHAR(7) NOT NULL,
        paid_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX donation_payment_month ON donation_payment (community, month)",
    """
    CREATE TABLE donation_refund (
        id UUID PRIMARY KEY,
        payment UUID NOT NULL REFERENCES donation_payment (id),
        community UUID NOT NULL REFERENCES member_community (id),
        amount_pence INTEGER NOT NULL CHECK (amount_pence > 0),
        refunded_total_pence INTEGER NOT NULL CHECK (refunded_total_pence >= amount_pence),
        month CHAR(7) NOT NULL,
        refunded_at TIMESTAMPTZ NOT NULL,
        UNIQUE (payment, refunded_total_pence)
    )
    """,
    "CREATE INDEX donation_refund_month ON donation_refund (community, month)",
    f"""
    CREATE TABLE donation_event (
        id VARCHAR(255) PRIMARY KEY,
        type VARCHAR(100) NOT NULL,
        object_id VARCHAR(255) NOT NULL,
        outcome VARCHAR(20) NOT NULL CHECK (outcome IN ({OUTCOMES})),
        community UUID REFERENCES member_community (id),
        amount_pence INTEGER,
        detail TEXT NOT NULL CHECK (length(detail) <= 500),
        received_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX donation_event_unmatched ON donation_event (received_at)"
    " WHERE outcome = 'unmatched'",
]

APPEND_ONLY = ("donation_refund", "donation_event")

POSTGRES = [
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
    " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
    for table in APPEND_ONLY
]

SQLITE = [
    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in APPEND_ONLY
    for operation in ("UPDATE", "DELETE")
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="donations", description=DESCRIPTION)

    async def create_donations_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        postgres = isinstance(engine, PostgresEngine)
        for statement in COMMON + (POSTGRES if postgres else SQLITE):
            await engine.run_ddl(statement)

    manager.add_raw(create_donations_schema)
    return manager

"""Marketplace: categories, listings (with ranked text search), exchanges, idempotency keys.

Text search is engine-native: a stored tsvector with a GIN index on
PostgreSQL, an FTS5 table kept in step by triggers on SQLite (both rank).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market: categories, listings, exchanges, exchange history, idempotency keys"

CATEGORIES = [
    ("companionship", "Companionship"),
    ("shopping", "Shopping and errands"),
    ("transport", "Transport and lifts"),
    ("gardening", "Gardening"),
    ("household", "Household and DIY"),
    ("cooking", "Cooking and meals"),
    ("technology", "Technology help"),
    ("admin", "Admin and paperwork"),
    ("wellbeing", "Health and wellbeing (non-clinical)"),
    ("learning", "Learning and skills"),
    ("pets", "Pets"),
    ("family", "Childcare and family"),
    ("other", "Other"),
]

COMMON = [
    """
    CREATE TABLE market_category (
        id UUID PRIMARY KEY,
        slug VARCHAR(40) NOT NULL UNIQUE,
        name VARCHAR(80) NOT NULL,
        position INTEGER NOT NULL,
        active BOOLEAN NOT NULL
    )
    """,
    """
    CREATE TABLE market_listing (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        community UUID NOT NULL REFERENCES member_community (id),
        kind VARCHAR(10) NOT NULL CHECK (kind IN ('offer', 'request')),
        title VARCHAR(120) NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
        description TEXT NOT NULL CHECK (length(description) <= 2000),
        category UUID NOT NULL REFERENCES market_category (id),
        ward VARCHAR(80) NOT NULL,
        availability VARCHAR(200) NOT NULL,
        status VARCHAR(12) NOT NULL CHECK (status IN ('open', 'withdrawn')),
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX market_listing_browse ON market_listing (status, created_at, id)",
    "CREATE INDEX market_listing_member ON market_listing (member)",
    """
    CREATE TABLE market_exchange (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        provider UUID NOT NULL REFERENCES member_member (id),
        proposer UUID NOT NULL REFERENCES member_member (id),
        minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
        service_date TIMESTAMPTZ NOT NULL,
        description TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
        listing UUID REFERENCES market_listing (id),
        status VARCHAR(12) NOT NULL
            CHECK (status IN ('proposed', 'accepted', 'completed', 'cancelled', 'expired')),
        recorded_by UUID REFERENCES member_member (id),
        hold_expires_at TIMESTAMPTZ,
        chain_id UUID,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        CHECK ((status = 'accepted') = (hold_expires_at IS NOT NULL))
    )
    """,
    "CREATE INDEX market_exchange_provider ON market_exchange (provider, status)",
    "CREATE INDEX market_exchange_hold_expiry ON market_exchange (hold_expires_at)"
    " WHERE status = 'accepted'",
    """
    CREATE TABLE market_exchange_recipient (
        exchange UUID NOT NULL REFERENCES market_exchange (id),
        member UUID NOT NULL REFERENCES member_member (id),
        pending_transfer_id UUID,
        transfer_id UUID,
        PRIMARY KEY (exchange, member)
    )
    """,
    "CREATE INDEX market_exchange_recipient_member ON market_exchange_recipient (member)",
    """
    CREATE TABLE market_exchange_event (
        id UUID PRIMARY KEY,
        exchange UUID NOT NULL REFERENCES market_exchange (id),
        at TIMESTAMPTZ NOT NULL,
        actor UUID REFERENCES member_member (id),
        actor_label VARCHAR(120) NOT NULL,
        action VARCHAR(30) NOT NULL,
        note TEXT NOT NULL
    )
    """,
    "CREATE INDEX market_exchange_event_exchange ON market_exchange_event (exchange, at)",
    """
    CREATE TABLE market_idempotency_key (
        caller VARCHAR(80) NOT NULL,
        key VARCHAR(255) NOT NULL,
        method VARCHAR(10) NOT NULL,
        path VARCHAR(300) NOT NULL,
        body_sha256 VARCHAR(64) NOT NULL,
        status INTEGER NOT NULL,
        content_type VARCHAR(100) NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (caller, key)
    )
    """,
]

POSTGRES = [
    "ALTER TABLE market_listing ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', title), 'A') || "
    "setweight(to_tsvector('english', description), 'B')) STORED",
    "CREATE INDEX market_listing_search ON market_listing USING GIN (search)",
    "CREATE TRIGGER market_exchange_event_append_only BEFORE UPDATE OR DELETE"
    " ON market_exchange_event FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
]

SQLITE = [
    # External-content FTS5 over the listing's implicit rowid, kept in step by triggers.
    "CREATE VIRTUAL TABLE market_listing_fts USING fts5("
    "title, description, content='market_listing', content_rowid='rowid', "
    "tokenize='porter unicode61')",
    "CREATE TRIGGER market_listing_fts_insert AFTER INSERT ON market_listing BEGIN "
    "INSERT INTO market_listing_fts (rowid, title, description) "
    "VALUES (NEW.rowid, NEW.title, NEW.description); END",
    "CREATE TRIGGER market_listing_fts_delete AFTER DELETE ON market_listing BEGIN "
    "INSERT INTO market_listing_fts (market_listing_fts, rowid, title, description) "
    "VALUES ('delete', OLD.rowid, OLD.title, OLD.description); END",
    "CREATE TRIGGER market_listing_fts_update AFTER UPDATE OF title, description "
    "ON market_listing BEGIN "
    "INSERT INTO market_listing_fts (market_listing_fts, rowid, title, description) "
    "VALUES ('delete', OLD.rowid, OLD.title, OLD.description); "
    "INSERT INTO market_listing_fts (rowid, title, description) "
    "VALUES (NEW.rowid, NEW.title, NEW.description); END",
    "CREATE TRIGGER market_exchange_event_no_update BEFORE UPDATE ON market_exchange_event "
    "BEGIN SELECT RAISE(ABORT, 'exchange history is append-only'); END",
    "CREATE TRIGGER market_exchange_event_no_delete BEFORE DELETE ON market_exchange_event "
    "BEGIN SELECT RAISE(ABORT, 'exchange history is append-only'); END",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def create_market_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        postgres = isinstance(engine, PostgresEngine)
        for statement in COMMON + (POSTGRES if postgres else SQLITE):
            await engine.run_ddl(statement)
        for position, (slug, name) in enumerate(CATEGORIES):
            # Fixed ids (UUIDv5 of the slug) so every installation agrees.
            await engine.run_ddl(
                "INSERT INTO market_category (id, slug, name, position, active) VALUES "
                f"('{_category_id(slug)}', '{slug}', '{name}', {position}, "
                f"{'true' if postgres else '1'})"
            )

    manager.add_raw(create_market_schema)
    return manager


def _category_id(slug: str) -> str:
    import uuid  # noqa: PLC0415 - keeps this frozen migration self-contained

    return str(uuid.uuid5(uuid.UUID("6f1f3c2e-8d4b-5a8e-9c61-2b7f0e6d4a10"), f"category:{slug}"))

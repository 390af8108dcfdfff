"""SQLite: the listing search index keyed on a stable number of its own (ADR 0013).

The first market migration keyed the external-content FTS5 index on
market_listing's implicit rowid. SQLite documents that VACUUM may renumber the
rowids of a table without an INTEGER PRIMARY KEY (and a dump and reload, or a
table rebuild, does renumber them); the index would then point at the wrong
listings. Each listing now carries `search_rowid`, an explicit integer that
never changes, and the index is keyed on it:

- the column is added, filled from today's rowids and made unique;
- a new listing takes the next number in the trigger that indexes it (a BEFORE
  trigger cannot set NEW values in SQLite), and the number cannot change after;
- the FTS5 table is made again over the new key and rebuilt from the listings.

PostgreSQL keeps its stored tsvector column and is not touched.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "market (SQLite): listing search keyed on a stable search_rowid, not the rowid"

SQLITE = [
    "ALTER TABLE market_listing ADD COLUMN search_rowid INTEGER",
    "UPDATE market_listing SET search_rowid = rowid",
    "CREATE UNIQUE INDEX market_listing_search_rowid ON market_listing (search_rowid)",
    "DROP TRIGGER market_listing_fts_insert",
    "DROP TRIGGER market_listing_fts_delete",
    "DROP TRIGGER market_listing_fts_update",
    "DROP TABLE market_listing_fts",
    "CREATE VIRTUAL TABLE market_listing_fts USING fts5("
    "title, description, content='market_listing', content_rowid='search_rowid', "
    "tokenize='porter unicode61')",
    # Number the new listing (unless the insert gave one), then index it under that number.
    "CREATE TRIGGER market_listing_fts_insert AFTER INSERT ON market_listing BEGIN "
    "UPDATE market_listing SET search_rowid = "
    "(SELECT coalesce(max(search_rowid), 0) + 1 FROM market_listing) "
    "WHERE id = NEW.id AND search_rowid IS NULL; "
    "INSERT INTO market_listing_fts (rowid, title, description) "
    "SELECT search_rowid, title, description FROM market_listing WHERE id = NEW.id; END",
    "CREATE TRIGGER market_listing_search_rowid_fixed BEFORE UPDATE OF search_rowid "
    "ON market_listing WHEN OLD.search_rowid IS NOT NULL "
    "AND NEW.search_rowid IS NOT OLD.search_rowid BEGIN "
    "SELECT RAISE(ABORT, 'a listing keeps its search_rowid'); END",
    "CREATE TRIGGER market_listing_fts_delete AFTER DELETE ON market_listing BEGIN "
    "INSERT INTO market_listing_fts (market_listing_fts, rowid, title, description) "
    "VALUES ('delete', OLD.search_rowid, OLD.title, OLD.description); END",
    "CREATE TRIGGER market_listing_fts_update AFTER UPDATE OF title, description "
    "ON market_listing BEGIN "
    "INSERT INTO market_listing_fts (market_listing_fts, rowid, title, description) "
    "VALUES ('delete', OLD.search_rowid, OLD.title, OLD.description); "
    "INSERT INTO market_listing_fts (rowid, title, description) "
    "VALUES (NEW.search_rowid, NEW.title, NEW.description); END",
    "INSERT INTO market_listing_fts (market_listing_fts) VALUES ('rebuild')",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="market", description=DESCRIPTION)

    async def key_search_on_stable_number() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        if isinstance(engine, PostgresEngine):
            return
        for statement in SQLITE:
            await engine.run_ddl(statement)

    manager.add_raw(key_search_on_stable_number)
    return manager

"""Listing search survives the database compacting or renumbering its rows (ADR 0013).

On SQLite the FTS5 index is keyed on `search_rowid`, a number each listing
keeps, not on the rowid that VACUUM (or a dump and reload) may renumber.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from service import database
from tests.conftest import TestDatabase
from tests.ledger.raw_database import RawDatabase, raw_database
from tests.support.listings import create, titles
from tests.support.people import Town

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "market"
FIRST_MIGRATION = MIGRATIONS / "market_2026_11_26t07_00_00_000000.py"
SEARCH_KEY_MIGRATION_ID = "2026-11-26T12:00:00:000000"
# One word of its own for each listing, so each search must find exactly one.
WORDS = ("piano", "tomatoes", "bicycle", "knitting", "spreadsheets")


async def _publish(town: Town) -> dict[str, str]:
    """Word -> id of the listing whose title holds it (some edited, one withdrawn)."""
    ids: dict[str, str] = {}
    for word in WORDS:
        listing = await create(town, town.alice, title=f"Help with {word}", description="Gladly.")
        ids[word] = listing["id"]
    withdrawn = await create(town, town.alice, title="Lessons in origami")
    gone = await town.client.delete(
        f"/api/v1/listings/{withdrawn['id']}", headers=town.alice.headers
    )
    assert gone.status_code == 204, gone.text
    edited = await town.client.patch(
        f"/api/v1/listings/{ids['piano']}",
        headers=town.alice.headers,
        json={"description": "Scales and simple tunes."},
    )
    assert edited.status_code == 200, edited.text
    return ids


async def _assert_each_word_finds_its_listing(town: Town, ids: dict[str, str]) -> None:
    for word, listing_id in ids.items():
        response = await town.client.get(
            "/api/v1/listings", headers=town.bob.headers, params={"q": word}
        )
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [listing_id], word
    assert await titles(town, town.bob, q="origami") == []
    assert await titles(town, town.bob, q="scales") == ["Help with piano"]


async def _compact(db: TestDatabase) -> None:
    async with raw_database(db) as raw:
        # Each engine's whole-table rewrite: SQLite copies every table anew,
        # PostgreSQL's VACUUM FULL writes the listings to a new file.
        await raw.execute("VACUUM" if db.kind == "sqlite" else "VACUUM FULL market_listing")


async def test_search_finds_the_right_listings_after_vacuum(town: Town, db: TestDatabase) -> None:
    ids = await _publish(town)
    await _compact(db)
    await _assert_each_word_finds_its_listing(town, ids)
    later = await create(town, town.bob, title="Help with chutney")
    assert await titles(town, town.carol, q="chutney") == ["Help with chutney"]
    assert later["title"] == "Help with chutney"


# SQLite only: its rowids and its FTS5 index -------------------------------------------


async def _reverse_rowids(raw: RawDatabase) -> None:
    """Renumber the listings' rowids back to front, as VACUUM is allowed to renumber them."""
    top = await raw.fetchval("SELECT max(rowid) FROM market_listing")
    await raw.execute("UPDATE market_listing SET rowid = -rowid")
    await raw.execute("UPDATE market_listing SET rowid = $1 + rowid", top + 1)


async def _assert_index_matches_listings(raw: RawDatabase) -> None:
    # FTS5's own check of an external-content index against its content table.
    await raw.execute(
        "INSERT INTO market_listing_fts (market_listing_fts, rank) VALUES ('integrity-check', 1)"
    )


@pytest.mark.sqlite_only
async def test_search_follows_listings_whose_rowids_changed(town: Town, db: TestDatabase) -> None:
    ids = await _publish(town)
    async with raw_database(db) as raw:
        before = await raw.fetch("SELECT id, rowid, search_rowid FROM market_listing")
        await _reverse_rowids(raw)
        await raw.execute("VACUUM")
        after = await raw.fetch("SELECT id, rowid, search_rowid FROM market_listing")
        await _assert_index_matches_listings(raw)
    rowid_of = {row["id"]: row["rowid"] for row in before}
    assert all(rowid_of[row["id"]] != row["rowid"] for row in after), "rowids did not move"
    assert {(row["id"], row["search_rowid"]) for row in before} == {
        (row["id"], row["search_rowid"]) for row in after
    }
    await _assert_each_word_finds_its_listing(town, ids)


@pytest.mark.sqlite_only
async def test_new_listings_take_the_next_number_and_keep_it(town: Town, db: TestDatabase) -> None:
    first = await create(town, town.alice, title="Help with ironing")
    async with raw_database(db) as raw:
        await _reverse_rowids(raw)  # numbering must not follow the rowid
        second = await create(town, town.bob, title="Help with letters")
        numbers = {
            row["id"]: row["search_rowid"]
            for row in await raw.fetch("SELECT id, search_rowid FROM market_listing")
        }
        assert numbers[second["id"]] == numbers[first["id"]] + 1
        with pytest.raises(sqlite3.IntegrityError, match="keeps its search_rowid"):
            await raw.execute(
                "UPDATE market_listing SET search_rowid = 99 WHERE id = $1", first["id"]
            )
        with pytest.raises(sqlite3.IntegrityError, match="keeps its search_rowid"):
            await raw.execute(
                "UPDATE market_listing SET search_rowid = NULL WHERE id = $1", first["id"]
            )
        await _assert_index_matches_listings(raw)
    assert await titles(town, town.carol, q="letters") == ["Help with letters"]
    assert await titles(town, town.carol, q="ironing") == ["Help with ironing"]


def _first_market_migration() -> Any:
    spec = importlib.util.spec_from_file_location("first_market_migration", FIRST_MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _back_to_rowid_keyed_search(raw: RawDatabase) -> None:
    """Put the listings' search back as the first market migration made it."""
    for trigger in (
        "market_listing_fts_insert",
        "market_listing_fts_delete",
        "market_listing_fts_update",
        "market_listing_search_rowid_fixed",
    ):
        await raw.execute(f"DROP TRIGGER {trigger}")
    await raw.execute("DROP TABLE market_listing_fts")
    await raw.execute("DROP INDEX market_listing_search_rowid")
    await raw.execute("ALTER TABLE market_listing DROP COLUMN search_rowid")
    for statement in _first_market_migration().SQLITE:
        if "market_listing_fts" in statement:
            await raw.execute(statement)
    await raw.execute(
        "DELETE FROM migration WHERE app_name = 'market' AND name = $1", SEARCH_KEY_MIGRATION_ID
    )


@pytest.mark.sqlite_only
async def test_migration_numbers_existing_listings_and_rebuilds_the_index(
    town: Town, db: TestDatabase
) -> None:
    async with raw_database(db) as raw:
        await _back_to_rowid_keyed_search(raw)
    ids = await _publish(town)  # indexed by rowid, the old way

    assert await database.migrate(db.engine) == [f"market:{SEARCH_KEY_MIGRATION_ID}"]
    # `migrate` made the test's engine the active one; the app writes through its own.
    database.activate(town.app.state.engine)

    async with raw_database(db) as raw:
        rows = await raw.fetch("SELECT rowid, search_rowid FROM market_listing")
        assert all(row["search_rowid"] == row["rowid"] for row in rows)
        await _assert_index_matches_listings(raw)
        await _reverse_rowids(raw)
        await raw.execute("VACUUM")
        await _assert_index_matches_listings(raw)
    await _assert_each_word_finds_its_listing(town, ids)

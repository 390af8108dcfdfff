"""The audit log's filter indexes: made by a members migration, used by the filters."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from service import database
from tests.conftest import TestDatabase
from tests.ledger.raw_database import RawDatabase, raw_database
from tests.support.server import run_timebank

MIGRATION_ID = "2026-11-26T11:00:00:000000"
INDEX_COLUMNS = {
    "member_audit_actor_at": ["actor_id", "at", "id"],
    "member_audit_action_at": ["action", "at", "id"],
    "member_audit_target_at": ["target_type", "target_id", "at", "id"],
}
REPLACED_INDEX = "member_audit_target"
# One query per filter, shaped like the admin audit search: filter, newest first.
FILTER_QUERIES = {
    "member_audit_actor_at": "actor_id = $1",
    "member_audit_action_at": "action = $1",
    "member_audit_target_at": "target_type = 'member' AND target_id = $1",
}


async def _audit_indexes(raw: RawDatabase) -> dict[str, list[str]]:
    """Index name -> its columns in order, for every index on member_audit."""
    if raw.is_postgres:
        rows = await raw.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'member_audit'"
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            match = re.search(r"\(([^)]*)\)\s*$", row["indexdef"])
            assert match, row
            found[row["indexname"]] = [column.strip() for column in match.group(1).split(",")]
        return found
    names = await raw.fetch(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'member_audit'"
    )
    return {
        row["name"]: [
            info["name"]
            for info in await raw.fetch(
                "SELECT name FROM pragma_index_info($1) ORDER BY seqno", row["name"]
            )
        ]
        for row in names
    }


def _assert_filter_indexes(found: dict[str, list[str]]) -> None:
    for name, columns in INDEX_COLUMNS.items():
        assert found.get(name) == columns, (name, found)
    assert REPLACED_INDEX not in found
    assert found.get("member_audit_at") == ["at"]


async def test_the_filter_indexes_exist(db: TestDatabase) -> None:
    async with raw_database(db) as raw:
        _assert_filter_indexes(await _audit_indexes(raw))


async def _plan(raw: RawDatabase, where: str) -> str:
    query = f"SELECT id FROM member_audit WHERE {where} ORDER BY at DESC, id DESC LIMIT 50"
    argument = str(uuid.uuid4())
    if raw.is_postgres:
        # An empty table is cheapest to scan whole; ask the planner for its index choice.
        await raw.execute("SET enable_seqscan = off")
        query = query.replace("actor_id = $1", "actor_id = $1::uuid")
        rows = await raw.fetch(f"EXPLAIN {query}", argument)
        return "\n".join(row["QUERY PLAN"] for row in rows)
    rows = await raw.fetch(f"EXPLAIN QUERY PLAN {query}", argument)
    return "\n".join(str(row["detail"]) for row in rows)


async def test_each_filter_reads_its_own_index(db: TestDatabase) -> None:
    async with raw_database(db) as raw:
        for index, where in FILTER_QUERIES.items():
            plan = await _plan(raw, where)
            assert index in plan, (index, plan)


async def test_migrating_again_changes_nothing(db: TestDatabase, tmp_path: Path) -> None:
    assert await database.migrate(db.engine) == []
    migrated = run_timebank(db, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    async with raw_database(db) as raw:
        _assert_filter_indexes(await _audit_indexes(raw))


async def test_a_database_from_before_gets_the_indexes(db: TestDatabase) -> None:
    async with raw_database(db) as raw:
        # Put the database back as the first members migration left it.
        for name in INDEX_COLUMNS:
            await raw.execute(f"DROP INDEX {name}")
        await raw.execute(f"CREATE INDEX {REPLACED_INDEX} ON member_audit (target_type, target_id)")
        await raw.execute(
            "DELETE FROM migration WHERE app_name = 'members' AND name = $1", MIGRATION_ID
        )
        assert not set(INDEX_COLUMNS) & set(await _audit_indexes(raw))

    assert await database.pending_migrations(db.engine) == [f"members:{MIGRATION_ID}"]
    assert await database.migrate(db.engine) == [f"members:{MIGRATION_ID}"]
    assert await database.pending_migrations(db.engine) == []
    async with raw_database(db) as raw:
        _assert_filter_indexes(await _audit_indexes(raw))

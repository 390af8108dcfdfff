"""The hot point reads probe an index per id, whatever the planner's statistics say.

A prepared statement keeps a generic plan. Made while a table is small and not yet
analysed, a plain join of `unnest(...)` to it hashes the whole table; the plan is
kept while the table grows, so each gift's reads (the earlier attempts are read
under the account locks) would cost more with every transfer written.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from ledger.plain_batch import DECLINED_SQLSTATE, PLAIN_BATCH_CALL
from service.exchanges import selectors as exchange_selectors
from service.transfers import services as transfer_services
from tests.conftest import TestDatabase
from tests.ledger.raw_database import RawDatabase, raw_database

EARLIER_ATTEMPT_TABLES = {"ledger_transfer", "ledger_failure"}


def _scanned_whole(plan: dict[str, Any]) -> set[str]:
    """Tables a plan reads from end to end (sequential scans)."""
    found = {plan["Relation Name"]} if plan["Node Type"] == "Seq Scan" else set()
    for child in plan.get("Plans", ()):
        found |= _scanned_whole(child)
    return found


async def _generic_plan(raw: RawDatabase, sql: str, types: str, arguments: str) -> dict[str, Any]:
    # The plan a long-lived connection keeps: generic, made from today's statistics.
    await raw.execute("SET plan_cache_mode = force_generic_plan")
    await raw.execute(f"PREPARE point_read({types}) AS {sql}")
    rows = await raw.fetch(f"EXPLAIN (FORMAT JSON) EXECUTE point_read({arguments})")
    plan: dict[str, Any] = json.loads(next(iter(rows[0].values())))[0]["Plan"]
    return plan


def _uuid_array(count: int) -> str:
    return "'{" + ",".join(str(uuid.uuid4()) for _ in range(count)) + "}'"


async def test_earlier_attempts_probe_each_id(db: TestDatabase) -> None:
    """On PostgreSQL they are read inside `ledger_lock_for_write` (ADR 0068), whose
    statements PL/pgSQL prepares and keeps like any other: auto_explain reports the
    plans it runs them with, generic ones forced."""
    if db.kind == "sqlite":
        await _assert_sqlite_searches(db, "ledger_transfer", "ledger_failure")
        return
    async with raw_database(db) as raw:
        plans = await _plans_run_inside(
            raw,
            "SELECT * FROM ledger_lock_for_write($1, $2)",
            [uuid.uuid4() for _ in range(8)],
            [uuid.uuid4() for _ in range(8)],
        )
    earlier = [plan for plan in plans if "ledger_transfer" in json.dumps(plan)]
    assert earlier, plans  # the earlier attempts' statement was seen
    for plan in earlier:
        assert not _scanned_whole(plan) & EARLIER_ATTEMPT_TABLES, json.dumps(plan, indent=1)


@pytest.mark.postgres_only
async def test_the_plain_batch_probes_each_id(db: TestDatabase) -> None:
    """`ledger_post_plain_batch` (ADR 0070) reads the earlier attempts under the account
    locks too, with a plan PL/pgSQL keeps: one index probe per id. (Accounts never opened:
    the call declines once it has read them, and the plans it ran are reported.)"""
    ids = [uuid.uuid4() for _ in range(8)]
    async with raw_database(db) as raw:
        plans = await _plans_run_inside(
            raw,
            PLAIN_BATCH_CALL,
            ids,
            [uuid.uuid4() for _ in ids],
            [uuid.uuid4() for _ in ids],
            [1 for _ in ids],
            ["HOUR" for _ in ids],
            ["gift" for _ in ids],
            ["" for _ in ids],
            ["member:test" for _ in ids],
            [None for _ in ids],
            ["" for _ in ids],
            datetime.now(UTC),
            declined_with=DECLINED_SQLSTATE,
        )
    earlier = [plan for plan in plans if "ledger_transfer" in json.dumps(plan)]
    assert earlier, plans  # the earlier attempts' statement was seen
    for plan in earlier:
        assert not _scanned_whole(plan) & EARLIER_ATTEMPT_TABLES, json.dumps(plan, indent=1)


async def _plans_run_inside(
    raw: RawDatabase, sql: str, *args: Any, declined_with: str | None = None
) -> list[dict[str, Any]]:
    """The plans of the statements a function call runs, generic ones forced; a call that
    raises `declined_with` has its plans reported all the same."""
    connection = raw.postgres_connection()
    for setting in (
        "LOAD 'auto_explain'",
        "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_nested_statements = on",
        "SET auto_explain.log_format = json",
        "SET client_min_messages = log",  # the plans come to this connection as notices
        "SET plan_cache_mode = force_generic_plan",
    ):
        await connection.execute(setting)
    notices: list[str] = []
    connection.add_log_listener(lambda _connection, message: notices.append(message.message))
    try:
        await connection.fetch(sql, *args)
    except asyncpg.PostgresError as error:
        if declined_with is None or error.sqlstate != declined_with:
            raise
    plans = []
    for notice in notices:
        if "plan:" in notice:
            explained = json.loads(notice[notice.index("{") :])
            plans.append(explained["Plan"])
    return plans


async def test_gift_recipients_probe_each_member(db: TestDatabase) -> None:
    if db.kind == "sqlite":
        await _assert_sqlite_searches(db, "member_member")
        return
    async with raw_database(db) as raw:
        plan = await _generic_plan(
            raw,
            transfer_services._GIFT_RECIPIENTS_POSTGRES,
            "uuid[], uuid[]",
            f"{_uuid_array(8)}, {_uuid_array(8)}",
        )
    assert "member_member" not in _scanned_whole(plan), json.dumps(plan, indent=1)


async def _assert_sqlite_searches(db: TestDatabase, *tables: str) -> None:
    """SQLite reads these one id at a time by primary key (no shared statement there)."""
    async with raw_database(db) as raw:
        for table in tables:
            column = "transfer_id" if table == "ledger_failure" else "id"
            rows = await raw.fetch(
                f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {column} IN ($1, $2)",
                str(uuid.uuid4()),
                str(uuid.uuid4()),
            )
            details = " ".join(str(row["detail"]) for row in rows)
            assert details.startswith(f"SEARCH {table} USING"), details


EXCHANGE_VIEW_READS = {
    "exchanges": exchange_selectors._EXCHANGES,
    "recipients": exchange_selectors._RECIPIENTS,
    "events": exchange_selectors._EVENTS,
    "agreements": exchange_selectors._AGREEMENTS,
    "people": exchange_selectors._PEOPLE,
}


async def test_exchange_view_reads_probe_each_id(db: TestDatabase) -> None:
    # Read three or four times on every exchange step (service/exchanges/selectors.py).
    async with raw_database(db) as raw:
        for name, read in EXCHANGE_VIEW_READS.items():
            if db.kind == "sqlite":
                rows = await raw.fetch(
                    f"EXPLAIN QUERY PLAN {read.sqlite(2)}", str(uuid.uuid4()), str(uuid.uuid4())
                )
                details = " ".join(str(row["detail"]) for row in rows)
                assert details.startswith(f"SEARCH {read.table} USING"), (name, details)
                continue
            await raw.execute("DEALLOCATE ALL")
            plan = await _generic_plan(raw, read.postgres, "uuid[]", _uuid_array(8))
            assert read.table not in _scanned_whole(plan), (name, json.dumps(plan, indent=1))

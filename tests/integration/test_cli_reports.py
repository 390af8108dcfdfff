"""`timebank reports rebuild` as a real process on both engines.

The demo posts exchanges, dispute corrections and pool flows with their
rollups. Emptying the reports tables leaves a database like one from before
the reports existed; the rebuild must bring back exactly the same rollups,
and a second run must change nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ledger.transactions import read_connection, write_transaction
from tests.conftest import TestDatabase
from tests.support.server import run_timebank

ROLLUP_TABLES = (
    "reports_flow",
    "reports_cell",
    "reports_cell_member",
    "reports_member_month",
    "reports_member_year",
)
# Mirrors of postings, then the figures derived from them.
ALL_REPORT_TABLES = ("reports_flow_change", *ROLLUP_TABLES)


async def rollups_of(db: TestDatabase) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the rollup tables, as sorted text (equal on both engines' types)."""

    def text(row: Any) -> tuple[str, ...]:
        return tuple(str(value) for value in dict(row).values())

    found: dict[str, list[tuple[str, ...]]] = {}
    async with read_connection(db.engine) as connection:
        for table in ROLLUP_TABLES:
            found[table] = sorted(
                text(row) for row in await connection.fetch(f"SELECT * FROM {table}")
            )
    return found


async def forget_the_reports(db: TestDatabase) -> None:
    async with write_transaction(db.engine) as transaction:
        for table in ALL_REPORT_TABLES:
            await transaction.connection.execute(f"DELETE FROM {table}")


async def sources_mirrored(db: TestDatabase) -> int:
    async with read_connection(db.engine) as connection:
        rows = await connection.fetch("SELECT COUNT(*) AS n FROM reports_flow_change")
    return int(rows[0]["n"])


async def test_rebuild_restores_the_rollups_of_an_older_database_and_is_safe_to_repeat(
    db: TestDatabase, tmp_path: Path
) -> None:
    demo = run_timebank(db, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    live = await rollups_of(db)
    mirrored = await sources_mirrored(db)
    assert live["reports_flow"] and live["reports_cell"]
    assert any(table for table in live["reports_flow"] if "donation" in table)  # pool flows too

    await forget_the_reports(db)
    assert all(not rows for rows in (await rollups_of(db)).values())

    first = run_timebank(db, tmp_path, "reports", "rebuild")
    assert first.returncode == 0, first.stderr
    assert "rollups agree with the recorded flows" in first.stdout
    # The demo has exchanges, one adjusted by a dispute, and pool donations and grants.
    replayed = re.search(
        r"looked at (\d+) exchange postings, (\d+) corrections and (\d+) pool", first.stdout
    )
    assert replayed is not None, first.stdout
    assert all(int(count) > 0 for count in replayed.groups()), first.stdout
    assert await rollups_of(db) == live
    assert await sources_mirrored(db) == mirrored

    second = run_timebank(db, tmp_path, "reports", "rebuild")
    assert second.returncode == 0, second.stderr
    assert await rollups_of(db) == live
    assert await sources_mirrored(db) == mirrored


async def test_rebuild_on_a_database_with_its_rollups_changes_nothing(
    db: TestDatabase, tmp_path: Path
) -> None:
    demo = run_timebank(db, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    live = await rollups_of(db)
    result = run_timebank(db, tmp_path, "reports", "rebuild")
    assert result.returncode == 0, result.stderr
    assert await rollups_of(db) == live

"""kill -9 loses nothing acknowledged with `?synchronous=normal` either (ADR 0024).

NORMAL in WAL mode skips the fsync at each commit, not the write: a killed
process leaves its committed transactions in the operating system's page
cache and the WAL file, so the bank test of tests/ledger/test_crash.py must
hold unchanged. (Power loss is what NORMAL risks; no test here can cut it.)
"""

from __future__ import annotations

import dataclasses

import pytest

from ledger import Ledger
from tests.conftest import TestDatabase
from tests.ledger.crash_check import killed_writer_leaves_whole_batches_or_nothing

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize("mode", ["loop", "hold"])
async def test_killed_writer_with_synchronous_normal_loses_nothing_acknowledged(
    db: TestDatabase, mode: str
) -> None:
    # The writer process opens the database with NORMAL; this process checks it.
    normal = dataclasses.replace(db, url=f"{db.url}?synchronous=normal")
    await killed_writer_leaves_whole_batches_or_nothing(normal, Ledger(db.engine), mode)

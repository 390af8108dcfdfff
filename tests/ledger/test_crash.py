"""kill -9 a writer mid-batch, on both engines: every batch is whole or absent, and
everything the writer acknowledged is there (the check lives in crash_check.py so the
SQLite `synchronous=normal` test can run it too)."""

from __future__ import annotations

import pytest

from ledger import Ledger
from tests.conftest import TestDatabase
from tests.ledger.crash_check import killed_writer_leaves_whole_batches_or_nothing


@pytest.mark.parametrize("mode", ["loop", "hold"])
async def test_killed_writer_leaves_whole_batches_or_nothing(
    db: TestDatabase, ledger: Ledger, mode: str
) -> None:
    await killed_writer_leaves_whole_batches_or_nothing(db, ledger, mode)

"""Fixtures for tests that move value through the app: after every test the ledger
verifies clean and every unit's balances sum to zero. Import them in a conftest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ledger import Ledger, Unit
from service import database
from tests.conftest import TestDatabase


@pytest.fixture
def reader(db: TestDatabase) -> Ledger:
    """A ledger of its own (no group commit) for the test's direct reads, beside the app's."""
    return Ledger(database.engine_from_url(db.url), group_commit=False)


@pytest.fixture(autouse=True)
async def ledger_stays_clean(db: TestDatabase) -> AsyncIterator[None]:
    yield
    ledger = Ledger(database.engine_from_url(db.url), group_commit=False)
    report = await ledger.verify()
    assert report.ok, report.summary()
    for unit in Unit:
        trial = await ledger.trial_balance(unit=unit)
        assert trial.balanced
        assert sum(row.balance_minor for row in trial.rows) == 0

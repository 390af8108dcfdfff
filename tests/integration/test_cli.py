"""The `timebank` command run as a real process against the test database."""

from __future__ import annotations

from pathlib import Path

from ledger import Ledger, Unit, write_transaction
from tests.conftest import TestDatabase
from tests.ledger.conftest import new_id
from tests.support.server import run_timebank


async def _some_history(db: TestDatabase) -> Ledger:
    ledger = Ledger(db.engine)
    issuance = await ledger.open_account(unit=Unit.HOUR, owner="issuance", floor_minor=None)
    alice = await ledger.open_account(unit=Unit.HOUR, owner="member:alice")
    for amount in (30, 45):
        await ledger.transfer(
            id=new_id(),
            debit_account_id=issuance.id,
            credit_account_id=alice.id,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="grant",
            actor="system",
        )
    return ledger


async def test_ledger_verify_reports_a_clean_ledger(db: TestDatabase, tmp_path: Path) -> None:
    await _some_history(db)
    result = run_timebank(db, tmp_path, "ledger", "verify")
    assert result.returncode == 0, result.stderr
    assert "ledger verified: 2 accounts, 4 entries, 2 transfers" in result.stdout


async def test_ledger_verify_names_an_altered_account_row(db: TestDatabase, tmp_path: Path) -> None:
    ledger = await _some_history(db)
    alice = next(
        row
        for row in (await ledger.trial_balance(unit=Unit.HOUR)).rows
        if row.owner == "member:alice"
    )
    # Account rows are updatable (balances live there), so no trigger needs disabling.
    async with write_transaction(db.engine) as transaction:
        await transaction.connection.execute(
            "UPDATE ledger_account SET credits_posted = credits_posted + 60 WHERE id = $1",
            alice.account_id,
        )
    result = run_timebank(db, tmp_path, "ledger", "verify")
    assert result.returncode == 3
    assert "account_counters" in result.stderr
    assert str(alice.account_id) in result.stderr


async def test_migrate_then_version(db: TestDatabase, tmp_path: Path) -> None:
    migrated = run_timebank(db, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    version = run_timebank(db, tmp_path, "version")
    assert version.stdout.startswith("timebank ")

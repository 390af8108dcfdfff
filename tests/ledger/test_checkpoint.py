"""Checkpoints (issue 13 item 6, ADR 0017): tamper evidence anchored outside the database.

Each forgery here is one a person with full database access (triggers
dropped) can make so that plain verify() still passes: cutting off the
newest transfer and rewinding the account rows, or rewriting an old transfer
and recomputing every hash after it, or rewinding an account's limits and
their change log. A checkpoint signed before the forgery names each one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger import (
    Checkpoint,
    CheckpointInvalid,
    CheckpointKeyInvalid,
    Ledger,
    Transfer,
    Unit,
)
from ledger.checkpoint import (
    CHECKPOINT_KEY_ENV,
    checkpoint_from_text,
    checkpoint_key,
    checkpoint_to_text,
    load_checkpoint,
    save_checkpoint,
)
from ledger.hashing import entry_hash, genesis_hash
from ledger.rows import TRANSFER_COLUMNS, transfer_from_row
from tests.conftest import FAST_PASSWORD_HASHING, TEST_SECRET_KEY, TestDatabase
from tests.ledger.conftest import Clock, new_id
from tests.ledger.raw_database import RawDatabase, raw_database

KEY = b"k" * 32
ROOT = Path(__file__).resolve().parents[2]


async def _history(ledger: Ledger, clock: Clock) -> tuple[UUID, UUID, list[Transfer]]:
    issuance = await ledger.open_account(unit=Unit.HOUR, owner="issuance", floor_minor=None)
    alice = await ledger.open_account(unit=Unit.HOUR, owner="member:alice")
    bob = await ledger.open_account(unit=Unit.HOUR, owner="member:bob")
    moves: list[Transfer] = []
    for debit, credit, amount in (
        (issuance.id, alice.id, 120),
        (alice.id, bob.id, 30),
        (alice.id, bob.id, 45),
    ):
        clock.advance(minutes=1)
        moves.append(
            await ledger.transfer(
                id=new_id(),
                debit_account_id=debit,
                credit_account_id=credit,
                amount_minor=amount,
                unit=Unit.HOUR,
                code="exchange",
                actor="member:test",
                memo="gardening",
            )
        )
    return alice.id, bob.id, moves


async def _signed_checkpoint(ledger: Ledger, tmp_path: Path) -> Checkpoint:
    report, checkpoint = await ledger.checkpoint()
    assert report.ok and checkpoint is not None, report.summary()
    path = tmp_path / "ledger.checkpoint"
    save_checkpoint(path, checkpoint, KEY)
    return load_checkpoint(path, KEY)


async def _entries(raw: RawDatabase, account_id: UUID) -> list[dict[str, Any]]:
    return await raw.fetch(
        "SELECT * FROM ledger_entry WHERE account_id = $1 ORDER BY version", account_id
    )


def _rewind_row(account_id: UUID, unit: Unit, last: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """Set an account row back to its entry `last` (None: no entries)."""
    counters = (
        [last[n] for n in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")]
        if last
        else [0, 0, 0, 0]
    )
    return (
        (
            "UPDATE ledger_account SET debits_posted = $2, credits_posted = $3, "
            "debits_pending = $4, credits_pending = $5, version = $6, head_hash = $7 "
            "WHERE id = $1"
        ),
        [
            account_id,
            *counters,
            last["version"] if last else 0,
            last["hash"] if last else genesis_hash(account_id, unit),
        ],
    )


async def _cut_newest_transfer(raw: RawDatabase, transfer: Transfer) -> None:
    statements: list[tuple[str, list[Any]]] = [
        ("DELETE FROM ledger_entry WHERE transfer_id = $1", [transfer.id]),
        ("DELETE FROM ledger_transfer WHERE id = $1", [transfer.id]),
    ]
    for account_id in (transfer.debit_account_id, transfer.credit_account_id):
        entries = await _entries(raw, account_id)
        statements.append(
            _rewind_row(account_id, transfer.unit, entries[-2] if len(entries) > 1 else None)
        )
    await raw.tamper(statements)


async def _rechain(raw: RawDatabase, account_id: UUID, unit: Unit) -> list[tuple[str, list[Any]]]:
    """Statements recomputing every hash of an account's chain from its current rows."""
    statements: list[tuple[str, list[Any]]] = []
    previous = genesis_hash(account_id, unit)
    for entry in await _entries(raw, account_id):
        (row,) = await raw.fetch(
            f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfer WHERE id = $1", entry["transfer_id"]
        )
        digest = entry_hash(
            previous_hash=previous,
            account_id=account_id,
            version=entry["version"],
            transfer=transfer_from_row(row),
            counters_after=(
                entry["debits_posted"],
                entry["credits_posted"],
                entry["debits_pending"],
                entry["credits_pending"],
            ),
        )
        statements.append(
            (
                (
                    "UPDATE ledger_entry SET previous_hash = $3, hash = $4 "
                    "WHERE account_id = $1 AND version = $2"
                ),
                [account_id, entry["version"], previous, digest],
            )
        )
        previous = digest
    statements.append(
        ("UPDATE ledger_account SET head_hash = $2 WHERE id = $1", [account_id, previous])
    )
    return statements


async def _rewrite_memo_and_rechain(raw: RawDatabase, transfer: Transfer) -> None:
    await raw.tamper([("UPDATE ledger_transfer SET memo = 'mowing' WHERE id = $1", [transfer.id])])
    for account_id in (transfer.debit_account_id, transfer.credit_account_id):
        await raw.tamper(await _rechain(raw, account_id, transfer.unit))


async def test_a_cut_off_tail_passes_verify_but_not_the_checkpoint(
    ledger: Ledger, clock: Clock, db: TestDatabase, tmp_path: Path
) -> None:
    alice, bob, moves = await _history(ledger, clock)
    checkpoint = await _signed_checkpoint(ledger, tmp_path)
    # Writes after the checkpoint are history growing, not tampering.
    await ledger.set_limits(account_id=bob, floor_minor=0, ceiling_minor=900)
    clock.advance(minutes=1)
    later = await ledger.transfer(
        id=new_id(),
        debit_account_id=alice,
        credit_account_id=bob,
        amount_minor=5,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:test",
    )
    assert (await ledger.verify(checkpoint=checkpoint)).ok

    async with raw_database(db) as raw:
        await _cut_newest_transfer(raw, later)  # after the checkpoint: not provable
        assert (await ledger.verify()).ok
        assert (await ledger.verify(checkpoint=checkpoint)).ok
        await _cut_newest_transfer(raw, moves[-1])  # signed by the checkpoint

    plain = await ledger.verify()
    assert plain.ok, plain.summary()  # the forgery is consistent with itself
    anchored = await ledger.verify(checkpoint=checkpoint)
    assert anchored.discrepancy is not None
    assert (anchored.discrepancy.check, anchored.discrepancy.account_id) == (
        "checkpoint_entries",
        min(alice, bob),  # heads are compared in account id order
    )
    # alice's entry 3 and bob's entry 2 were the heads signed, and are gone.
    assert anchored.discrepancy.version == (3 if min(alice, bob) == alice else 2)


async def test_a_rewritten_transfer_with_recomputed_hashes_is_caught(
    ledger: Ledger, clock: Clock, db: TestDatabase, tmp_path: Path
) -> None:
    alice, bob, moves = await _history(ledger, clock)
    checkpoint = await _signed_checkpoint(ledger, tmp_path)
    async with raw_database(db) as raw:
        await _rewrite_memo_and_rechain(raw, moves[1])
        memo = await raw.fetchval("SELECT memo FROM ledger_transfer WHERE id = $1", moves[1].id)
    assert memo == "mowing"
    assert (await ledger.verify()).ok
    anchored = await ledger.verify(checkpoint=checkpoint)
    assert anchored.discrepancy is not None
    assert anchored.discrepancy.check == "checkpoint_entries"
    assert anchored.discrepancy.account_id in (alice, bob)


async def test_rewound_limits_with_their_change_log_are_caught(
    ledger: Ledger, clock: Clock, db: TestDatabase, tmp_path: Path
) -> None:
    _, bob, _ = await _history(ledger, clock)
    await ledger.set_limits(account_id=bob, floor_minor=0, ceiling_minor=75)
    checkpoint = await _signed_checkpoint(ledger, tmp_path)
    async with raw_database(db) as raw:
        await raw.tamper(
            [
                ("DELETE FROM ledger_account_change WHERE account_id = $1 AND sequence = 2", [bob]),
                ("UPDATE ledger_account SET ceiling_minor = NULL WHERE id = $1", [bob]),
            ]
        )
    assert (await ledger.verify()).ok
    anchored = await ledger.verify(checkpoint=checkpoint)
    assert anchored.discrepancy is not None
    assert (anchored.discrepancy.check, anchored.discrepancy.account_id) == (
        "checkpoint_account_changes",
        bob,
    )


async def test_a_checkpoint_is_refused_unless_signed_by_the_key(
    ledger: Ledger, clock: Clock
) -> None:
    await _history(ledger, clock)
    _, checkpoint = await ledger.checkpoint()
    assert checkpoint is not None
    text = checkpoint_to_text(checkpoint, KEY)
    assert checkpoint_from_text(text, KEY) == checkpoint
    with pytest.raises(CheckpointInvalid):
        checkpoint_from_text(text, b"x" * 32)  # another key
    forged = text.replace(f'"entries": {checkpoint.entries}', '"entries": 1')
    assert forged != text
    with pytest.raises(CheckpointInvalid):
        checkpoint_from_text(forged, KEY)  # edited after signing
    with pytest.raises(CheckpointInvalid):
        checkpoint_from_text("not json", KEY)
    with pytest.raises(CheckpointKeyInvalid):
        checkpoint_key({CHECKPOINT_KEY_ENV: "short"})
    assert checkpoint_key({CHECKPOINT_KEY_ENV: "k" * 32}) == KEY


async def test_no_checkpoint_is_signed_over_a_ledger_that_fails_verify(
    ledger: Ledger, clock: Clock, db: TestDatabase
) -> None:
    alice, _, _ = await _history(ledger, clock)
    async with raw_database(db) as raw:
        await raw.execute(
            "UPDATE ledger_account SET credits_posted = credits_posted + 60 WHERE id = $1", alice
        )
    report, checkpoint = await ledger.checkpoint()
    assert checkpoint is None
    assert report.discrepancy is not None and report.discrepancy.check == "account_counters"


def _timebank(db: TestDatabase, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        **FAST_PASSWORD_HASHING,
    }
    env.pop(CHECKPOINT_KEY_ENV, None)
    if key is not None:
        env[CHECKPOINT_KEY_ENV] = key
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "ledger", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_checkpoint_commands(
    ledger: Ledger, clock: Clock, db: TestDatabase, tmp_path: Path
) -> None:
    _, _, moves = await _history(ledger, clock)
    path = str(tmp_path / "ledger.checkpoint")
    key = "operator-secret-" * 3

    assert _timebank(db, "checkpoint", "--out", path, key=None).returncode == 2
    written = _timebank(db, "checkpoint", "--out", path, key=key)
    assert written.returncode == 0, written.stderr
    assert "6 entries" in written.stdout
    assert Path(path).read_text(encoding="utf-8").count(str(moves[0].credit_account_id)) == 1

    clean = _timebank(db, "verify", "--checkpoint", path, key=key)
    assert clean.returncode == 0, clean.stderr
    assert _timebank(db, "verify", "--checkpoint", path, key="another-secret-" * 3).returncode == 3

    async with raw_database(db) as raw:
        await _cut_newest_transfer(raw, moves[-1])
    assert _timebank(db, "verify", key=None).returncode == 0
    caught = _timebank(db, "verify", "--checkpoint", path, key=key)
    assert caught.returncode == 3
    assert "checkpoint_entries" in caught.stderr

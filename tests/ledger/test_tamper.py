"""Tamper evidence (ledger.md 4 and 11): rows changed behind the ledger's back.

Each case changes stored rows with raw SQL, with the append-only triggers
switched off where they would refuse it, and expects verify() to name the
first discrepancy exactly: which check, which account, which version, which
transfer. Account ids are fixed so that verify's walk order (by account id)
and hence the first discrepancy are known: alice < bob < issuance.

The last tests check the triggers themselves: UPDATE and DELETE on
ledger_transfer, ledger_entry and ledger_failure are refused on both engines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from ledger import Ledger, Transfer, Unit
from ledger import errors as ledger_errors
from ledger.account_changes import backfill
from ledger.rows import TRANSFER_COLUMNS
from ledger.transactions import write_transaction
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id
from tests.ledger.raw_database import RawDatabase, raw_database

ALICE = UUID("10000000-0000-4000-8000-000000000001")
BOB = UUID("20000000-0000-4000-8000-000000000002")
ISSUANCE = UUID("30000000-0000-4000-8000-000000000003")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class History:
    """A small history touching every kind of row verify() checks.

    alice: v1 welcome (t1), v2 exchange to bob (t2), v3 hold for bob (hold),
           v4 post of the hold (post), v5 reversal of part of t2 (reversal)
    bob:   v1 t2, v2 hold, v3 post, v4 reversal
    issuance: v1 t1
    """

    ledger: Ledger
    raw: RawDatabase
    t1: Transfer
    t2: Transfer
    hold: Transfer
    post: Transfer
    reversal: Transfer
    refused_id: UUID  # a transfer id whose failure is recorded


@pytest.fixture
async def history(ledger: Ledger, db: TestDatabase, clock: Clock) -> AsyncIterator[History]:
    clock.now = NOW
    for account_id, owner, floor in (
        (ALICE, "member:alice", 0),
        (BOB, "member:bob", 0),
        (ISSUANCE, "community:1:issuance", None),
    ):
        await ledger.open_account(
            unit=Unit.HOUR, owner=owner, floor_minor=floor, account_id=account_id
        )

    async def transfer(
        debit: UUID, credit: UUID, amount: int, memo: str, transfer_id: UUID | None = None
    ) -> Transfer:
        clock.advance(minutes=1)
        return await ledger.transfer(
            id=transfer_id or new_id(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="member:test",
            memo=memo,
        )

    t1 = await transfer(ISSUANCE, ALICE, 120, "welcome")
    t2 = await transfer(ALICE, BOB, 30, "gardening")
    clock.advance(minutes=1)
    hold = await ledger.pending_transfer(
        id=new_id(),
        debit_account_id=ALICE,
        credit_account_id=BOB,
        amount_minor=20,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:alice",
        expires_at=clock.now + timedelta(days=1),
    )
    clock.advance(minutes=1)
    post = await ledger.post_pending(
        id=new_id(), pending_id=hold.id, actor="member:alice", amount_minor=15
    )
    clock.advance(minutes=1)
    reversal = await ledger.reverse(
        id=new_id(), reverses_id=t2.id, actor="admin:1", reason="dispute", amount_minor=10
    )
    refused_id = new_id()
    with pytest.raises(ledger_errors.ExceedsFloor):
        await transfer(BOB, ALICE, 1_000, "too much", transfer_id=refused_id)
    async with raw_database(db) as raw:
        report = await ledger.verify()
        assert report.ok, report.summary()
        assert report.entries_checked == 10
        yield History(ledger, raw, t1, t2, hold, post, reversal, refused_id)


async def entry_hash(history: History, account_id: UUID, version: int) -> str:
    return str(
        await history.raw.fetchval(
            "SELECT hash FROM ledger_entry WHERE account_id = $1 AND version = $2",
            account_id,
            version,
        )
    )


async def assert_discrepancy(
    history: History,
    check: str,
    *,
    account_id: UUID | None = None,
    version: int | None = None,
    transfer_id: UUID | None = None,
) -> None:
    report = await history.ledger.verify()
    assert not report.ok, "verify() missed the tampering"
    found = report.discrepancy
    assert found is not None
    assert (found.check, found.account_id, found.version, found.transfer_id) == (
        check,
        account_id,
        version,
        transfer_id,
    ), found.describe()
    assert check in report.summary()


Tamper = Callable[[History], Awaitable[None]]


def sql(statement: str, *args: Callable[[History], Any]) -> Tamper:
    """A tamper step: one statement, its arguments computed from the history."""

    async def run(history: History) -> None:
        values = [arg(history) for arg in args]
        await history.raw.tamper([(statement, values)])

    return run


@dataclass(frozen=True)
class Case:
    tamper: Tamper
    check: str
    account: UUID | None = None
    version: int | None = None
    transfer: Callable[[History], UUID] | None = None


def t2(history: History) -> UUID:
    return history.t2.id


def hold(history: History) -> UUID:
    return history.hold.id


def post(history: History) -> UUID:
    return history.post.id


def reversal(history: History) -> UUID:
    return history.reversal.id


ENTRY = "UPDATE ledger_entry SET {} WHERE account_id = $1 AND version = $2"


def entry(account: UUID, version: int, assignments: str, *args: Any) -> Tamper:
    return sql(
        ENTRY.format(assignments),
        lambda _: account,
        lambda _: version,
        *(lambda _, value=value: value for value in args),
    )


async def _amount_changed_everywhere_but_the_hashes(history: History) -> None:
    # A careful forger moves one more minute in t2 and fixes every counter,
    # running balance and account row that shows it; only the hashes remain.
    await history.raw.tamper(
        [
            ("UPDATE ledger_transfer SET amount_minor = 31 WHERE id = $1", [history.t2.id]),
            (
                (
                    "UPDATE ledger_entry SET debits_posted = debits_posted + 1, "
                    "balance_minor = balance_minor - 1 WHERE account_id = $1 AND version >= 2"
                ),
                [ALICE],
            ),
            (
                (
                    "UPDATE ledger_entry SET credits_posted = credits_posted + 1, "
                    "balance_minor = balance_minor + 1 WHERE account_id = $1"
                ),
                [BOB],
            ),
            ("UPDATE ledger_account SET debits_posted = debits_posted + 1 WHERE id = $1", [ALICE]),
            ("UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = $1", [BOB]),
        ],
    )


async def _transfer_time_moved(history: History) -> None:
    later = history.t2.recorded_at + timedelta(seconds=1)
    await history.raw.tamper(
        [("UPDATE ledger_transfer SET recorded_at = $2 WHERE id = $1", [history.t2.id, later])],
    )


async def _head_hash_rolled_back(history: History) -> None:
    # A plausible value: the hash of alice's previous entry, as if the last
    # transfer had been cut off the chain.
    previous = await entry_hash(history, ALICE, 4)
    await history.raw.execute(
        "UPDATE ledger_account SET head_hash = $2 WHERE id = $1", ALICE, previous
    )


async def _previous_hash_broken(history: History) -> None:
    # Point alice's third entry at her first instead of her second.
    first = await entry_hash(history, ALICE, 1)
    await history.raw.tamper(
        [(ENTRY.format("previous_hash = $3"), [ALICE, 3, first])],
    )


async def _entry_hash_replaced(history: History) -> None:
    other = await entry_hash(history, BOB, 1)
    await history.raw.tamper([(ENTRY.format("hash = $3"), [BOB, 2, other])])


async def _running_balance_changed(history: History) -> None:
    # The entry's own CHECK (balance = credits - debits) has to go first.
    await history.raw.tamper(
        [(ENTRY.format("balance_minor = balance_minor + 1"), [BOB, 1])], checks=False
    )


async def _forged_transfer_without_entries(history: History) -> None:
    # No trigger stands in the way of an INSERT: the forged row has no entries.
    values = [
        FORGED,
        "single",
        "HOUR",
        ALICE,
        BOB,
        5,
        None,
        None,
        None,
        None,
        "exchange",
        "",
        "member:alice",
        False,
        NOW,
        NOW,
    ]
    placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 1))
    await history.raw.execute(
        f"INSERT INTO ledger_transfer ({TRANSFER_COLUMNS}) VALUES ({placeholders})", *values
    )


FORGED = UUID("40000000-0000-4000-8000-000000000004")


async def _limits_changed_in_row_and_log(history: History) -> None:
    # A forger who knows about the change log edits it too: only its hash is left.
    await history.raw.tamper(
        [
            ("UPDATE ledger_account SET floor_minor = -1000 WHERE id = $1", [ALICE]),
            (
                (
                    "UPDATE ledger_account_change SET floor_minor = -1000 "
                    "WHERE account_id = $1 AND sequence = 1"
                ),
                [ALICE],
            ),
        ]
    )


CASES: dict[str, Case] = {
    "floor-on-the-row": Case(
        sql("UPDATE ledger_account SET floor_minor = -1000 WHERE id = $1", lambda _: ALICE),
        "account_limits",
        account=ALICE,
    ),
    "ceiling-on-the-row": Case(
        sql("UPDATE ledger_account SET ceiling_minor = 5000 WHERE id = $1", lambda _: BOB),
        "account_limits",
        account=BOB,
    ),
    "closed-on-the-row": Case(
        sql(
            "UPDATE ledger_account SET closed_at = $2 WHERE id = $1",
            lambda _: BOB,
            lambda _: NOW,
        ),
        "account_limits",
        account=BOB,
    ),
    "limits-in-row-and-log": Case(_limits_changed_in_row_and_log, "account_changes", ALICE),
    "owner-renamed": Case(
        sql("UPDATE ledger_account SET owner = 'member:mallory' WHERE id = $1", lambda _: ALICE),
        "account_changes",
        account=ALICE,
    ),
    "change-log-removed": Case(
        sql("DELETE FROM ledger_account_change WHERE account_id = $1", lambda _: BOB),
        "account_changes",
        account=BOB,
    ),
    "entry-credits-and-balance": Case(
        entry(BOB, 1, "credits_posted = credits_posted + 1, balance_minor = balance_minor + 1"),
        "running_counters",
        BOB,
        1,
        t2,
    ),
    "entry-pending-counter": Case(
        entry(ALICE, 3, "debits_pending = debits_pending + 5"), "running_counters", ALICE, 3, hold
    ),
    "entry-running-balance": Case(_running_balance_changed, "running_balance", BOB, 1, t2),
    "entry-hash": Case(_entry_hash_replaced, "entry_hash", BOB, 2, hold),
    "entry-previous-hash": Case(_previous_hash_broken, "hash_chain", ALICE, 3, hold),
    "entry-deleted-middle": Case(
        sql(
            "DELETE FROM ledger_entry WHERE account_id = $1 AND version = 2",
            lambda _: BOB,
        ),
        # Version 2 is missing: version 3 (the post) stands in its place.
        "entry_sequence",
        BOB,
        2,
        post,
    ),
    "entry-deleted-last": Case(
        sql(
            "DELETE FROM ledger_entry WHERE account_id = $1 AND version = 4",
            lambda _: BOB,
        ),
        "account_counters",
        BOB,
    ),
    "transfer-amount": Case(
        sql("UPDATE ledger_transfer SET amount_minor = 31 WHERE id = $1", t2),
        "running_counters",
        ALICE,
        2,
        t2,
    ),
    "transfer-amount-and-every-counter": Case(
        _amount_changed_everywhere_but_the_hashes, "entry_hash", ALICE, 2, t2
    ),
    "pending-amount": Case(
        sql("UPDATE ledger_transfer SET amount_minor = 25 WHERE id = $1", hold),
        "running_counters",
        ALICE,
        3,
        hold,
    ),
    "transfer-memo": Case(
        sql("UPDATE ledger_transfer SET memo = 'mowing' WHERE id = $1", t2),
        "entry_hash",
        ALICE,
        2,
        t2,
    ),
    "transfer-actor": Case(
        sql(
            "UPDATE ledger_transfer SET actor = 'admin:2' WHERE id = $1",
            reversal,
        ),
        "entry_hash",
        ALICE,
        5,
        reversal,
    ),
    "transfer-recorded-at": Case(_transfer_time_moved, "entry_time", ALICE, 2, t2),
    "transfer-forged": Case(
        _forged_transfer_without_entries, "transfer_entries", transfer=lambda _: FORGED
    ),
    "account-counters": Case(
        sql(
            "UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = $1",
            lambda _: BOB,
        ),
        "account_counters",
        BOB,
    ),
    "account-pending-counter": Case(
        sql(
            "UPDATE ledger_account SET credits_pending = 1 WHERE id = $1",
            lambda _: BOB,
        ),
        "account_counters",
        BOB,
    ),
    "account-version": Case(
        sql(
            "UPDATE ledger_account SET version = version + 1 WHERE id = $1",
            lambda _: ALICE,
        ),
        "account_version",
        ALICE,
    ),
    "account-head-hash": Case(_head_hash_rolled_back, "account_head_hash", ALICE),
    "reversal-tally-changed": Case(
        sql(
            "UPDATE ledger_reversal_tally SET reversed_minor = 11 WHERE transfer_id = $1",
            t2,
        ),
        "reversal_tally",
        transfer=t2,
    ),
    "reversal-tally-deleted": Case(
        sql(
            "DELETE FROM ledger_reversal_tally WHERE transfer_id = $1",
            t2,
        ),
        "reversal_tally",
        transfer=t2,
    ),
}


async def test_verify_names_each_tampering_precisely(history: History) -> None:
    """Every case on the same history, undone after each one.

    Cases run one after another on one database (a fresh database per case
    would cost more than all the checks). After each case, the rows it
    touched are restored from a snapshot and verify() must be clean again,
    which also proves the case changed only what it meant to.
    """
    snapshot = await _snapshot(history.raw)
    for name, case in CASES.items():
        await case.tamper(history)
        try:
            await assert_discrepancy(
                history,
                case.check,
                account_id=case.account,
                version=case.version,
                transfer_id=case.transfer(history) if case.transfer else None,
            )
        except AssertionError as error:
            raise AssertionError(f"case {name}: {error}") from error
        await _restore(history.raw, snapshot)
        report = await history.ledger.verify()
        assert report.ok, f"after restoring from case {name}: {report.summary()}"


_LEDGER_TABLES = (
    "ledger_account",
    "ledger_transfer",
    "ledger_entry",
    "ledger_reversal_tally",
    "ledger_failure",
    "ledger_account_change",
)


async def _snapshot(raw: RawDatabase) -> dict[str, list[dict[str, Any]]]:
    """Every ledger row, in an order that does not depend on how rows are stored."""
    return {
        table: sorted(await raw.fetch(f"SELECT * FROM {table}"), key=repr)
        for table in _LEDGER_TABLES
    }


async def _restore(raw: RawDatabase, snapshot: dict[str, list[dict[str, Any]]]) -> None:
    # Children first when deleting, parents first when inserting back.
    statements: list[tuple[str, list[Any]]] = [
        (f"DELETE FROM {table}", []) for table in reversed(_LEDGER_TABLES)
    ]
    for table in _LEDGER_TABLES:
        for row in snapshot[table]:
            columns = list(row)
            placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
            statements.append(
                (
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                    list(row.values()),
                )
            )
    await raw.tamper(statements)


# The append-only triggers -----------------------------------------------------------


def _row_of(table: str, history: History) -> tuple[str, list[Any]]:
    """A WHERE clause selecting one existing row of `table`."""
    if table == "ledger_transfer":
        return "id = $1", [history.t2.id]
    if table == "ledger_entry":
        return "account_id = $1 AND version = $2", [ALICE, 2]
    if table == "ledger_account_change":
        return "account_id = $1 AND sequence = $2", [ALICE, 1]
    return "transfer_id = $1", [history.refused_id]


CHANGES = {
    "ledger_transfer": "amount_minor = amount_minor + 1",
    "ledger_entry": "credits_posted = credits_posted",  # even a no-op update
    "ledger_failure": "error_code = 'exceeds_ceiling'",
    "ledger_account_change": "floor_minor = -5",
}


async def test_history_rows_cannot_be_updated_or_deleted(history: History) -> None:
    for table in ("ledger_transfer", "ledger_entry", "ledger_failure", "ledger_account_change"):
        where, args = _row_of(table, history)
        before = await history.raw.fetch(f"SELECT * FROM {table} WHERE {where}", *args)
        assert len(before) == 1
        for statement in (
            f"UPDATE {table} SET {CHANGES[table]} WHERE {where}",
            f"DELETE FROM {table} WHERE {where}",
        ):
            with pytest.raises((asyncpg.PostgresError, sqlite3.Error)) as caught:
                await history.raw.execute(statement, *args)
            expected_error = (
                asyncpg.RestrictViolationError
                if history.raw.is_postgres
                else sqlite3.IntegrityError
            )
            assert isinstance(caught.value, expected_error), repr(caught.value)
            operation = statement.split()[0]
            message = f"ledger history is append-only: {operation} on {table} refused"
            assert message in str(caught.value), str(caught.value)
        assert await history.raw.fetch(f"SELECT * FROM {table} WHERE {where}", *args) == before
    if history.raw.is_postgres:
        # SQLite has no TRUNCATE (its DELETE without WHERE fires the triggers).
        for table in ("ledger_account_change", "ledger_failure", "ledger_entry", "ledger_transfer"):
            with pytest.raises(asyncpg.RestrictViolationError, match="append-only: TRUNCATE"):
                await history.raw.execute(f"TRUNCATE {table} CASCADE")
    else:
        for table in ("ledger_account_change", "ledger_failure", "ledger_entry", "ledger_transfer"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE"):
                await history.raw.execute(f"DELETE FROM {table}")
    report = await history.ledger.verify()
    assert report.ok, report.summary()
    assert report.transfers_checked == 5


async def test_history_rewritten_by_an_upsert_is_refused_or_named(history: History) -> None:
    """Rewriting a transfer by inserting it again never goes unnoticed.

    SQLite's REPLACE deletes the old row without firing delete triggers, so the
    ledger's SQLite schema refuses any insert that collides with a stored row;
    an upsert's UPDATE is refused on both engines. Should a rewrite get
    through, verify() must still name it.
    """
    stored = (
        await history.raw.fetch(
            f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfer WHERE id = $1", history.t2.id
        )
    )[0]
    values = [*{**stored, "memo": "mowing"}.values()]
    placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 1))
    insert = f"INTO ledger_transfer ({TRANSFER_COLUMNS}) VALUES ({placeholders})"
    rewrites = [f"INSERT {insert} ON CONFLICT (id) DO UPDATE SET memo = excluded.memo"]
    if not history.raw.is_postgres:
        rewrites += [f"INSERT OR REPLACE {insert}", f"REPLACE {insert}"]
    snapshot = await _snapshot(history.raw)
    outcomes = []
    for statement in rewrites:
        refusal: BaseException | None = None
        try:
            await history.raw.execute(statement, *values)
        except (asyncpg.PostgresError, sqlite3.Error) as error:
            refusal = error
        if refusal is not None:
            assert "append-only" in str(refusal), str(refusal)
            assert await _snapshot(history.raw) == snapshot
            outcomes.append("refused")
            continue
        await assert_discrepancy(
            history, "entry_hash", account_id=ALICE, version=2, transfer_id=t2(history)
        )
        outcomes.append("named by verify")
        await _restore(history.raw, snapshot)
    assert outcomes == ["refused"] * len(rewrites)


async def test_failures_are_never_replaced_and_tallies_only_grow(history: History) -> None:
    """A recorded failure cannot be swapped (SQLite's REPLACE skips DELETE triggers);
    a reversal tally can neither shrink, change its original, nor disappear."""
    stored = (
        await history.raw.fetch(
            "SELECT transfer_id, request_json, error_code, error_json, recorded_at "
            "FROM ledger_failure WHERE transfer_id = $1",
            history.refused_id,
        )
    )[0]
    failure = [*{**stored, "error_code": "exceeds_ceiling"}.values()]
    insert_failure = (
        "INTO ledger_failure (transfer_id, request_json, error_code, error_json, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5)"
    )
    tally = "ledger_reversal_tally"
    attempts: list[tuple[str, list[Any]]] = [
        (
            (
                f"INSERT {insert_failure} ON CONFLICT (transfer_id) "
                "DO UPDATE SET error_code = excluded.error_code"
            ),
            failure,
        ),
        (f"DELETE FROM {tally}", []),
        (f"UPDATE {tally} SET reversed_minor = reversed_minor - 1", []),
        (f"UPDATE {tally} SET original_minor = original_minor + 1", []),
    ]
    if history.raw.is_postgres:
        attempts.append((f"TRUNCATE {tally}", []))
    else:
        attempts += [
            (f"INSERT OR REPLACE {insert_failure}", failure),
            (f"REPLACE {insert_failure}", failure),
            (f"INSERT OR REPLACE INTO {tally} VALUES ($1, 30, 1)", [history.t2.id]),
        ]
    snapshot = await _snapshot(history.raw)
    for statement, args in attempts:
        with pytest.raises((asyncpg.PostgresError, sqlite3.Error)) as caught:
            await history.raw.execute(statement, *args)
        message = str(caught.value)
        assert "append-only" in message or "only grow" in message, (statement, message)
    assert await _snapshot(history.raw) == snapshot
    # A tally still grows the normal way: reversing more of t2.
    await history.ledger.reverse(
        id=new_id(), reverses_id=history.t2.id, actor="admin:1", reason="more", amount_minor=5
    )
    grown = await history.raw.fetchval(
        f"SELECT reversed_minor FROM {tally} WHERE transfer_id = $1", history.t2.id
    )
    assert grown == 15
    report = await history.ledger.verify()
    assert report.ok, report.summary()


async def test_every_limit_and_closure_change_is_chained(history: History) -> None:
    ledger = history.ledger
    await ledger.set_limits(account_id=BOB, floor_minor=-60, ceiling_minor=600)
    await ledger.set_limits(account_id=BOB, floor_minor=-60, ceiling_minor=600)  # no change
    carol = await ledger.open_account(unit=Unit.HOUR, owner="member:carol")
    dave = await ledger.open_account(unit=Unit.HOUR, owner="member:dave")
    grant = await ledger.transfer(
        id=new_id(),
        debit_account_id=ISSUANCE,
        credit_account_id=carol.id,
        amount_minor=60,
        unit=Unit.HOUR,
        code="grant",
        actor="system",
    )
    await ledger.transfer(
        id=new_id(),
        debit_account_id=carol.id,
        credit_account_id=dave.id,
        amount_minor=60,
        unit=Unit.HOUR,
        code="exchange",
        actor="member:carol",
    )
    # Carol spent the granted hours: taking them back overrides her floor.
    correction = await ledger.reverse(
        id=new_id(),
        reverses_id=grant.id,
        actor="admin:1",
        reason="granted twice",
        override_limits=True,
    )
    empty = await ledger.open_account(unit=Unit.HOUR, owner="member:erin")
    await ledger.close_account(account_id=empty.id)

    async def log(account_id: UUID) -> list[tuple[Any, ...]]:
        rows = await history.raw.fetch(
            "SELECT kind, floor_minor, ceiling_minor, transfer_id FROM ledger_account_change "
            "WHERE account_id = $1 ORDER BY sequence",
            account_id,
        )
        return [
            (
                row["kind"],
                row["floor_minor"],
                row["ceiling_minor"],
                None if row["transfer_id"] is None else UUID(str(row["transfer_id"])),
            )
            for row in rows
        ]

    assert await log(BOB) == [("opened", 0, None, None), ("limits", -60, 600, None)]
    assert await log(carol.id) == [
        ("opened", 0, None, None),
        ("limits_override", -60, None, correction.id),
    ]
    assert [kind for kind, *_ in await log(empty.id)] == ["opened", "closed"]
    report = await ledger.verify()
    assert report.ok, report.summary()
    # 3 opened in the fixture, 3 here, 1 limits, 1 override, 1 closed.
    assert report.account_changes_checked == 9


async def test_the_migration_backfill_starts_a_log_for_each_account_without_one(
    history: History, db: TestDatabase
) -> None:
    """The migration's backfill: an account found without a change log gets one
    first link holding its state as found, and verify() is clean again."""
    await history.raw.tamper([("DELETE FROM ledger_account_change WHERE account_id = $1", [BOB])])
    await assert_discrepancy(history, "account_changes", account_id=BOB)
    async with write_transaction(db.engine) as transaction:
        assert await backfill(transaction.connection, NOW + timedelta(days=1)) == 1
    kinds = await history.raw.fetch(
        "SELECT kind, sequence FROM ledger_account_change WHERE account_id = $1", BOB
    )
    assert [(row["kind"], row["sequence"]) for row in kinds] == [("backfilled", 1)]
    report = await history.ledger.verify()
    assert report.ok, report.summary()

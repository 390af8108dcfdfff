"""The database itself refuses bad ledger rows, whoever writes them (ledger.md 2, 3, 6, 7).

Every row here is written with raw SQL on a connection of its own, around the
ledger's Python code, as a buggy or hostile writer would. Each refusal is
paired with the nearest row the database accepts, so every test shows the
rule is exactly where the spec puts it and not merely that the insert broke.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from ledger import Ledger, Transfer, Unit
from ledger.rows import TRANSFER_COLUMNS
from tests.conftest import TestDatabase
from tests.ledger.conftest import Clock, new_id, open_hours
from tests.ledger.raw_database import RawDatabase, raw_database

_COLUMNS = [column.strip() for column in TRANSFER_COLUMNS.split(",")]
_INSERT_TRANSFER = (
    f"INSERT INTO ledger_transfer ({TRANSFER_COLUMNS}) VALUES "
    f"({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))})"
)
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Refusal:
    """How each engine names one refused rule."""

    postgres_error: type[asyncpg.PostgresError]
    postgres_text: str  # a constraint name or a trigger message
    sqlite_text: str


def unit_foreign_key(side: str) -> Refusal:
    return Refusal(
        asyncpg.ForeignKeyViolationError,
        f"ledger_transfer_{side}_unit",
        "FOREIGN KEY constraint failed",
    )


def check(postgres_name: str, sqlite_text: str | None = None) -> Refusal:
    return Refusal(
        asyncpg.CheckViolationError,
        postgres_name,
        f"CHECK constraint failed: {sqlite_text or postgres_name}",
    )


RESOLUTION_TRIGGER = Refusal(
    asyncpg.CheckViolationError,
    "a resolution must match its pending transfer",
    "a resolution must match its pending transfer",
)
REVERSAL_TRIGGER = Refusal(
    asyncpg.CheckViolationError,
    "a reversal must mirror a posted transfer",
    "a reversal must mirror a posted transfer",
)
ONE_RESOLUTION = Refusal(
    asyncpg.UniqueViolationError,
    "ledger_transfer_one_resolution",
    "UNIQUE constraint failed: ledger_transfer.pending_id",
)
FLOOR = check("ledger_account_floor")
CEILING = check("ledger_account_ceiling")
TALLY_WITHIN_ORIGINAL = check("ledger_reversal_within_original")


async def assert_refused(raw: RawDatabase, refusal: Refusal, sql: str, *args: Any) -> None:
    with pytest.raises((asyncpg.PostgresError, sqlite3.Error)) as caught:
        await raw.execute(sql, *args)
    error = caught.value
    if raw.is_postgres:
        assert isinstance(error, refusal.postgres_error), repr(error)
        named = f"{getattr(error, 'constraint_name', None)} {error}"
        assert refusal.postgres_text in named, named
    else:
        assert isinstance(error, sqlite3.IntegrityError), repr(error)
        assert refusal.sqlite_text in str(error), str(error)


def transfer_row(**fields: Any) -> list[Any]:
    """A ledger_transfer row in column order: a valid single transfer unless overridden."""
    row: dict[str, Any] = {
        "id": new_id(),
        "kind": "single",
        "unit": "HOUR",
        "debit_account_id": None,
        "credit_account_id": None,
        "amount_minor": 30,
        "pending_id": None,
        "reverses_id": None,
        "chain_id": None,
        "expires_at": None,
        "code": "exchange",
        "memo": "",
        "actor": "test:raw-sql",
        "override_limits": False,
        "effective_at": NOW,
        "recorded_at": NOW,
    }
    unknown = set(fields) - set(row)
    assert not unknown, unknown
    row.update(fields)
    return [row[column] for column in _COLUMNS]


@dataclass
class World:
    ledger: Ledger
    raw: RawDatabase
    issuance: UUID
    alice: UUID
    bob: UUID
    pounds: UUID  # a GBP account

    async def transfer_count(self) -> int:
        return int(await self.raw.fetchval("SELECT count(*) AS n FROM ledger_transfer"))

    async def insert(self, **fields: Any) -> None:
        await self.raw.execute(_INSERT_TRANSFER, *transfer_row(**fields))

    async def refused(self, refusal: Refusal, **fields: Any) -> None:
        before = await self.transfer_count()
        await assert_refused(self.raw, refusal, _INSERT_TRANSFER, *transfer_row(**fields))
        assert await self.transfer_count() == before

    async def pay(self, amount: int, debit: UUID | None = None) -> Transfer:
        return await self.ledger.transfer(
            id=new_id(),
            debit_account_id=debit or self.issuance,
            credit_account_id=self.alice if debit is None else self.bob,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="test:setup",
        )

    async def hold(self, amount: int) -> Transfer:
        return await self.ledger.pending_transfer(
            id=new_id(),
            debit_account_id=self.alice,
            credit_account_id=self.bob,
            amount_minor=amount,
            unit=Unit.HOUR,
            code="exchange",
            actor="test:setup",
            expires_at=NOW + timedelta(days=7),
        )


@pytest.fixture
async def world(ledger: Ledger, db: TestDatabase, clock: Clock) -> AsyncIterator[World]:
    clock.now = NOW
    issuance = await open_hours(ledger, "community:1:issuance", floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    bob = await open_hours(ledger, "member:bob")
    pounds = await ledger.open_account(unit=Unit.GBP, owner="community:1:donations")
    async with raw_database(db) as raw:
        yield World(ledger, raw, issuance.id, alice.id, bob.id, pounds.id)


# Transfers ----------------------------------------------------------------------

# (case, fields changed from a valid single transfer issuance -> alice, refusal);
# "alice", "pounds" and "stranger" name accounts filled in by the test.
TRANSFER_ROW_CASES: list[tuple[str, dict[str, Any], Refusal]] = [
    (
        "HOUR transfer into a GBP account",
        {"unit": "HOUR", "debit_account_id": "alice", "credit_account_id": "pounds"},
        unit_foreign_key("credit"),
    ),
    (
        "GBP transfer out of an HOUR account",
        {"unit": "GBP", "debit_account_id": "alice", "credit_account_id": "pounds"},
        unit_foreign_key("debit"),
    ),
    ("unknown debit account", {"debit_account_id": "stranger"}, unit_foreign_key("debit")),
    *[
        (
            f"amount {amount}",
            {"amount_minor": amount},
            check("ledger_transfer_amount_minor_check", "amount_minor > 0"),
        )
        for amount in (0, -1, -30, 100_000_001)
    ],
    (
        "debit account = credit account",
        {"debit_account_id": "alice", "credit_account_id": "alice"},
        check("ledger_transfer_distinct_accounts"),
    ),
    ("unknown kind", {"kind": "gift"}, check("ledger_transfer_kind_check", "kind IN")),
    ("post without pending", {"kind": "post"}, check("ledger_transfer_resolution_shape")),
    ("void without pending", {"kind": "void"}, check("ledger_transfer_resolution_shape")),
    ("reversal without original", {"kind": "reversal"}, check("ledger_transfer_reversal_shape")),
    ("pending without expiry", {"kind": "pending"}, check("ledger_transfer_expiry_shape")),
    (
        "single with expiry",
        {"expires_at": NOW + timedelta(days=1)},
        check("ledger_transfer_expiry_shape"),
    ),
    (
        "override outside reversal",
        {"override_limits": True},
        check("ledger_transfer_override_shape"),
    ),
    (
        "memo too long",
        {"memo": "x" * 501},
        check("ledger_transfer_memo_check", "length(memo) <= 500"),
    ),
    ("empty code", {"code": ""}, check("ledger_transfer_code_check", "length(code) BETWEEN 1")),
]


async def test_transfer_rows_breaking_a_rule_are_refused(world: World) -> None:
    accounts = {"alice": world.alice, "pounds": world.pounds, "stranger": new_id()}
    for case, changed, refusal in TRANSFER_ROW_CASES:
        fields: dict[str, Any] = {
            "debit_account_id": world.issuance,
            "credit_account_id": world.alice,
        }
        for name, value in changed.items():
            named_account = name.endswith("_account_id") and isinstance(value, str)
            fields[name] = accounts[value] if named_account else value
        try:
            await world.refused(refusal, **fields)
        except AssertionError as error:
            raise AssertionError(f"{case}: {error}") from error
    # The row every case above changes in one field is itself valid, as is the
    # largest amount.
    await world.insert(debit_account_id=world.issuance, credit_account_id=world.alice)
    await world.insert(
        amount_minor=100_000_000, debit_account_id=world.issuance, credit_account_id=world.alice
    )
    assert await world.transfer_count() == 2


# Limits on the account row --------------------------------------------------------


async def account_update(
    world: World, account: UUID, refusal: Refusal | None = None, **sets: int
) -> None:
    """Set account counters with raw SQL; with `refusal`, expect the row to be refused."""
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(sets, start=2))
    sql = f"UPDATE ledger_account SET {assignments} WHERE id = $1"
    if refusal is None:
        await world.raw.execute(sql, account, *sets.values())
        return
    before = await world.ledger.account(account_id=account)
    await assert_refused(world.raw, refusal, sql, account, *sets.values())
    assert await world.ledger.account(account_id=account) == before


async def _floor_counts_pending_debits(world: World) -> None:
    alice = world.alice  # floor 0
    await account_update(world, alice, FLOOR, credits_posted=100, debits_posted=101)
    # Posted balance 100 stays above the floor; holding 101 of it would not.
    await account_update(world, alice, FLOOR, credits_posted=100, debits_pending=101)
    await account_update(world, alice, credits_posted=100, debits_pending=100)
    assert (await world.ledger.balance(account_id=alice)).available_minor == 0
    # A negative floor is a credit line, pending debits included.
    await world.ledger.set_limits(account_id=world.bob, floor_minor=-60, ceiling_minor=None)
    await account_update(world, world.bob, FLOOR, debits_posted=40, debits_pending=21)
    await account_update(world, world.bob, debits_posted=40, debits_pending=20)
    assert (await world.ledger.balance(account_id=world.bob)).available_minor == -60


async def _ceiling_counts_pending_credits(world: World) -> None:
    account = world.issuance
    await world.ledger.set_limits(account_id=account, floor_minor=None, ceiling_minor=100)
    await account_update(world, account, CEILING, credits_posted=101)
    await account_update(world, account, CEILING, credits_posted=60, credits_pending=41)
    await account_update(world, account, credits_posted=60, credits_pending=40)
    # Counters never go negative, even on an account without limits.
    await account_update(
        world,
        world.pounds,
        check("ledger_account_debits_pending_check", "debits_pending >= 0"),
        debits_pending=-1,
    )


async def test_account_limits_hold_counting_pending_amounts(world: World) -> None:
    await _floor_counts_pending_debits(world)
    await _ceiling_counts_pending_credits(world)


# Two-phase transfers -----------------------------------------------------------------


async def _second_resolution_is_refused(world: World) -> None:
    await world.pay(100)
    pending = await world.hold(50)
    posted = await world.ledger.post_pending(id=new_id(), pending_id=pending.id, actor="test:a")
    # Each row would pass the resolution trigger on its own (it matches the
    # pending); only the unique index on pending_id stops a second resolution.
    for kind in ("void", "post", "expire"):
        await world.refused(
            ONE_RESOLUTION,
            kind=kind,
            pending_id=pending.id,
            debit_account_id=world.alice,
            credit_account_id=world.bob,
            amount_minor=50,
        )
    rows = await world.raw.fetch("SELECT id FROM ledger_transfer WHERE pending_id = $1", pending.id)
    assert [str(row["id"]) for row in rows] == [str(posted.id)]


async def _resolution_must_match_its_pending(world: World) -> None:
    single = await world.pay(100)
    pending = await world.hold(50)
    alice_to_bob = {"debit_account_id": world.alice, "credit_account_id": world.bob}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("post above the pending", {"kind": "post", "amount_minor": 51, **alice_to_bob}),
        ("void of part", {"kind": "void", "amount_minor": 49, **alice_to_bob}),
        ("expire above the pending", {"kind": "expire", "amount_minor": 51, **alice_to_bob}),
        (
            "post in the other direction",
            {
                "kind": "post",
                "amount_minor": 20,
                "debit_account_id": world.bob,
                "credit_account_id": world.alice,
            },
        ),
        (
            "post to a third account",
            {
                "kind": "post",
                "amount_minor": 20,
                "debit_account_id": world.alice,
                "credit_account_id": world.issuance,
            },
        ),
    ]
    for case, fields in cases:
        try:
            await world.refused(RESOLUTION_TRIGGER, pending_id=pending.id, **fields)
        except AssertionError as error:
            raise AssertionError(f"{case}: {error}") from error
    for not_pending in (single.id, new_id()):
        await world.refused(
            RESOLUTION_TRIGGER,
            kind="post",
            pending_id=not_pending,
            debit_account_id=world.issuance,
            credit_account_id=world.alice,
            amount_minor=100,
        )
    # The nearest row that matches is accepted: a post of part of the pending.
    await world.insert(kind="post", pending_id=pending.id, amount_minor=49, **alice_to_bob)


async def test_a_pending_is_resolved_once_and_only_as_it_was_held(world: World) -> None:
    await _second_resolution_is_refused(world)
    await _resolution_must_match_its_pending(world)


# Reversals ---------------------------------------------------------------------------


async def _reversal_must_mirror_its_original(world: World) -> None:
    original = await world.pay(100)  # issuance -> alice
    pending = await world.hold(40)
    reversal = await world.ledger.reverse(
        id=new_id(), reverses_id=original.id, actor="test:a", reason="dispute", amount_minor=10
    )
    mirrored = {"debit_account_id": world.alice, "credit_account_id": world.issuance}
    cases: list[tuple[str, UUID, dict[str, Any]]] = [
        (
            "same direction as the original",
            original.id,
            {
                "debit_account_id": world.issuance,
                "credit_account_id": world.alice,
                "amount_minor": 1,
            },
        ),
        ("above the original", original.id, {**mirrored, "amount_minor": 101}),
        (
            "other accounts",
            original.id,
            {"debit_account_id": world.alice, "credit_account_id": world.bob, "amount_minor": 1},
        ),
        (
            "of a pending transfer",
            pending.id,
            {"debit_account_id": world.bob, "credit_account_id": world.alice, "amount_minor": 40},
        ),
        (
            "of a reversal",
            reversal.id,
            {
                "debit_account_id": world.issuance,
                "credit_account_id": world.alice,
                "amount_minor": 10,
            },
        ),
        ("of nothing", new_id(), {**mirrored, "amount_minor": 1}),
    ]
    for case, reverses_id, fields in cases:
        try:
            await world.refused(
                REVERSAL_TRIGGER, kind="reversal", reverses_id=reverses_id, **fields
            )
        except AssertionError as error:
            raise AssertionError(f"{case}: {error}") from error
    await world.insert(kind="reversal", reverses_id=original.id, amount_minor=100, **mirrored)


async def _reversal_tally_never_exceeds_original(world: World) -> None:
    original = await world.pay(100)
    await world.ledger.reverse(
        id=new_id(), reverses_id=original.id, actor="test:a", reason="dispute", amount_minor=60
    )
    tally_sql = "SELECT reversed_minor FROM ledger_reversal_tally WHERE transfer_id = $1"
    add_sql = (
        "UPDATE ledger_reversal_tally SET reversed_minor = reversed_minor + $2 "
        "WHERE transfer_id = $1"
    )
    assert await world.raw.fetchval(tally_sql, original.id) == 60
    # What the ledger's upsert would do for a further reversal of 41.
    await assert_refused(world.raw, TALLY_WITHIN_ORIGINAL, add_sql, original.id, 41)
    assert await world.raw.fetchval(tally_sql, original.id) == 60
    other = await world.pay(30)
    await assert_refused(
        world.raw,
        TALLY_WITHIN_ORIGINAL,
        "INSERT INTO ledger_reversal_tally (transfer_id, original_minor, reversed_minor) "
        "VALUES ($1, $2, $3)",
        other.id,
        30,
        31,
    )
    await world.raw.execute(add_sql, original.id, 40)
    assert await world.raw.fetchval(tally_sql, original.id) == 100


async def test_reversals_mirror_their_original_and_never_exceed_it(world: World) -> None:
    await _reversal_must_mirror_its_original(world)
    await _reversal_tally_never_exceeds_original(world)


# Entries -------------------------------------------------------------------------------


async def insert_entry(world: World, refusal: Refusal | None, **fields: Any) -> None:
    """Insert a copy of alice's first entry with `fields` changed."""
    entry = (
        await world.raw.fetch(
            "SELECT * FROM ledger_entry WHERE account_id = $1 AND version = 1", world.alice
        )
    )[0]
    columns = list(entry)
    values = [fields.get(column, entry[column]) for column in columns]
    sql = (
        f"INSERT INTO ledger_entry ({', '.join(columns)}) VALUES "
        f"({', '.join(f'${n}' for n in range(1, len(columns) + 1))})"
    )
    if refusal is None:
        await world.raw.execute(sql, *values)
    else:
        await assert_refused(world.raw, refusal, sql, *values)


async def test_entry_rows_breaking_a_rule_are_refused(world: World) -> None:
    await world.pay(100)
    # Bob has no entry for this transfer: only the balance CHECK can object.
    await insert_entry(world, check("ledger_entry_balance"), account_id=world.bob, balance_minor=99)
    # A second entry of alice for the same transfer.
    await insert_entry(
        world,
        Refusal(
            asyncpg.UniqueViolationError,
            "ledger_entry_one_per_side",
            "append-only: REPLACE on ledger_entry refused",  # the no-replace trigger fires first
        ),
        version=2,
    )
    await insert_entry(world, None, account_id=world.bob)


# References ---------------------------------------------------------------------

ENTRY_ACCOUNT_KEY = Refusal(
    asyncpg.ForeignKeyViolationError,
    "ledger_entry_account_id_fkey",
    "FOREIGN KEY constraint failed",
)
ENTRY_TRANSFER_KEY = Refusal(
    asyncpg.ForeignKeyViolationError,
    "ledger_entry_transfer_id_fkey",
    "FOREIGN KEY constraint failed",
)


async def test_entries_name_an_account_and_a_transfer_that_exist(world: World) -> None:
    await world.pay(100)
    before = await world.raw.fetchval("SELECT count(*) AS n FROM ledger_entry")
    await insert_entry(world, ENTRY_ACCOUNT_KEY, account_id=new_id())
    await insert_entry(world, ENTRY_TRANSFER_KEY, transfer_id=new_id(), version=99)
    assert await world.raw.fetchval("SELECT count(*) AS n FROM ledger_entry") == before
    await insert_entry(world, None, account_id=world.bob)


async def test_one_bad_entry_among_good_ones_refuses_the_whole_statement(world: World) -> None:
    """A bad row anywhere in a statement of several refuses all of it."""
    await world.pay(100)
    entry = (
        await world.raw.fetch(
            "SELECT * FROM ledger_entry WHERE account_id = $1 AND version = 1", world.alice
        )
    )[0]
    columns = list(entry)
    good = [world.bob if column == "account_id" else entry[column] for column in columns]
    bad = [new_id() if column == "account_id" else entry[column] for column in columns]
    width = len(columns)
    slots = ", ".join(
        "(" + ", ".join(f"${row * width + n}" for n in range(1, width + 1)) + ")"
        for row in range(2)
    )
    sql = f"INSERT INTO ledger_entry ({', '.join(columns)}) VALUES {slots}"
    await assert_refused(world.raw, ENTRY_ACCOUNT_KEY, sql, *good, *bad)
    assert (
        await world.raw.fetchval(
            "SELECT count(*) AS n FROM ledger_entry WHERE account_id = $1", world.bob
        )
        == 0
    )

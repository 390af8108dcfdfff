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


async def test_a_well_formed_raw_transfer_is_accepted(world: World) -> None:
    # The baseline every refusal below changes in one field only.
    await world.insert(debit_account_id=world.issuance, credit_account_id=world.alice)
    assert await world.transfer_count() == 1


@pytest.mark.parametrize(
    ("unit", "refusal"),
    [("HOUR", unit_foreign_key("credit")), ("GBP", unit_foreign_key("debit"))],
)
async def test_transfer_between_units_is_refused(world: World, unit: str, refusal: Refusal) -> None:
    # HOUR debit account, GBP credit account: whichever unit the row claims,
    # one side's composite key (account, unit) does not exist.
    await world.refused(
        refusal, unit=unit, debit_account_id=world.alice, credit_account_id=world.pounds
    )


async def test_transfer_from_an_unknown_account_is_refused(world: World) -> None:
    await world.refused(
        unit_foreign_key("debit"), debit_account_id=new_id(), credit_account_id=world.alice
    )


@pytest.mark.parametrize("amount", [0, -1, -30, 100_000_001])
async def test_amount_out_of_range_is_refused(world: World, amount: int) -> None:
    await world.refused(
        check("ledger_transfer_amount_minor_check", "amount_minor > 0"),
        amount_minor=amount,
        debit_account_id=world.issuance,
        credit_account_id=world.alice,
    )


async def test_amount_at_the_limit_is_accepted(world: World) -> None:
    await world.insert(
        amount_minor=100_000_000, debit_account_id=world.issuance, credit_account_id=world.alice
    )


async def test_transfer_to_the_same_account_is_refused(world: World) -> None:
    await world.refused(
        check("ledger_transfer_distinct_accounts"),
        debit_account_id=world.alice,
        credit_account_id=world.alice,
    )


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"kind": "gift"}, check("ledger_transfer_kind_check", "kind IN")),
        ({"kind": "post"}, check("ledger_transfer_resolution_shape")),
        ({"kind": "void"}, check("ledger_transfer_resolution_shape")),
        ({"kind": "reversal"}, check("ledger_transfer_reversal_shape")),
        ({"kind": "pending"}, check("ledger_transfer_expiry_shape")),
        ({"expires_at": NOW + timedelta(days=1)}, check("ledger_transfer_expiry_shape")),
        ({"override_limits": True}, check("ledger_transfer_override_shape")),
        ({"memo": "x" * 501}, check("ledger_transfer_memo_check", "length(memo) <= 500")),
        ({"code": ""}, check("ledger_transfer_code_check", "length(code) BETWEEN 1 AND 40")),
    ],
    ids=[
        "unknown-kind",
        "post-without-pending",
        "void-without-pending",
        "reversal-without-original",
        "pending-without-expiry",
        "single-with-expiry",
        "override-outside-reversal",
        "memo-too-long",
        "empty-code",
    ],
)
async def test_malformed_transfer_row_is_refused(
    world: World, fields: dict[str, Any], refusal: Refusal
) -> None:
    await world.refused(
        refusal, debit_account_id=world.issuance, credit_account_id=world.alice, **fields
    )


# Limits on the account row --------------------------------------------------------


async def account_update_refused(
    world: World, refusal: Refusal, account: UUID, **sets: int
) -> None:
    before = await world.ledger.account(account_id=account)
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(sets, start=2))
    await assert_refused(
        world.raw,
        refusal,
        f"UPDATE ledger_account SET {assignments} WHERE id = $1",
        account,
        *sets.values(),
    )
    assert await world.ledger.account(account_id=account) == before


async def account_update(world: World, account: UUID, **sets: int) -> None:
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(sets, start=2))
    await world.raw.execute(
        f"UPDATE ledger_account SET {assignments} WHERE id = $1", account, *sets.values()
    )


async def test_account_row_below_its_floor_is_refused(world: World) -> None:
    await account_update_refused(world, FLOOR, world.alice, credits_posted=100, debits_posted=101)
    await account_update(world, world.alice, credits_posted=100, debits_posted=100)
    assert (await world.ledger.balance(account_id=world.alice)).balance_minor == 0


async def test_account_floor_counts_pending_debits(world: World) -> None:
    # Posted balance 100 stays above the floor of 0; holding 101 would not.
    await account_update_refused(world, FLOOR, world.alice, credits_posted=100, debits_pending=101)
    await account_update(world, world.alice, credits_posted=100, debits_pending=100)
    assert (await world.ledger.balance(account_id=world.alice)).available_minor == 0


async def test_negative_floor_is_a_credit_line(world: World) -> None:
    await world.ledger.set_limits(account_id=world.bob, floor_minor=-60, ceiling_minor=None)
    await account_update_refused(world, FLOOR, world.bob, debits_posted=40, debits_pending=21)
    await account_update(world, world.bob, debits_posted=40, debits_pending=20)


async def test_account_row_above_its_ceiling_is_refused(world: World) -> None:
    await world.ledger.set_limits(account_id=world.bob, floor_minor=0, ceiling_minor=100)
    await account_update_refused(world, CEILING, world.bob, credits_posted=101)
    # Pending credits count against the ceiling.
    await account_update_refused(world, CEILING, world.bob, credits_posted=60, credits_pending=41)
    await account_update(world, world.bob, credits_posted=60, credits_pending=40)


async def test_account_counters_never_go_negative(world: World) -> None:
    await account_update_refused(
        world,
        check("ledger_account_debits_pending_check", "debits_pending >= 0"),
        world.issuance,
        debits_pending=-1,
    )


# Two-phase transfers -----------------------------------------------------------------


async def test_second_resolution_of_a_pending_is_refused(world: World) -> None:
    await world.pay(100)
    pending = await world.hold(50)
    posted = await world.ledger.post_pending(id=new_id(), pending_id=pending.id, actor="test:a")
    # Each row would pass the shape trigger on its own (it matches the pending);
    # only the unique index on pending_id stops a second resolution.
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


async def test_raw_resolution_matching_its_pending_is_accepted(world: World) -> None:
    await world.pay(100)
    pending = await world.hold(50)
    await world.insert(
        kind="post",
        pending_id=pending.id,
        debit_account_id=world.alice,
        credit_account_id=world.bob,
        amount_minor=50,
    )


@pytest.mark.parametrize(
    ("kind", "amount", "swap"),
    [("post", 51, False), ("void", 49, False), ("expire", 51, False), ("post", 20, True)],
    ids=["post-above-pending", "void-of-part", "expire-above-pending", "post-reversed-direction"],
)
async def test_resolution_not_matching_its_pending_is_refused(
    world: World, kind: str, amount: int, swap: bool
) -> None:
    await world.pay(100)
    pending = await world.hold(50)
    debit, credit = (world.bob, world.alice) if swap else (world.alice, world.bob)
    await world.refused(
        RESOLUTION_TRIGGER,
        kind=kind,
        pending_id=pending.id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount_minor=amount,
    )


async def test_resolution_of_something_not_pending_is_refused(world: World) -> None:
    single = await world.pay(100)
    for pending_id in (single.id, new_id()):
        await world.refused(
            RESOLUTION_TRIGGER,
            kind="post",
            pending_id=pending_id,
            debit_account_id=world.issuance,
            credit_account_id=world.alice,
            amount_minor=100,
        )


# Reversals ---------------------------------------------------------------------------


async def test_raw_reversal_mirroring_its_original_is_accepted(world: World) -> None:
    original = await world.pay(100)
    await world.insert(
        kind="reversal",
        reverses_id=original.id,
        debit_account_id=world.alice,
        credit_account_id=world.issuance,
        amount_minor=100,
    )


@pytest.mark.parametrize(
    ("same_direction", "amount"),
    [(True, 100), (False, 101), (True, 1)],
    ids=["same-direction", "above-original", "same-direction-part"],
)
async def test_reversal_not_mirroring_its_original_is_refused(
    world: World, same_direction: bool, amount: int
) -> None:
    original = await world.pay(100)
    debit, credit = (
        (world.issuance, world.alice) if same_direction else (world.alice, world.issuance)
    )
    await world.refused(
        REVERSAL_TRIGGER,
        kind="reversal",
        reverses_id=original.id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount_minor=amount,
    )


async def test_reversal_of_a_pending_or_a_reversal_is_refused(world: World) -> None:
    original = await world.pay(100)
    pending = await world.hold(40)
    reversal = await world.ledger.reverse(
        id=new_id(), reverses_id=original.id, actor="test:a", reason="dispute", amount_minor=10
    )
    await world.refused(
        REVERSAL_TRIGGER,
        kind="reversal",
        reverses_id=pending.id,
        debit_account_id=world.bob,
        credit_account_id=world.alice,
        amount_minor=40,
    )
    await world.refused(
        REVERSAL_TRIGGER,
        kind="reversal",
        reverses_id=reversal.id,
        debit_account_id=world.issuance,
        credit_account_id=world.alice,
        amount_minor=10,
    )


async def test_reversal_tally_above_original_is_refused(world: World) -> None:
    original = await world.pay(100)
    await world.ledger.reverse(
        id=new_id(), reverses_id=original.id, actor="test:a", reason="dispute", amount_minor=60
    )
    tally_sql = "SELECT reversed_minor FROM ledger_reversal_tally WHERE transfer_id = $1"
    assert await world.raw.fetchval(tally_sql, original.id) == 60
    # What the ledger's upsert would do for a further reversal of 41.
    await assert_refused(
        world.raw,
        TALLY_WITHIN_ORIGINAL,
        "UPDATE ledger_reversal_tally SET reversed_minor = reversed_minor + $2 "
        "WHERE transfer_id = $1",
        original.id,
        41,
    )
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
    await world.raw.execute(
        "UPDATE ledger_reversal_tally SET reversed_minor = reversed_minor + $2 "
        "WHERE transfer_id = $1",
        original.id,
        40,
    )
    assert await world.raw.fetchval(tally_sql, original.id) == 100


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


async def test_entry_balance_must_match_its_counters(world: World) -> None:
    await world.pay(100)
    # Bob has no entry for this transfer yet: only the balance CHECK can object.
    await insert_entry(world, check("ledger_entry_balance"), account_id=world.bob, balance_minor=99)
    await insert_entry(world, None, account_id=world.bob)


async def test_one_entry_per_account_and_transfer(world: World) -> None:
    await world.pay(100)
    await insert_entry(
        world,
        Refusal(
            asyncpg.UniqueViolationError,
            "ledger_entry_one_per_side",
            "UNIQUE constraint failed: ledger_entry.transfer_id, ledger_entry.account_id",
        ),
        version=2,
    )

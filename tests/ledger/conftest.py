"""Ledger fixtures: a Ledger on a fresh migrated database, on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from ledger import Account, Ledger, Unit
from tests.conftest import TestDatabase


class Clock:
    """A clock tests move by hand, so expiry and as-of reads are exact."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(db: TestDatabase, clock: Clock) -> Ledger:
    return Ledger(db.engine, clock=clock)


OpenAccount = Callable[..., "Account"]


async def open_hours(
    ledger: Ledger, owner: str, *, floor_minor: int | None = 0, ceiling_minor: int | None = None
) -> Account:
    return await ledger.open_account(
        unit=Unit.HOUR, owner=owner, floor_minor=floor_minor, ceiling_minor=ceiling_minor
    )


def new_id() -> uuid.UUID:
    return uuid.uuid4()


FUNDED_MINUTES = 100  # what `funded` gives alice


@dataclass
class Funded:
    """An issuance account (no floor), alice holding `minutes` from it, and bob holding none."""

    issuance: uuid.UUID
    alice: uuid.UUID
    bob: uuid.UUID


async def fund(
    ledger: Ledger,
    *,
    minutes: int = FUNDED_MINUTES,
    issuance_owner: str = "community:1:issuance",
    actor: str = "system",
) -> Funded:
    """Open issuance, alice and bob, and credit alice `minutes` (a welcome credit)."""
    issuance = await open_hours(ledger, issuance_owner, floor_minor=None)
    alice = await open_hours(ledger, "member:alice")
    bob = await open_hours(ledger, "member:bob")
    await ledger.transfer(
        id=new_id(),
        debit_account_id=issuance.id,
        credit_account_id=alice.id,
        amount_minor=minutes,
        unit=Unit.HOUR,
        code="welcome",
        actor=actor,
    )
    return Funded(issuance.id, alice.id, bob.id)


@pytest.fixture
async def funded(ledger: Ledger) -> Funded:
    """The test's `ledger`, funded: alice holds 100 minutes, bob none."""
    return await fund(ledger)

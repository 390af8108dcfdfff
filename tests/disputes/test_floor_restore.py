"""Raising a floor a dispute override lowered, on both engines: step by step as the member
earns hours back, never above the agreed floor, audited, idempotent, and never over an
admin's later limits change.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

import json

from ledger import Ledger
from service.members.accounts import member_account_id
from tests.conftest import TestDatabase
from tests.support.exchanges import (
    account,
    audit_rows,
    ok,
    propose,
)
from tests.support.floors import (
    AGREED_FLOOR,
    actions,
    earns,
    floor_of,
    give,
    overridden_to_660,
    restore,
)
from tests.support.people import Town


async def test_the_floor_follows_the_balance_up_to_the_agreed_floor(
    town: Town, db: TestDatabase, reader: Ledger
) -> None:
    await overridden_to_660(town)
    bob_account = str(member_account_id(town.bob.id))
    assert await restore(town) == 0  # nothing earned yet: nothing to raise

    await earns(town, 30)
    assert await restore(town) == 1
    assert await floor_of(reader, town.bob) == -630
    refused = await give(town, town.bob, town.alice, 1)
    assert refused.status_code == 409, refused.text
    assert (await account(town, town.bob))["below_floor_minutes"] == 30

    await earns(town, 60)
    assert await restore(town) == 1
    assert await floor_of(reader, town.bob) == AGREED_FLOOR
    bob = await account(town, town.bob)
    assert (bob["balance_minutes"], bob["below_floor_minutes"]) == (-570, 0)
    # Down to the agreed floor, and not a minute further.
    assert (await give(town, town.bob, town.alice, 31)).status_code == 409
    assert (await give(town, town.bob, town.alice, 30)).status_code == 201

    audit = await audit_rows(db, bob_account)
    assert actions(audit) == [
        "account.floor_override",
        "account.floor_restored",
        "account.floor_restored",
    ]
    first, second = audit[1], audit[2]
    assert first["actor_id"] is None
    assert json.loads(first["before_json"]) == {"floor_minutes": -660, "agreed_floor_minutes": -600}
    assert json.loads(first["after_json"]) == {"floor_minutes": -630, "override_over": False}
    assert json.loads(second["before_json"]) == {
        "floor_minutes": -630,
        "agreed_floor_minutes": -600,
    }
    assert json.loads(second["after_json"]) == {"floor_minutes": -600, "override_over": True}

    # The override is over: running again changes nothing and writes nothing.
    await earns(town, 120)
    assert await restore(town) == 0
    assert await floor_of(reader, town.bob) == AGREED_FLOOR
    assert len(await audit_rows(db, bob_account)) == 3


async def test_running_twice_changes_nothing_the_second_time(
    town: Town, db: TestDatabase, reader: Ledger
) -> None:
    await overridden_to_660(town)
    await earns(town, 45)
    assert await restore(town) == 1
    assert await restore(town) == 0
    assert await floor_of(reader, town.bob) == -615
    audit = await audit_rows(db, str(member_account_id(town.bob.id)))
    assert actions(audit) == ["account.floor_override", "account.floor_restored"]


async def test_an_admin_limits_change_after_the_override_stands(
    town: Town, db: TestDatabase, reader: Ledger
) -> None:
    await overridden_to_660(town)
    changed = await town.client.put(
        f"/api/v1/admin/accounts/{member_account_id(town.bob.id)}/limits",
        headers=town.admin.headers,
        json={"floor_minutes": -700, "ceiling_minutes": None, "reason": "Agreed with Bob."},
    )
    assert changed.status_code == 200, changed.text
    await earns(town, 90)
    assert await restore(town) == 0
    assert await floor_of(reader, town.bob) == -700
    audit = await audit_rows(db, str(member_account_id(town.bob.id)))
    assert actions(audit) == ["account.floor_override", "account.limits"]


async def test_hours_on_hold_count_against_the_raised_floor(town: Town, reader: Ledger) -> None:
    await overridden_to_660(town)
    await earns(town, 60)  # balance -600, back at the agreed floor on paper
    # Bob asks Alice for 20 minutes of help and she accepts: 20 minutes are held from him.
    exchange = await propose(town, town.bob, town.alice, [town.bob], minutes=20)
    await ok(town, town.alice, exchange, "accept")
    assert (await account(town, town.bob))["available_minutes"] == -620
    assert await restore(town) == 1
    assert await floor_of(reader, town.bob) == -620  # what he can spend, not his balance

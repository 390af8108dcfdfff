"""Limits a dispute resolution moves, on both engines: recorded from the ledger's own
locked result (not an earlier unlocked read), every floor and ceiling move audited, a
raised ceiling lowered back as the member spends like a lowered floor is raised, and
the sweep never overwrites an admin's limits change made while it runs.

After every test the ledger verifies clean and the HOUR trial balance sums to zero.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

from ledger import Ledger
from service.disputes import floors
from service.disputes import resolution as dispute_resolution
from service.members.accounts import member_account_id
from tests.conftest import TestDatabase
from tests.support.exchanges import WELCOME, account, audit_rows, completed, disputed, resolve
from tests.support.floors import (
    actions,
    earns,
    floor_of,
    give,
    overridden_to_660,
    restore,
)
from tests.support.people import Person, Town


def in_app(town: Town) -> httpx.AsyncClient:
    """A client for requests made from inside the app's loop (while a step is paused)."""
    app: Litestar = town.client.app
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI, typed strictly
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def ceiling_of(reader: Ledger, who: Person) -> int | None:
    return (await reader.account(account_id=member_account_id(who.id))).ceiling_minor


async def set_limits(
    http: httpx.AsyncClient | Any, town: Town, who: Person, floor: int, ceiling: int | None
) -> None:
    changed = await http.put(
        f"/api/v1/admin/accounts/{member_account_id(who.id)}/limits",
        headers=town.admin.headers,
        json={"floor_minutes": floor, "ceiling_minutes": ceiling, "reason": "Agreed."},
    )
    assert changed.status_code == 200, changed.text


async def test_a_ceiling_raised_by_an_override_is_audited_and_comes_back_down(
    town: Town, db: TestDatabase, reader: Ledger
) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    agreed_ceiling = WELCOME - 60  # Alice stands at her ceiling after paying
    await set_limits(town.client, town, town.alice, -600, agreed_ceiling)
    dispute = await disputed(town, town.alice, exchange)

    refused = await resolve(town, dispute, outcome="reversed")
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["limit"]) == (
        "limit_override_required",
        "exceeds_ceiling",
    )
    confirmed = await resolve(town, dispute, outcome="reversed", confirm_override=True)
    assert confirmed.status_code == 200, confirmed.text
    assert await ceiling_of(reader, town.alice) == WELCOME

    resolved = await audit_rows(db, dispute["id"])
    assert json.loads(resolved[-1]["after_json"])["override"] is True
    alice_account = str(member_account_id(town.alice.id))
    audit = await audit_rows(db, alice_account)
    assert actions(audit) == ["account.limits", "account.ceiling_override"]
    assert json.loads(audit[1]["before_json"]) == {"ceiling_minutes": agreed_ceiling}
    assert json.loads(audit[1]["after_json"]) == {
        "ceiling_minutes": WELCOME,
        "above_ceiling_minutes": 60,
    }

    assert await restore(town) == 0  # nothing spent yet: the ceiling stays
    assert (await give(town, town.alice, town.bob, 40)).status_code == 201
    assert await restore(town) == 1
    assert await ceiling_of(reader, town.alice) == WELCOME - 40
    assert (await give(town, town.alice, town.bob, 40)).status_code == 201
    assert await restore(town) == 1
    assert await ceiling_of(reader, town.alice) == agreed_ceiling  # never below the agreed one
    assert await restore(town) == 0
    audit = await audit_rows(db, alice_account)
    assert actions(audit)[2:] == ["account.ceiling_restored", "account.ceiling_restored"]
    assert json.loads(audit[-1]["after_json"]) == {
        "ceiling_minutes": agreed_ceiling,
        "override_over": True,
    }


async def test_the_agreed_floor_is_the_ledgers_when_the_provider_spends_meanwhile(
    town: Town, db: TestDatabase, reader: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob spends while the resolution runs (PostgreSQL: between its read and its reversal)."""
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    # Down to -540: reversing 60 would leave him exactly at his floor (-600).
    assert (await give(town, town.bob, town.alice, WELCOME + 60 + 540)).status_code == 201
    dispute = await disputed(town, town.alice, exchange)

    async def spend_30(http: httpx.AsyncClient) -> None:
        spent = await give_in(http, town, town.bob, town.alice, 30)
        assert spent.status_code == 201, spent.text

    if db.kind == "postgres":
        # The resolution holds no lock on Bob's account until the ledger's reversal.
        pause_before(monkeypatch, town, dispute_resolution, "reverse_exchange", spend_30)
    else:
        # SQLite has one writer: the resolution's reads cannot go stale; spend first.
        async with in_app(town) as http:
            await spend_30(http)

    confirmed = await resolve(town, dispute, outcome="reversed", confirm_override=True)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["corrections"][0]["below_floor_minutes"] == 30
    assert await floor_of(reader, town.bob) == -630
    bob = await account(town, town.bob)
    assert (bob["balance_minutes"], bob["below_floor_minutes"]) == (-630, 30)
    audit = await audit_rows(db, str(member_account_id(town.bob.id)))
    assert actions(audit) == ["account.floor_override"]
    assert json.loads(audit[0]["before_json"]) == {"floor_minutes": -600}
    assert json.loads(audit[0]["after_json"]) == {"floor_minutes": -630, "below_floor_minutes": 30}
    resolved = await audit_rows(db, dispute["id"])
    assert json.loads(resolved[-1]["after_json"])["override"] is True
    # And the lowered floor comes back up as Bob earns.
    await earns(town, 30)
    assert await restore(town) == 1
    assert await floor_of(reader, town.bob) == -600


async def test_the_sweep_never_overwrites_an_admin_change_made_while_it_runs(
    town: Town, db: TestDatabase, reader: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    await overridden_to_660(town)
    await earns(town, 90)  # the sweep would raise Bob's floor to -600

    async def admin_changes_limits(http: httpx.AsyncClient) -> None:
        await set_limits(http, town, town.bob, -700, 900)

    # The sweep has found Bob's override; the admin's change lands before it writes.
    pause_before(monkeypatch, town, floors, "_restore_one", admin_changes_limits)
    assert await restore(town) == 0
    bob = await reader.account(account_id=member_account_id(town.bob.id))
    assert (bob.floor_minor, bob.ceiling_minor) == (-700, 900)
    audit = await audit_rows(db, str(member_account_id(town.bob.id)))
    assert actions(audit) == ["account.floor_override", "account.limits"]


# Pausing a service step -------------------------------------------------------


async def give_in(
    http: httpx.AsyncClient, town: Town, giver: Person, to: Person, minutes: int
) -> httpx.Response:
    return await http.post(
        "/api/v1/transfers",
        headers=giver.headers,
        json={"to_member_id": str(to.id), "minutes": minutes},
    )


def pause_before(
    monkeypatch: pytest.MonkeyPatch,
    town: Town,
    module: Any,
    step: str,
    first: Callable[[httpx.AsyncClient], Awaitable[None]],
) -> None:
    """Run `first` (once, with a client into the app) just before the service's `step`."""
    original = getattr(module, step)
    done = False

    async def paused(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        if not done:
            done = True
            async with in_app(town) as http:
                await first(http)
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, step, paused)

"""Dispute overrides and the floor-restore sweep, as several test modules drive them."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from ledger import Ledger
from service.disputes.floors import restore_overridden_floors
from service.members.accounts import member_account_id
from tests.support.exchanges import (
    WELCOME,
    account,
    completed,
    disputed,
    resolve,
)
from tests.support.people import Person, Town

AGREED_FLOOR = -600  # the communities' default member floor


async def give(town: Town, giver: Person, to: Person, minutes: int) -> httpx.Response:
    return await town.client.post(
        "/api/v1/transfers",
        headers=giver.headers,
        json={"to_member_id": str(to.id), "minutes": minutes},
    )


async def overridden_to_660(town: Town) -> None:
    """Bob spends down to his floor, then a confirmed reversal takes him 1 hour below it."""
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    spent = await give(town, town.bob, town.alice, WELCOME + 60 + 600)
    assert spent.status_code == 201, spent.text
    dispute = await disputed(town, town.alice, exchange)
    confirmed = await resolve(town, dispute, outcome="reversed", confirm_override=True)
    assert confirmed.status_code == 200, confirmed.text
    bob = await account(town, town.bob)
    assert (bob["balance_minutes"], bob["floor_minutes"]) == (-660, -660)


async def restore(town: Town) -> int:
    app: Litestar = town.client.app
    return await restore_overridden_floors(engine=app.state.engine, ledger=app.state.ledger)


async def earns(town: Town, minutes: int) -> None:
    paid = await give(town, town.alice, town.bob, minutes)
    assert paid.status_code == 201, paid.text


async def floor_of(reader: Ledger, who: Person) -> int | None:
    return (await reader.account(account_id=member_account_id(who.id))).floor_minor


def actions(rows: list[dict[str, Any]]) -> list[str]:
    return [row["action"] for row in rows]

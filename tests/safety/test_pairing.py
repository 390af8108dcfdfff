"""Pairing for one-to-one friendship, on both engines: an older member who asked for
company and a younger one who offered it are suggested to their coordinator, ranked
by a shared ward and interests; introducing them messages both and is audited."""

from __future__ import annotations

from typing import Any

from tests.conftest import TestDatabase
from tests.safety.support import block
from tests.support.exchanges import audit_rows
from tests.support.listings import create
from tests.support.pages import page_text, sign_in, submit
from tests.support.people import Person, Town


async def profile(town: Town, who: Person, **fields: Any) -> None:
    response = await town.client.patch("/api/v1/me", headers=who.headers, json=fields)
    assert response.status_code == 200, response.text


async def test_a_suggested_pair_is_introduced(town: Town, db: TestDatabase) -> None:
    await profile(town, town.alice, birth_year=1948, ward="Weir", skills="gardening, tablets")
    await profile(town, town.bob, birth_year=2001, ward="Weir", skills="tablets, football")
    await create(
        town, town.alice, kind="request", category="companionship", title="A chat over tea"
    )
    await create(
        town, town.bob, kind="offer", category="companionship", title="Weekly visits for a chat"
    )
    await sign_in(town, town.coordinator)
    text = await page_text(town, "/coordinator/pairing")
    assert "A chat over tea" in text and "Weekly visits for a chat" in text
    assert "The same ward; tablets" in text

    introduced = await submit(
        town,
        "/coordinator/pairing",
        "/coordinator/pairing/introduce",
        {"older_id": str(town.alice.id), "younger_id": str(town.bob.id)},
    )
    assert introduced.status_code == 303, introduced.text
    assert "There are no suggested pairs" in await page_text(town, "/coordinator/pairing")
    for who in (town.alice, town.bob):
        inbox = (await town.client.get("/api/v1/conversations", headers=who.headers)).json()
        assert [item["other_member_id"] for item in inbox["items"]] == [str(town.coordinator.id)]
    [row] = await audit_rows(db, str(town.alice.id))
    assert row["action"] == "pairing.introduce"


async def test_a_block_keeps_a_pair_from_being_suggested(town: Town) -> None:
    await profile(town, town.alice, birth_year=1948)
    await profile(town, town.bob, birth_year=2001)
    await create(town, town.alice, kind="request", category="companionship", title="Tea")
    await create(town, town.bob, kind="offer", category="companionship", title="Visits")
    await block(town, town.alice, town.bob)
    await sign_in(town, town.coordinator)
    assert "There are no suggested pairs" in await page_text(town, "/coordinator/pairing")

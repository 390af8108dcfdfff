"""The grant page shows what is in the pool, for the coordinator's communities only."""

from __future__ import annotations

from tests.support.pages import page_sign_in, text_of
from tests.support.people import Town


async def test_the_grant_page_shows_the_pool_balance(town: Town) -> None:
    donated = await town.client.post(
        "/api/v1/transfers", headers=town.alice.headers, json={"to": "pool", "minutes": 90}
    )
    assert donated.status_code == 201, donated.text
    await page_sign_in(town.client, town.coordinator.email)
    before = text_of((await town.client.get("/coordinator/grant")).text)
    assert "In the pool now Riverside 1 hour 30 minutes" in before
    assert "Hillside" not in before  # not theirs
    granted = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(town.bob.id), "minutes": 60, "reason": "A hard month"},
    )
    assert granted.status_code == 201, granted.text
    after = text_of((await town.client.get("/coordinator/grant")).text)
    assert "In the pool now Riverside 30 minutes" in after

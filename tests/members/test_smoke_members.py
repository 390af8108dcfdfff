from __future__ import annotations

from tests.support.people import Town


async def test_town_builds_and_members_see_their_welcome_credit(town: Town) -> None:
    response = await town.client.get("/api/v1/accounts/me", headers=town.alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["balance_minutes"] == 120
    me = await town.client.get("/api/v1/me", headers=town.coordinator.headers)
    assert me.json()["roles"] == [{"role": "coordinator", "community": "riverside", "area": None}]

"""A community's coordinators change its settings after set-up (issue 18's listing days
and in-home checks, issue 16's days before a done exchange confirms by itself), on
both engines: only the fields sent change, the change is audited, and nobody else
learns anything (404 before the body, as for every object route)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.listings import create
from tests.support.people import Person, Town, grant

URL = "/api/v1/coordinator/communities/riverside"


async def change(town: Town, who: Person, body: Any, slug: str = "riverside") -> httpx.Response:
    return await town.client.patch(
        f"/api/v1/coordinator/communities/{slug}", headers=who.headers, json=body
    )


async def riverside(town: Town) -> dict[str, Any]:
    listed = await town.client.get("/api/v1/communities")
    return next(item for item in listed.json() if item["slug"] == "riverside")


async def test_a_coordinator_changes_only_what_they_send(town: Town) -> None:
    before = await riverside(town)
    response = await change(
        town, town.coordinator, {"listing_days": 30, "home_check_required": True}
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["listing_days"] == 30
    assert after["home_check_required"] is True
    assert after["welcome_credit_minutes"] == before["welcome_credit_minutes"]
    assert after["area"] == before["area"]
    assert await riverside(town) == after
    # The new number of days applies to listings published from now on.
    listing = await create(town, town.bob, title="Tablet lessons")
    expires_at = datetime.fromisoformat(listing["expires_at"])
    assert timedelta(days=29) < expires_at - datetime.now(UTC) <= timedelta(days=30)
    # null puts the days before a done exchange confirms back to the installation's.
    assert (await change(town, town.coordinator, {"autoconfirm_days": 3})).json()[
        "autoconfirm_days"
    ] == 3
    cleared = await change(town, town.coordinator, {"autoconfirm_days": None})
    assert cleared.json()["autoconfirm_days"] is None


async def test_the_change_is_audited_with_before_and_after(town: Town) -> None:
    await change(town, town.coordinator, {"listing_days": 60, "requires_approval": True})
    audit = await town.client.get(
        "/api/v1/admin/audit", headers=town.admin.headers, params={"action": "community.settings"}
    )
    [entry] = audit.json()["items"]
    assert entry["actor_id"] == str(town.coordinator.id)
    assert entry["before"] == {"listing_days": 90, "requires_approval": False}
    assert entry["after"] == {"listing_days": 60, "requires_approval": True}
    # Sending what is already set changes nothing and writes no line.
    await change(town, town.coordinator, {"listing_days": 60})
    again = await town.client.get(
        "/api/v1/admin/audit", headers=town.admin.headers, params={"action": "community.settings"}
    )
    assert len(again.json()["items"]) == 1


async def test_nobody_else_learns_anything(town: Town) -> None:
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    for body in ({"listing_days": 30}, {"listing_days": 1}, {"colour": "red"}, []):
        elsewhere = await change(town, town.carol, body)
        assert elsewhere.status_code == 404, elsewhere.text
        unknown = await change(town, town.coordinator, body, slug="atlantis")
        assert unknown.status_code == 404, unknown.text
        member = await change(town, town.bob, body)
        assert member.status_code == 403, member.text
    assert (await riverside(town))["listing_days"] == 90
    # An admin may change any community.
    assert (await change(town, town.admin, {"listing_days": 45})).status_code == 200


async def test_bad_settings_are_refused_and_nothing_changes(town: Town) -> None:
    for body in (
        {"listing_days": 1},
        {"listing_days": 99_999},
        {"autoconfirm_days": 0},
        {"welcome_credit_minutes": -5},
        {"name": ""},
        {"colour": "red"},
        {"listing_days": "ninety"},
    ):
        refused = await change(town, town.coordinator, body)
        assert refused.status_code == 400, (body, refused.text)
    assert (await riverside(town))["listing_days"] == 90

"""Wellbeing check-ins on both engines: consent, ranges, seeing, deleting, the offer,
the export and erasure on closure (issue 19, ADR 0042)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.limits import WELLBEING_INTERVAL_DAYS
from service.wellbeing.tables import CheckIn, Skip
from tests.support.people import Person, Town

PATH = "/api/v1/me/wellbeing"


def answers(**change: Any) -> dict[str, Any]:
    return {
        "consent": True, "life_satisfaction": 7, "worthwhile": 8, "happy_yesterday": 6,
        "anxious_yesterday": 3, "lack_companionship": 2, "left_out": 1, "isolated": 3, **change,
    }  # fmt: skip


async def own(town: Town, who: Person) -> dict[str, Any]:
    response = await town.client.get(PATH, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_check_in_is_offered_kept_listed_and_deleted(town: Town) -> None:
    assert (await own(town, town.alice)) == {"due": True, "items": []}
    saved = await town.client.post(PATH, headers=town.alice.headers, json=answers())
    assert saved.status_code == 201, saved.text
    item = saved.json()
    assert item["loneliness"] == 6
    body = await own(town, town.alice)
    assert body["due"] is False
    assert [each["id"] for each in body["items"]] == [item["id"]]
    assert (await own(town, town.bob))["items"] == []  # nobody else sees it
    stranger = await town.client.delete(f"{PATH}/{item['id']}", headers=town.bob.headers)
    assert stranger.status_code == 404, stranger.text
    deleted = await town.client.delete(f"{PATH}/{item['id']}", headers=town.alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await own(town, town.alice))["items"] == []
    again = await town.client.delete(f"{PATH}/{item['id']}", headers=town.alice.headers)
    assert again.status_code == 404


async def test_out_of_range_or_unconsented_answers_are_422_and_keep_nothing(town: Town) -> None:
    for change, field in (
        ({"life_satisfaction": 11}, "life_satisfaction"),
        ({"anxious_yesterday": -1}, "anxious_yesterday"),
        ({"isolated": 4}, "isolated"),
        ({"left_out": 0}, "left_out"),
        ({"consent": False}, "consent"),
    ):
        response = await town.client.post(PATH, headers=town.alice.headers, json=answers(**change))
        assert response.status_code == 422, (change, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], change
    assert await CheckIn.count() == 0
    wrong_type = await town.client.post(
        PATH, headers=town.alice.headers, json=answers(worthwhile="8")
    )
    assert wrong_type.status_code == 400, wrong_type.text


async def test_skipping_puts_the_offer_off_for_the_interval(town: Town) -> None:
    skipped = await town.client.post(f"{PATH}/skip", headers=town.alice.headers)
    assert skipped.status_code == 204, skipped.text
    assert (await own(town, town.alice))["due"] is False
    long_ago = datetime.now(UTC) - timedelta(days=WELLBEING_INTERVAL_DAYS + 1)
    await Skip.update({Skip.skipped_at: long_ago}).where(Skip.member == town.alice.id).run()
    assert (await own(town, town.alice))["due"] is True
    pending = await own(town, town.pending)
    assert pending["due"] is False  # offered once a member is approved


async def test_the_export_has_them_and_closure_erases_them(town: Town) -> None:
    saved = await town.client.post(PATH, headers=town.bob.headers, json=answers(worthwhile=2))
    assert saved.status_code == 201, saved.text
    export = await town.client.get("/api/v1/me/export", headers=town.bob.headers)
    assert export.status_code == 200, export.text
    [item] = export.json()["wellbeing"]
    assert (item["id"], item["worthwhile"]) == (saved.json()["id"], 2)
    await town.client.post(f"{PATH}/skip", headers=town.bob.headers)
    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204, closed.text
    assert not await CheckIn.exists().where(CheckIn.member == town.bob.id)
    assert not await Skip.exists().where(Skip.member == town.bob.id)

"""Events through the JSON API, on both engines (issue 19 item 1): making a series, the
capacity and the waiting list that moves up and tells the member, the register that
credits each host once from the pool (a repeat gives the same answer), the day-before
reminder sweep, and what is refused (before the start, another community, bad input)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.transactions import read_connection
from service import database
from service.events.ids import host_credit_id
from service.events.rsvp import events_reminder_sweep
from service.events.selectors import (
    event_figures,
    event_figures_by_month,
    event_participation_by_month,
)
from service.events.tables import EventOccurrence, EventRsvp
from service.mail.tables import MailNotice
from service.members.tables import Community
from service.reports.period import Period
from tests.events.conftest import create_event, event_body, events_clock_at, fund_pool, go, soon
from tests.support.exchanges import account, notices
from tests.support.people import Town, person


async def test_a_coordinator_makes_a_weekly_series_of_meetings(town: Town) -> None:
    created = await create_event(town, town.coordinator)
    assert created["title"] == "Tuesday tea club"
    assert created["repeat"] == "weekly" and created["position"] == 1
    assert created["occurrences"] == 4
    assert created["attending_count"] == 0 and created["going"] is False
    assert created["host_ids"] == [str(town.alice.id)]
    rows = (
        await EventOccurrence.select(EventOccurrence.starts_at)
        .where(EventOccurrence.series == uuid.UUID(created["series_id"]))
        .order_by(EventOccurrence.position)
        .run()
    )
    gaps = {
        (later["starts_at"] - earlier["starts_at"]).days
        for earlier, later in itertools.pairwise(rows)
    }
    assert len(rows) == 4 and gaps == {7}
    listed = await town.client.get("/api/v1/events", headers=town.bob.headers)
    assert listed.status_code == 200
    assert len([item for item in listed.json() if item["series_id"] == created["series_id"]]) == 4


async def test_a_plain_member_may_host_only_when_a_coordinator_lets_them(town: Town) -> None:
    refused = await town.client.post(
        "/api/v1/events", headers=town.alice.headers, json=event_body(town, town.alice)
    )
    assert refused.status_code == 403, refused.text
    let = await town.client.put(
        f"/api/v1/coordinator/members/{town.alice.id}/may-host",
        headers=town.coordinator.headers,
        json={"may_host": True},
    )
    assert let.status_code == 200, let.text
    assert let.json() == {"member_id": str(town.alice.id), "may_host": True}
    await create_event(town, town.alice)


async def test_making_an_event_in_another_community_is_403(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/events",
        headers=town.coordinator.headers,
        json=event_body(town, town.alice, community="hillside"),
    )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": soon().isoformat()}, "ends_at"),
        (
            {
                "starts_at": soon(days=-1).isoformat(),
                "ends_at": (soon(days=-1) + timedelta(hours=1)).isoformat(),
            },
            "starts_at",
        ),
        ({"repeat": "none", "occurrences": 3}, "occurrences"),
        ({"category": "no-such-kind"}, "category"),
        ({"community": "nowhere"}, "community"),
    ],
)
async def test_bad_events_are_422_naming_the_field(
    town: Town, change: dict[str, Any], field: str
) -> None:
    response = await town.client.post(
        "/api/v1/events",
        headers=town.coordinator.headers,
        json=event_body(town, town.alice, **change),
    )
    assert response.status_code == 422, response.text
    assert field in {error["field"] for error in response.json()["errors"]}


async def test_a_host_from_another_community_is_422(town: Town) -> None:
    body = event_body(town, town.alice, host_ids=[str(town.carol.id)])
    response = await town.client.post("/api/v1/events", headers=town.coordinator.headers, json=body)
    assert response.status_code == 422, response.text


async def test_wrong_types_and_unknown_fields_are_400(town: Town) -> None:
    for body in (
        event_body(town, town.alice, capacity="two"),
        event_body(town, town.alice, surprise=1),
        event_body(town, town.alice, occurrences=1000),
    ):
        response = await town.client.post(
            "/api/v1/events", headers=town.coordinator.headers, json=body
        )
        assert response.status_code == 400, response.text


async def test_over_capacity_is_409_unless_waiting_then_the_first_waiter_moves_up(
    town: Town,
) -> None:
    event = await create_event(town, town.coordinator)
    dave = await person(town.client, "dave@example.org", "riverside")
    assert (await go(town, town.alice, event["id"])).status_code == 201
    assert (await go(town, town.bob, event["id"])).status_code == 201
    full = await go(town, dave, event["id"])
    assert full.status_code == 409 and full.json()["code"] == "event_full"
    waiting = await go(town, dave, event["id"], wait=True)
    assert waiting.status_code == 201
    assert waiting.json()["waiting"] is True and waiting.json()["going"] is False
    seen = (await town.client.get(f"/api/v1/events/{event['id']}", headers=dave.headers)).json()
    assert (seen["attending_count"], seen["waiting_count"], seen["waiting"]) == (2, 1, True)

    stopped = await town.client.delete(
        f"/api/v1/events/{event['id']}/rsvp", headers=town.bob.headers
    )
    assert stopped.status_code == 200 and stopped.json()["attending_count"] == 2
    seen = (await town.client.get(f"/api/v1/events/{event['id']}", headers=dave.headers)).json()
    assert (seen["going"], seen["waiting"], seen["attending_count"]) == (True, False, 2)
    told = [e for e in (await notices(town, dave))["events"] if e["kind"] == "event_place_free"]
    assert len(told) == 1 and told[0]["link"] == f"/events/{event['id']}"


async def test_going_twice_answers_where_the_member_stands(town: Town) -> None:
    event = await create_event(town, town.coordinator, capacity=None)
    first = await go(town, town.bob, event["id"])
    again = await go(town, town.bob, event["id"])
    assert first.json() == again.json()
    assert await EventRsvp.count().where(EventRsvp.member == town.bob.id).run() == 1


async def test_the_register_credits_each_host_once_and_a_repeat_gives_the_same_answer(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fund_pool(town, town.bob, 100)
    event = await create_event(town, town.coordinator)
    await go(town, town.bob, event["id"])
    before = await account(town, town.alice)
    url = f"/api/v1/events/{event['id']}/attendance"
    too_early = await town.client.post(
        url, headers=town.coordinator.headers, json={"attended_ids": [str(town.bob.id)]}
    )
    assert too_early.status_code == 409 and too_early.json()["code"] == "event_not_started"

    events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    body = {"attended_ids": [str(town.bob.id), str(town.alice.id)]}
    first = await town.client.post(url, headers=town.coordinator.headers, json=body)
    assert first.status_code == 200, first.text
    again = await town.client.post(url, headers=town.coordinator.headers, json=body)
    assert again.json() == first.json()
    [credit] = first.json()["hosts_credited"]
    assert credit == {
        "member_id": str(town.alice.id),
        "minutes": 90,
        "transfer_id": str(host_credit_id(uuid.UUID(event["id"]), town.alice.id)),
    }
    after = await account(town, town.alice)
    assert after["balance_minutes"] - before["balance_minutes"] == 90
    statement = await town.client.get("/api/v1/accounts/me/statement", headers=town.alice.headers)
    hosting = [line for line in statement.text.split("},") if "Hosting Tuesday tea club" in line]
    assert len(hosting) == 1

    community = (
        await Community.select(Community.id).where(Community.slug == "riverside").first().run()
    )
    assert community is not None

    month = soon().year * 100 + soon().month
    figures = await event_figures([community["id"]], Period(first=month, last=month))
    assert (figures.events_held, figures.event_attendances) == (1, 2)
    by_month = await event_figures_by_month([community["id"]], Period(first=month, last=month))
    assert by_month == {month: figures}
    other = await Community.select(Community.id).where(Community.slug == "hillside").run()
    nothing = await event_figures([other[0]["id"]], Period(first=month, last=month))
    assert (nothing.events_held, nothing.event_attendances) == (0, 0)


async def test_an_empty_pool_refuses_the_register_and_writes_nothing(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await create_event(town, town.coordinator)
    events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    url = f"/api/v1/events/{event['id']}/attendance"
    refused = await town.client.post(
        url, headers=town.coordinator.headers, json={"attended_ids": []}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "pool_insufficient"
    row = (
        await EventOccurrence.select()
        .where(EventOccurrence.id == uuid.UUID(event["id"]))
        .first()
        .run()
    )
    assert row is not None and row["credited_at"] is None
    await fund_pool(town, town.bob, 90)
    taken = await town.client.post(url, headers=town.coordinator.headers, json={"attended_ids": []})
    assert taken.status_code == 200, taken.text


async def test_the_register_is_the_coordinators_and_names_members_of_the_community(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await create_event(town, town.coordinator)
    events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    url = f"/api/v1/events/{event['id']}/attendance"
    by_member = await town.client.post(url, headers=town.bob.headers, json={"attended_ids": []})
    assert by_member.status_code == 403
    stranger = await town.client.post(
        url, headers=town.coordinator.headers, json={"attended_ids": [str(town.carol.id)]}
    )
    assert stranger.status_code == 422, stranger.text


async def test_another_communitys_event_is_not_found(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    for response in (
        await town.client.get(f"/api/v1/events/{event['id']}", headers=town.carol.headers),
        await go(town, town.carol, event["id"]),
    ):
        assert response.status_code == 404, response.text
    listed = await town.client.get("/api/v1/events", headers=town.carol.headers)
    assert listed.json() == []


async def test_a_cancelled_meeting_tells_who_was_going_and_takes_nobody(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    await go(town, town.bob, event["id"])
    cancelled = await town.client.post(
        f"/api/v1/events/{event['id']}/cancel", headers=town.coordinator.headers
    )
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    kinds = [e["kind"] for e in (await notices(town, town.bob))["events"]]
    assert kinds.count("event_cancelled") == 1
    late = await go(town, town.alice, event["id"])
    assert late.status_code == 409 and late.json()["code"] == "event_cancelled"


async def test_one_meeting_moves_and_the_others_stay(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    later = soon(days=3)
    moved = await town.client.patch(
        f"/api/v1/events/{event['id']}",
        headers=town.coordinator.headers,
        json={
            "starts_at": later.isoformat(),
            "ends_at": (later + timedelta(hours=1)).isoformat(),
            "place": "The library",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["place"] == "The library"
    others = (
        await EventOccurrence.select(EventOccurrence.place)
        .where(
            (EventOccurrence.series == uuid.UUID(event["series_id"]))
            & (EventOccurrence.position > 1)
        )
        .run()
    )
    assert {row["place"] for row in others} == {"Riverside hall"}


async def test_the_reminder_sweep_queues_one_reminder_per_attendee_per_meeting(
    town: Town,
) -> None:
    event = await create_event(town, town.coordinator)
    await go(town, town.bob, event["id"])
    engine = town.app.state.engine
    day_before = soon() - timedelta(hours=20)
    assert await events_reminder_sweep(engine=engine, now=soon() - timedelta(days=1.5)) == 0
    assert await events_reminder_sweep(engine=engine, now=day_before) == 1
    assert await events_reminder_sweep(engine=engine, now=day_before + timedelta(hours=1)) == 0
    reminders = (
        await MailNotice.count()
        .where((MailNotice.member == town.bob.id) & (MailNotice.kind == "event_reminder"))
        .run()
    )
    assert reminders == 1


async def test_the_export_holds_rsvps_and_attendance_and_closure_frees_the_place(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fund_pool(town, town.alice, 100)
    event = await create_event(town, town.coordinator, capacity=1)
    dave = await person(town.client, "dave@example.org", "riverside")
    await go(town, dave, event["id"])
    assert (await go(town, town.bob, event["id"], wait=True)).json()["waiting"] is True
    export = (await town.client.get("/api/v1/me/export", headers=dave.headers)).json()
    [mine] = export["events"]
    assert (mine["event_id"], mine["going"], mine["attended"]) == (event["id"], True, False)

    closed = await town.client.delete("/api/v1/me", headers=dave.headers)
    assert closed.status_code == 204, closed.text
    seen = (await town.client.get(f"/api/v1/events/{event['id']}", headers=town.bob.headers)).json()
    assert (seen["going"], seen["attending_count"], seen["waiting_count"]) == (True, 1, 0)

    events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    taken = await town.client.post(
        f"/api/v1/events/{event['id']}/attendance",
        headers=town.coordinator.headers,
        json={"attended_ids": [str(town.bob.id)]},
    )
    assert taken.status_code == 200, taken.text
    export = (await town.client.get("/api/v1/me/export", headers=town.bob.headers)).json()
    [bobs] = [item for item in export["events"] if item["event_id"] == event["id"]]
    assert bobs["attended"] is True and bobs["going"] is True


async def test_two_members_racing_for_the_last_place_get_one_place_and_one_409(
    town: Town,
) -> None:
    event = await create_event(town, town.coordinator, capacity=1)
    dave = await person(town.client, "dave@example.org", "riverside")
    answers = await asyncio.gather(go(town, town.bob, event["id"]), go(town, dave, event["id"]))
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    going = await EventRsvp.count().where(EventRsvp.occurrence == uuid.UUID(event["id"])).run()
    assert going == 1


async def test_two_registers_at_once_credit_the_host_once(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fund_pool(town, town.bob, 200)
    event = await create_event(town, town.coordinator)
    before = await account(town, town.alice)
    events_clock_at(monkeypatch, soon() + timedelta(hours=3))
    url = f"/api/v1/events/{event['id']}/attendance"
    body = {"attended_ids": [str(town.bob.id)]}
    answers = await asyncio.gather(
        town.client.post(url, headers=town.coordinator.headers, json=body),
        town.client.post(url, headers=town.admin.headers, json=body),
    )
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    after = await account(town, town.alice)
    assert after["balance_minutes"] - before["balance_minutes"] == 90


async def test_participation_falls_in_the_utc_month_of_each_meeting(town: Town) -> None:
    """Two meetings either side of midnight at a month's end: each counts in its own month,
    with who came then and the host (alice) in both; a member who came twice in one month
    is one person there."""
    await fund_pool(town, town.bob, 200)
    boundary = datetime(2026, 10, 1, tzinfo=UTC)
    plan = [(boundary - timedelta(minutes=30), [town.bob]),
            (boundary + timedelta(minutes=30), [town.bob, town.coordinator]),
            (boundary + timedelta(days=7), [town.bob])]  # fmt: skip
    for starts_at, came in plan:
        event = await create_event(
            town, town.coordinator, repeat="none", occurrences=1, host_minutes=30
        )
        await (
            EventOccurrence.update(
                {EventOccurrence.starts_at: starts_at,
                 EventOccurrence.ends_at: starts_at + timedelta(minutes=20)}
            )
            .where(EventOccurrence.id == uuid.UUID(event["id"]))
            .run()
        )  # fmt: skip
        taken = await town.client.post(
            f"/api/v1/events/{event['id']}/attendance",
            headers=town.coordinator.headers,
            json={"attended_ids": [str(person.id) for person in came]},
        )
        assert taken.status_code == 200, taken.text
    riverside = await Community.select(Community.id).where(Community.slug == "riverside").run()
    async with read_connection(database.active_engine()) as connection:
        taken_by_month = await event_participation_by_month(
            connection, [riverside[0]["id"]], Period(first=202609, last=202611)
        )
    assert sorted(taken_by_month) == [202609, 202610]
    september, october = taken_by_month[202609], taken_by_month[202610]
    assert (september.events_held, september.event_attendances) == (1, 1)
    assert (october.events_held, october.event_attendances) == (2, 3)
    assert september.people == {town.bob.id, town.alice.id}
    assert october.people == {town.bob.id, town.coordinator.id, town.alice.id}

"""The events pages through HTTP, on both engines: the create form's refusals (every
error at once, 422), a plain member who may not make events, cancelling a meeting only
with the box ticked, and a register posted before the start (409, nothing recorded)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from service import clock
from service.events.tables import EventAttendance
from tests.events.conftest import create_event, event_body, soon
from tests.support.pages import page_sign_in, submit, text_of
from tests.support.people import Town

SUNDAY = 6  # date.weekday()


async def test_the_create_form_shows_every_error_at_once(town: Town) -> None:
    await page_sign_in(town.client, town.coordinator.email)
    bad = await submit(
        town,
        "/events/new",
        "/events/new",
        {
            "community": "riverside",
            "title": "",
            "day": "soon",
            "starts": "2pm",
            "ends": "",
            "place": "",
            "host": str(town.alice.id),
            "host_minutes": "lots",
            "repeat": "weekly",
        },
    )
    assert bad.status_code == 422
    words = text_of(bad.text)
    assert "Enter the date, like 2026-05-14" in words
    assert "Enter a time like 14:30" in words
    assert "Enter minutes as a number" in words


async def test_a_coordinator_makes_a_monthly_event_from_the_form(town: Town) -> None:
    await page_sign_in(town.client, town.coordinator.email)
    day = soon(days=5).date().isoformat()
    made = await submit(
        town,
        "/events/new",
        "/events/new",
        {
            "community": "riverside",
            "title": "Walk by the river",
            "day": day,
            "starts": "10:00",
            "ends": "12:00",
            "place": "The bridge",
            "host": str(town.alice.id),
            "host_minutes": "60",
            "repeat": "monthly",
            "occurrences": "3",
            "capacity": "",
            "step_free": "yes",
        },
    )
    assert made.status_code == 303, made.text
    page = await town.client.get(made.headers["location"])
    words = text_of(page.text)
    assert "Walk by the river" in words and "Every month: meeting 1 of 3" in words
    assert "Step-free access." in words


async def test_a_plain_member_is_told_who_may_make_events(town: Town) -> None:
    await page_sign_in(town.client, town.bob.email)
    page = await town.client.get("/events/new")
    assert "Only a coordinator, or a member a coordinator lets host" in text_of(page.text)
    listed = await town.client.get("/events")
    assert "Make an event" not in listed.text


async def test_cancelling_asks_for_the_ticked_box(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    await page_sign_in(town.client, town.coordinator.email)
    page = f"/events/{event['id']}"
    unticked = await submit(town, page, f"{page}/cancel", {})
    assert unticked.status_code == 422
    assert "Tick the box to cancel this meeting" in text_of(unticked.text)
    ticked = await submit(town, page, f"{page}/cancel", {"confirm": "yes"})
    assert ticked.status_code == 303
    assert "This meeting is cancelled." in text_of((await town.client.get(page)).text)


async def test_a_register_before_the_start_is_refused_and_records_nobody(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    await page_sign_in(town.client, town.coordinator.email)
    page = f"/events/{event['id']}/register"
    early = await submit(town, page, page, {"attended": str(town.bob.id)})
    assert early.status_code == 422
    assert "once the meeting has started" in text_of(early.text)
    assert await EventAttendance.count().run() == 0


async def test_the_desk_lets_a_member_make_events(town: Town) -> None:
    await page_sign_in(town.client, town.coordinator.email)
    page = f"/coordinator/members/{town.bob.id}"
    assert "Let them make events" in (await town.client.get(page)).text
    let = await submit(town, page, f"/events/may-host/{town.bob.id}", {"may_host": "yes"})
    assert let.status_code == 303, let.text
    shown = text_of((await town.client.get(let.headers["location"])).text)
    assert "Saved: whether they may make events." in shown
    assert "may make events for the community" in shown
    made = await town.client.post(
        "/api/v1/events",
        headers=town.bob.headers,
        json=event_body(town, town.bob, title="Bob's quiz night"),
    )
    assert made.status_code == 201, made.text


async def test_a_coordinator_moves_one_meeting_from_its_page(town: Town) -> None:
    event = await create_event(town, town.coordinator)
    await page_sign_in(town.client, town.coordinator.email)
    page = f"/events/{event['id']}"
    day = soon(days=4).date().isoformat()
    bad = await submit(
        town, page, f"{page}/change", {"day": day, "starts": "noon", "ends": "13:00", "place": ""}
    )
    assert bad.status_code == 422
    assert "Enter a time like 14:30" in text_of(bad.text)
    assert "Say where it is held" in text_of(bad.text)
    backwards = await submit(
        town,
        page,
        f"{page}/change",
        {"day": day, "starts": "15:00", "ends": "13:00", "place": "The library"},
    )
    assert backwards.status_code == 422
    assert "must be after the start" in text_of(backwards.text)
    moved = await submit(
        town,
        page,
        f"{page}/change",
        {"day": day, "starts": "11:00", "ends": "13:00", "place": "The library"},
    )
    assert moved.status_code == 303, moved.text
    words = text_of((await town.client.get(moved.headers["location"])).text)
    assert "This meeting is moved." in words and "The library" in words


async def test_the_form_takes_a_second_host_and_both_are_credited_hosts(town: Town) -> None:
    """Alice hosts with Bob; choosing the same person twice is one host; a second host
    that is not on the list is refused by that field, with nothing made."""
    await page_sign_in(town.client, town.coordinator.email)
    form = {
        "community": "riverside", "title": "Knit and natter",
        "day": soon(days=5).date().isoformat(), "starts": "14:00", "ends": "16:00",
        "place": "The library", "host": str(town.alice.id), "host_minutes": "60",
        "repeat": "none", "capacity": "",
    }  # fmt: skip
    for cohost, expected in ((str(town.bob.id), {town.alice.id, town.bob.id}),
                             (str(town.alice.id), {town.alice.id})):  # fmt: skip
        made = await submit(town, "/events/new", "/events/new", {**form, "cohost": cohost})
        assert made.status_code == 303, made.text
        event_id = made.headers["location"].rsplit("/", 1)[1]
        event = await town.client.get(f"/api/v1/events/{event_id}", headers=town.alice.headers)
        assert event.status_code == 200, event.text
        assert {uuid.UUID(host["member_id"]) for host in event.json()["hosts"]} == expected
    bad = await submit(town, "/events/new", "/events/new", {**form, "cohost": "someone"})
    assert bad.status_code == 422
    assert "Choose a second host from the list, or none" in text_of(bad.text)


def _spring_change(year: int) -> date:
    """The last Sunday of March: London's clocks go from 01:00 to 02:00."""
    last = date(year, 3, 31)
    return last - timedelta(days=(last.weekday() - SUNDAY) % 7)


async def test_times_are_written_and_read_on_the_time_banks_clock(town: Town) -> None:
    """A coordinator's "14:30" on a summer day is 13:30 UTC to the API and 2:30 pm on the
    page, and the change form offers 14:30 back; a time the clocks skip is refused
    (ADR 0064)."""
    await page_sign_in(town.client, town.coordinator.email)
    year = clock.local_today().year + 1
    form = {
        "community": "riverside", "title": "Summer fete", "day": f"{year}-07-01",
        "starts": "14:30", "ends": "16:00", "place": "The green",
        "host": str(town.alice.id), "host_minutes": "60", "repeat": "none", "capacity": "",
    }  # fmt: skip
    made = await submit(town, "/events/new", "/events/new", form)
    assert made.status_code == 303, made.text
    event_id = made.headers["location"].rsplit("/", 1)[1]
    event = (await town.client.get(f"/api/v1/events/{event_id}", headers=town.alice.headers)).json()
    assert datetime.fromisoformat(event["starts_at"]) == datetime(year, 7, 1, 13, 30, tzinfo=UTC)
    assert datetime.fromisoformat(event["ends_at"]) == datetime(year, 7, 1, 15, 0, tzinfo=UTC)
    page = await town.client.get(made.headers["location"])
    assert "at 2:30 pm until 16:00" in text_of(page.text)
    assert 'value="14:30"' in page.text and 'value="16:00"' in page.text
    skipped = await submit(
        town, "/events/new", "/events/new",
        {**form, "day": _spring_change(year).isoformat(), "starts": "01:30", "ends": "03:00"},
    )  # fmt: skip
    assert skipped.status_code == 422
    assert "The clocks go forward at that time that day" in text_of(skipped.text)

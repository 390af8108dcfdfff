"""GET /api/v1/reports/impact(.csv) on both engines, against the hand-computed fixture.

tests/reports/fixture.py lists every exchange. For the north council (riverside
and oakfield), months A, B and C:
  exchanges 13 (A 6, B 7), hours 635 minutes (A 330, B 305), all one-to-one;
  intergenerational (under 35 with 65 and over): Yi <-> Oi, 300 in A, 225 in B;
  people connected (the north's own members, as the flows report's active members):
  A 12 (Y1-5, O1-6, M1), B 13 (O1-5, Y1-6, M1, alice), the period 14 (Y1-6, O1-6,
  M1, alice); carol, whom alice helped, belongs to hillside in the south;
  events: none, but for the test that adds one; new members as the flows report
  counts them; nobody joined
  three months before an exchange, so nobody is "still active" yet.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from ledger.transactions import read_connection, write_transaction
from service import database
from service.events.tables import EventOccurrence
from service.members.tables import Member
from service.rollups import services as rollups
from service.rollups.verify import rollups_verify
from tests.events.conftest import create_event, fund_pool, go
from tests.reports import fixture
from tests.reports.attack import Equation, recoverable
from tests.reports.fixture import MONTH_A, MONTH_B, MONTH_C, Fixture, month_key
from tests.support.exchanges import ok, propose
from tests.support.people import Person, Town

A, B, C = month_key(MONTH_A), month_key(MONTH_B), month_key(MONTH_C)
ADDS_UP = (
    "exchanges", "hours_minutes", "events_held", "event_attendances", "one_to_one_minutes",
    "intergenerational_minutes", "new_members", "active_after_3_months", "active_after_6_months",
)  # fmt: skip


@pytest.fixture
async def world(town: Town) -> Fixture:
    return await fixture.build(town)


async def impact(
    world: Fixture, who: Person, *, csv_form: bool = False, **query: Any
) -> httpx.Response:
    path = "/api/v1/reports/impact.csv" if csv_form else "/api/v1/reports/impact"
    return await world.town.client.get(path, headers=who.headers, params={**world.period, **query})


async def body_of(world: Fixture, who: Person, **query: Any) -> dict[str, Any]:
    response = await impact(world, who, **query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def months_of(body: dict[str, Any], name: str) -> dict[str, int | None]:
    figure = next(f for f in body["figures"] if f["name"] == name)
    return {m["month"]: m["value"] for m in figure["months"]}


async def test_the_north_council_sees_the_hand_computed_impact(world: Fixture) -> None:
    body = await body_of(world, world.town.council)
    assert body["k"] == 5
    assert {c["slug"] for c in body["communities"]} == {"riverside", "oakfield"}
    assert body["exchanges"] == 13
    assert body["hours_minutes"] == 635
    assert body["one_to_one_minutes"] == 635
    assert body["intergenerational_minutes"] == 525
    assert body["people_connected"] == 15 - 1  # not carol
    assert (body["events_held"], body["event_attendances"]) == (0, 0)
    assert (body["active_after_3_months"], body["active_after_6_months"]) == (0, 0)
    flows = await world.town.client.get(
        "/api/v1/reports/flows", headers=world.town.council.headers, params=world.period
    )
    assert body["new_members"] == flows.json()["new_members"]["value"]
    assert body["people_connected"] == flows.json()["active_members"]["value"]
    assert months_of(body, "exchanges") == {A: 6, B: 7, C: 0}
    assert months_of(body, "hours_minutes") == {A: 330, B: 305, C: 0}
    assert months_of(body, "intergenerational_minutes") == {A: 300, B: 225, C: 0}
    assert months_of(body, "people_connected") == {A: 12, B: 13, C: 0}
    assert body["suppressed"] == []
    assert body["wellbeing"] == {
        "members": None, "suppressed": True, "mean_change": None,
        "loneliness_improved_share": None,
    }  # fmt: skip


async def test_a_two_member_community_shows_nothing_recoverable(world: Fixture) -> None:
    """hillside: carol -> dan (A), alice -> carol (B): three people, fewer than k."""
    body = await body_of(world, world.south_council)
    assert [c["slug"] for c in body["communities"]] == ["hillside"]
    for name in ("people_connected", "exchanges", "hours_minutes", "one_to_one_minutes"):
        assert body[name] is None, name
        assert name in body["suppressed"]
        assert all(value is None or value == 0 for value in months_of(body, name).values())
    for figure in body["figures"]:
        if figure["name"] not in ADDS_UP:
            continue
        terms = [(m["month"], m["value"], 1) for m in figure["months"]]
        equation: Equation = _sum_equation(terms, figure["value"], figure["name"])
        assert recoverable([equation]) == set(), figure["name"]


def _sum_equation(
    terms: list[tuple[str, int | None, int]], total: int | None, name: str
) -> Equation:
    """months add up to the total: unknowns are the hidden ones (total included)."""
    coefficients: dict[Any, int] = {}
    constant = 0
    for month, value, sign in [*terms, ("total", total, -1)]:
        if value is None:
            coefficients[(name, month)] = sign
        else:
            constant -= sign * value
    return coefficients, constant


async def test_who_may_ask(world: Fixture) -> None:
    for csv_form in (False, True):
        member = await impact(world, world.town.alice, csv_form=csv_form)
        assert member.status_code == 403, member.text
        assert member.json()["code"] == "forbidden"
        other = await impact(world, world.town.coordinator, csv_form=csv_form, community="hillside")
        assert other.status_code == 404, other.text  # out of reach, like one that does not exist
    assert (await world.town.client.get("/api/v1/reports/impact")).status_code == 401
    own = await body_of(world, world.town.coordinator)
    assert [c["slug"] for c in own["communities"]] == ["riverside"]
    assert own["exchanges"] == 13
    admin = await body_of(world, world.town.admin)
    assert admin["exchanges"] == 14  # carol -> dan inside hillside too


async def test_csv_matches_json(world: Fixture) -> None:
    body = await body_of(world, world.town.council)
    response = await impact(world, world.town.council, csv_form=True)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    for figure in body["figures"]:
        rows = {row["month"]: row for row in lines if row["figure"] == figure["name"]}
        assert rows["total"]["value"] == ("" if figure["value"] is None else str(figure["value"]))
        for month in figure["months"]:
            row = rows[month["month"]]
            assert row["suppressed"] == ("yes" if month["suppressed"] else "no")
            assert row["value"] == ("" if month["value"] is None else str(month["value"]))


async def test_bad_parameters_are_problems(world: Fixture) -> None:
    for query in ({"from": "2026-13"}, {"to": "soon"}, {"community": "Not A Slug"}):
        response = await world.town.client.get(
            "/api/v1/reports/impact", headers=world.town.council.headers, params=query
        )
        assert response.status_code in (400, 422), response.text


LONELY = {"lack_companionship": 3, "left_out": 3, "isolated": 3}
LESS_LONELY = {"lack_companionship": 1, "left_out": 1, "isolated": 1}
SOME = {"lack_companionship": 2, "left_out": 2, "isolated": 2}


def checkin(life: int, loneliness: dict[str, int]) -> dict[str, Any]:
    return {
        "consent": True, "life_satisfaction": life, "worthwhile": 5, "happy_yesterday": 5,
        "anxious_yesterday": 5, **loneliness,
    }  # fmt: skip


async def test_wellbeing_change_shows_from_k_members(world: Fixture) -> None:
    client = world.town.client
    plans = [(LONELY, LESS_LONELY)] * 3 + [(SOME, SOME)] * 2
    for who, (first, last) in zip(world.young[:5], plans, strict=True):
        for answers, life in ((first, 4), (last, 7)):
            response = await client.post(
                "/api/v1/me/wellbeing", headers=who.headers, json=checkin(life, answers)
            )
            assert response.status_code == 201, response.text
        if who is world.young[3]:
            four = await body_of(world, world.town.council)
            assert four["wellbeing"]["suppressed"] and four["wellbeing"]["mean_change"] is None
    body = await body_of(world, world.town.council)
    wellbeing = body["wellbeing"]
    assert wellbeing["members"] == 5
    assert wellbeing["loneliness_improved_share"] == 0.6
    assert wellbeing["mean_change"]["life_satisfaction"] == 3.0
    assert wellbeing["mean_change"]["loneliness"] == -3.6
    assert wellbeing["mean_change"]["worthwhile"] == 0.0


async def test_a_small_month_is_hidden_with_a_complement(world: Fixture) -> None:
    """One more exchange in month C, between two members: C rests on 2 people (primary),
    so the smaller of A and B is hidden too and C cannot be worked out from the total."""
    await fixture._record(
        world.town,
        world.town.coordinator,
        world.young[5],
        world.middle,
        minutes=10,
        when=fixture.NOW,
    )
    body = await body_of(world, world.town.council)
    figure = next(f for f in body["figures"] if f["name"] == "hours_minutes")
    by_month = {m["month"]: m for m in figure["months"]}
    assert body["hours_minutes"] == 645
    assert by_month[C]["suppression"] == "primary"
    assert by_month[B]["suppression"] == "complementary"  # 305 < 330: the smaller shown month
    assert by_month[A]["value"] == 330
    for name in ADDS_UP:
        figure = next(f for f in body["figures"] if f["name"] == name)
        terms = [(m["month"], m["value"], 1) for m in figure["months"]]
        assert recoverable([_sum_equation(terms, figure["value"], name)]) == set(), name


async def _meeting_with_bob(world: Fixture, starts_at: datetime) -> None:
    """One club meeting at `starts_at`, hosted by alice, with bob on its register."""
    town = world.town
    await fund_pool(town, town.bob, 100)
    event = await create_event(town, town.coordinator, repeat="none", occurrences=1)
    assert (await go(town, town.bob, event["id"])).status_code == 201
    await (
        EventOccurrence.update(
            {
                EventOccurrence.starts_at: starts_at,
                EventOccurrence.ends_at: starts_at + timedelta(hours=2),
            }
        )
        .where(EventOccurrence.id == uuid.UUID(event["id"]))
        .run()
    )
    taken = await town.client.post(
        f"/api/v1/events/{event['id']}/attendance",
        headers=town.coordinator.headers,
        json={"attended_ids": [str(town.bob.id)]},
    )
    assert taken.status_code == 200, taken.text


async def test_a_member_active_in_another_month_is_one_person_over_the_period(
    world: Fixture,
) -> None:
    """A meeting in month A, hosted by alice (whose exchange is in B) with bob: both join
    A's people; over the period alice is still one person and bob is one more."""
    await _meeting_with_bob(world, MONTH_A + timedelta(days=10, hours=14))
    body = await body_of(world, world.town.council)
    assert months_of(body, "people_connected") == {A: 14, B: 13, C: 0}
    assert body["people_connected"] == 14 + 1


async def test_a_club_meeting_counts_its_people_and_hides_a_lone_meeting(world: Fixture) -> None:
    """A meeting in month B, hosted by alice (counted already) with bob at it (not yet):
    bob joins the people connected; one meeting and one attendance are under k, so the
    council sees them hidden, not as 1."""
    town = world.town
    await _meeting_with_bob(world, MONTH_B + timedelta(days=10, hours=14))

    body = await body_of(world, town.council)
    assert months_of(body, "people_connected") == {A: 12, B: 14, C: 0}
    assert body["people_connected"] == 15
    assert body["events_held"] is None and body["event_attendances"] is None
    assert {"events_held", "event_attendances"} <= set(body["suppressed"])
    assert months_of(body, "events_held")[B] is None
    assert body["exchanges"] == 13  # a meeting is not an exchange


async def test_without_a_replica_the_figures_are_the_primarys_up_to_the_moment(
    world: Fixture,
) -> None:
    """No DATABASE_REPLICA_URL (and never on SQLite): every answer says so (ADR 0047)."""
    body = await body_of(world, world.town.council)
    assert body["figures_from"] == "primary"
    as_of = datetime.fromisoformat(body["figures_as_of"])
    assert abs(datetime.now(UTC) - as_of) < timedelta(minutes=1)
    csv_answer = await impact(world, world.town.council, csv_form=True)
    assert csv_answer.headers["X-Figures-From"] == "primary"
    page = await world.town.client.get("/reports/impact", headers=world.town.council.headers)
    assert page.status_code == 200
    assert "Figures up to the moment." in page.text


async def _middle_helps_five_young_together(world: Fixture) -> None:
    """One group exchange in month C: M1 helps Y1..Y5 for 30 minutes each, completed."""
    town, helped = world.town, world.young[:5]
    group = await propose(
        town, world.middle, world.middle, helped, minutes=30,
        service_date=fixture.NOW.isoformat(),
    )  # fmt: skip
    for person in helped:
        await ok(town, person, group, "accept")
    assert (await ok(town, helped[0], group, "complete"))["status"] == "completed"


async def test_a_group_exchange_counts_each_person_helped_and_is_not_one_to_one(
    world: Fixture,
) -> None:
    """M1 (40) helps Y1..Y5 (20) together in month C, 30 minutes each: five flows, as the
    flows report counts them; not one-to-one, not across generations (40 is neither)."""
    town = world.town
    await _middle_helps_five_young_together(world)

    body = await body_of(world, town.council)
    assert months_of(body, "exchanges") == {A: 6, B: 7, C: 5}
    assert months_of(body, "hours_minutes") == {A: 330, B: 305, C: 150}
    assert months_of(body, "people_connected")[C] == 6
    assert body["one_to_one_minutes"] == 635  # the group's 150 are not one-to-one
    assert body["intergenerational_minutes"] == 525
    flows = await town.client.get("/api/v1/reports/flows", headers=town.council.headers,
                                  params=world.period)  # fmt: skip
    assert flows.status_code == 200, flows.text
    assert body["exchanges"] == flows.json()["total"]["exchanges"] == 18


async def test_corrections_are_taken_off_in_the_months_of_the_help(world: Fixture) -> None:
    """A dispute moves hours back through the rollups: O1 -> Y1 (B, 45) all of it, and
    Y1 -> O1 (A, 60) 20 of it. Both were across generations and one-to-one."""
    young1, old1 = world.young[0], world.old[0]
    reversed_id = uuid.UUID(world.exchanges[(old1.email, young1.email)])
    adjusted_id = uuid.UUID(world.exchanges[(young1.email, old1.email)])
    for exchange_id, recipient, minutes in ((reversed_id, young1, -45), (adjusted_id, old1, -20)):
        await rollups.record_exchange_flow(
            exchange_id=exchange_id,
            recipient_id=recipient.id,
            minutes_signed=minutes,
            at=fixture.NOW,
            source_id=uuid.uuid5(exchange_id, "correction"),
        )
    body = await body_of(world, world.town.council)
    assert months_of(body, "hours_minutes") == {A: 310, B: 260, C: 0}
    assert months_of(body, "exchanges") == {A: 6, B: 6, C: 0}
    assert months_of(body, "intergenerational_minutes") == {A: 280, B: 180, C: 0}
    assert body["one_to_one_minutes"] == 570
    # O1 and Y1 took part in B only through the reversed exchange; both still did in A.
    assert months_of(body, "people_connected") == {A: 12, B: 11, C: 0}
    assert body["people_connected"] == 14


async def test_the_impact_cells_are_what_the_recorded_flows_give(world: Fixture) -> None:
    """The rollups' own check covers the impact cells: recomputed from reports_flow, equal."""
    async with read_connection(database.active_engine()) as connection:
        assert await rollups_verify(connection) == []
        rows = await connection.fetch(
            "SELECT key_a, key_b, SUM(minutes) AS minutes FROM reports_cell"
            " WHERE dimension = 'impact' AND side = 'p' GROUP BY key_a, key_b"
        )
    # Everyone in the fixture helps one at a time; Yi <-> Oi are across generations.
    assert {(r["key_a"], r["key_b"]): int(r["minutes"]) for r in rows} == {
        ("one", "inter"): 525,
        ("one", "other"): 200,  # M1 -> O6 30, Y6 -> M1 20, carol -> dan 90, alice -> carol 60
    }


def _impact_migration() -> ModuleType:
    path = next(
        (Path(__file__).parents[2] / "migrations" / "reports").glob(
            "reports_2026_12_07t09_00_00_*.py"
        )
    )
    spec = importlib.util.spec_from_file_location("impact_cells_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_migration_gives_older_flows_their_flags_and_impact_cells(
    world: Fixture,
) -> None:
    """A database whose flows were recorded before the impact cells: the migration's backfill
    makes exactly what the write path makes (flags from the exchanges, cells, members)."""
    town = world.town
    await _middle_helps_five_young_together(world)
    before = await body_of(world, town.council)
    engine = database.active_engine()
    async with write_transaction(engine) as transaction:
        connection = transaction.connection
        await connection.execute("DELETE FROM reports_cell_member WHERE dimension = 'impact'")
        await connection.execute("DELETE FROM reports_cell WHERE dimension = 'impact'")
        await connection.execute("UPDATE reports_flow SET one_to_one = 0, intergenerational = 0")
    assert (await body_of(world, town.council))["hours_minutes"] == 0  # as before the change
    async with write_transaction(engine) as transaction:
        await _impact_migration().backfill(transaction.connection)
    async with read_connection(engine) as connection:
        assert await rollups_verify(connection) == []
    after = await body_of(world, town.council)
    assert after["figures"] == before["figures"]
    assert (after["one_to_one_minutes"], after["intergenerational_minutes"]) == (635, 525)


async def test_new_members_still_active_months_after_joining(world: Fixture) -> None:
    """Y1..Y5 joined five months ago: in month A, three calendar months on (the boundary),
    each gave O1..O5 an hour; in B, four months on, each was helped. Active after 3 months,
    not yet after 6."""
    joined = fixture.month_start(5)
    await (
        Member.update({Member.approved_at: joined})
        .where(Member.id.is_in([person.id for person in world.young[:5]]))
        .run()
    )
    body = await body_of(world, world.town.council, **{"from": month_key(joined)})
    assert months_of(body, "new_members")[month_key(joined)] == 5
    assert months_of(body, "active_after_3_months")[month_key(joined)] == 5
    assert months_of(body, "active_after_6_months")[month_key(joined)] == 0
    assert (body["active_after_3_months"], body["active_after_6_months"]) == (5, 0)

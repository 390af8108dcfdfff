"""GET /api/v1/reports/flows(.csv) on both engines, against the hand-computed fixture.

tests/reports/fixture.py lists every exchange and works out by hand what each
viewer must see, including which figures suppression hides and why.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import pytest

from ledger.transactions import read_connection, write_transaction
from service import database
from service.rollups import services as rollups
from service.rollups.verify import rollups_verify
from tests.reports import fixture
from tests.reports.attack import recovered_figures
from tests.reports.fixture import MONTH_A, MONTH_B, MONTH_C, Fixture, month_key
from tests.support.people import Person, Town

BREAKDOWNS = ("month", "category", "ward", "age_band", "community")


@pytest.fixture
async def world(town: Town) -> Fixture:
    return await fixture.build(town)


async def flows(
    world: Fixture, who: Person, *, by: str = "month", csv_form: bool = False, **query: Any
) -> httpx.Response:
    params: dict[str, Any] = {**world.period, "by": by, **query}
    path = "/api/v1/reports/flows.csv" if csv_form else "/api/v1/reports/flows"
    return await world.town.client.get(path, headers=who.headers, params=params)


async def figures(world: Fixture, who: Person, *, by: str = "month", **query: Any) -> Any:
    response = await flows(world, who, by=by, **query)
    assert response.status_code == 200, response.text
    return response.json()


def shown(body: dict[str, Any]) -> dict[Any, tuple[int, int] | None]:
    """(row, column) -> (minutes, exchanges), or None where suppressed."""
    return {
        (cell["row"], cell["column"]) if cell["column"] else cell["row"]: (
            None if cell["suppressed"] else (cell["minutes"], cell["exchanges"])
        )
        for cell in body["cells"]
    }


def total(body: dict[str, Any]) -> tuple[int, int] | None:
    figure = body["total"]
    return None if figure["suppressed"] else (figure["minutes"], figure["exchanges"])


# Exact figures ------------------------------------------------------------------------


async def test_north_council_sees_the_hand_computed_figures(world: Fixture) -> None:
    council = world.town.council
    months = await figures(world, council, by="month")
    assert months["k"] == 5
    assert [c["slug"] for c in months["communities"]] == ["oakfield", "riverside"]
    assert total(months) == (635, 13)
    assert shown(months) == {
        month_key(MONTH_A): (330, 6),
        month_key(MONTH_B): (305, 7),
        month_key(MONTH_C): (0, 0),
    }
    assert months["active_members"] == {"value": 14, "suppressed": False}
    assert months["members_gave_and_received"] == {"value": 11, "suppressed": False}
    # Everyone the town and the fixture approved this month in riverside and oakfield:
    # coordinator, council, alice, bob, Y1-6, O1-6, M1 (pat still waits; the admin
    # belongs to the first community, made by create-admin).
    assert months["new_members"] == {"value": 17, "suppressed": False}
    assert months["pool_donations"] == {
        "minutes": 50,
        "exchanges": 5,
        "suppressed": False,
        "suppression": None,
    }
    assert months["pool_grants"] == {
        "minutes": None,
        "exchanges": None,
        "suppressed": True,
        "suppression": "primary",
    }

    categories = await figures(world, council, by="category")
    assert total(categories) == (635, 13)
    by_category = shown(categories)
    assert by_category["unknown"] == (315, 7)
    assert by_category["pets"] is None and by_category["gardening"] is None
    reasons = {cell["row"]: cell["suppression"] for cell in categories["cells"]}
    assert reasons["pets"] == "primary" and reasons["gardening"] == "complementary"
    others = {key: value for key, value in by_category.items() if key not in reasons or
              key not in ("unknown", "pets", "gardening")}  # fmt: skip
    assert set(others.values()) == {(0, 0)}

    wards = await figures(world, council, by="ward")
    assert [row["key"] for row in wards["rows"]] == ["Parkside", "Mill Lane", "other", "unknown"]
    assert shown(wards) == {"Parkside": (330, 6), "Mill Lane": None, "other": None, "unknown": None}
    assert {c["row"]: c["suppression"] for c in wards["cells"]} == {
        "Parkside": None,
        "Mill Lane": "complementary",
        "other": "primary",
        "unknown": "primary",
    }
    assert "Church End" not in str(wards)  # a ward below k is never named


async def test_two_way_tables_hide_small_cells(world: Fixture) -> None:
    council = world.town.council
    ages = await figures(world, council, by="age_band")
    cells = shown(ages)
    # The small exchanges (two people each) are hidden; nothing shown is wrong.
    for small in (("25_49", "80_plus"), ("under_25", "25_49"), ("unknown", "unknown")):
        assert cells[small] is None
    expected = {
        ("under_25", "80_plus"): (300, 5),
        ("80_plus", "under_25"): (225, 5),
    }
    for key, value in cells.items():
        if value is not None:
            assert value == expected.get(key, (0, 0)), key
    assert total(ages) == (635, 13)

    communities = await figures(world, council, by="community")
    assert [row["key"] for row in communities["rows"]] == ["oakfield", "riverside", "elsewhere"]
    by_pair = shown(communities)
    assert by_pair[("riverside", "elsewhere")] is None  # alice -> carol: two people
    assert by_pair[("oakfield", "oakfield")] == (0, 0)
    row_totals = {c["row"]: c for c in communities["row_totals"]}
    assert (row_totals["riverside"]["minutes"], row_totals["riverside"]["exchanges"]) == (635, 13)
    assert "hillside" not in str(communities) and "Hillside" not in str(communities)


async def test_no_suppressed_figure_can_be_worked_out(world: Fixture) -> None:
    for who in (world.town.council, world.south_council, world.town.admin):
        for by in BREAKDOWNS:
            body = await figures(world, who, by=by)
            hidden = [c for c in [*body["cells"], *body["row_totals"], *body["column_totals"]]
                      if c["suppressed"]]  # fmt: skip
            assert recovered_figures(body) == set(), (who.email, by)
            if by in ("category", "ward", "age_band"):
                assert hidden, (who.email, by)  # the fixture has small cells everywhere


# Who sees what -------------------------------------------------------------------------


async def test_a_council_sees_nothing_of_another_area(world: Fixture) -> None:
    south = world.south_council
    body = await figures(world, south, by="community")
    assert [c["slug"] for c in body["communities"]] == ["hillside"]
    # carol -> dan and alice -> carol: three people in all, fewer than k: all hidden.
    assert body["total"]["suppressed"]
    assert all(c["suppressed"] or c["minutes"] == 0 for c in body["cells"])
    text = str(body) + (await flows(world, south, by="ward", csv_form=True)).text
    for name in ("riverside", "Riverside", "oakfield", "Oakfield", "Mill Lane", "Parkside"):
        assert name not in text
    for who, slug in ((south, "riverside"), (world.town.council, "hillside")):
        response = await flows(world, who, community=slug)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    # The north council's figures leave out carol -> dan inside hillside.
    north = await figures(world, world.town.council, community="riverside")
    assert total(north) == (635, 13)


async def test_admin_sees_every_community(world: Fixture) -> None:
    body = await figures(world, world.town.admin, by="community")
    # Every community, the admin's own first one ("home", from create-admin) too.
    assert {c["slug"] for c in body["communities"]} == {"home", "hillside", "oakfield", "riverside"}
    assert total(body) == (725, 14)
    assert "elsewhere" not in [row["key"] for row in body["rows"]]
    only = await figures(world, world.town.admin, community=["hillside", "oakfield"])
    assert only["total"]["suppressed"]  # carol, dan, alice: three members


async def test_only_council_viewers_coordinators_and_admins_may_ask(world: Fixture) -> None:
    client = world.town.client
    anonymous = await client.get("/api/v1/reports/flows")
    assert anonymous.status_code == 401
    for csv_form in (False, True):
        response = await flows(world, world.town.alice, csv_form=csv_form)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


async def test_a_coordinator_sees_their_own_communities_figures_with_the_same_suppression(
    world: Fixture,
) -> None:
    coordinator = world.town.coordinator  # of riverside only
    for by in ("month", "ward", "community", "age_band"):
        own = await figures(world, coordinator, by=by)
        assert [c["slug"] for c in own["communities"]] == ["riverside"]
        same = await figures(world, world.town.admin, by=by, community="riverside")
        assert own["cells"] == same["cells"], by
        assert own["total"] == same["total"], by
    assert total(await figures(world, coordinator)) == (635, 13)
    for slug in ("hillside", "oakfield"):
        response = await flows(world, coordinator, community=slug)
        assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13"}, "from"),
        ({"from": "2026-1"}, "from"),
        ({"to": "1899-12"}, "to"),
        ({"from": "2026-05", "to": "2026-04"}, "from"),
        ({"from": "2000-01", "to": "2026-01"}, "from"),
        ({"by": "member"}, "by"),
        ({"community": "Not A Slug"}, "community"),
    ],
)
async def test_bad_parameters_are_refused_with_a_problem(
    town: Town, query: dict[str, str], field: str
) -> None:
    response = await town.client.get(
        "/api/v1/reports/flows", headers=town.council.headers, params=query
    )
    assert response.status_code in (400, 422), response.text
    problem = response.json()
    assert problem["code"] in ("validation_failed", "malformed_body")
    assert field in response.text


# Privacy -------------------------------------------------------------------------------


async def test_no_personal_data_in_any_council_response(world: Fixture) -> None:
    pseudonyms = [str(rollups.member_key(member_id)) for member_id in world.member_ids]
    forbidden = [
        *world.names,
        *world.emails,
        *(str(member_id) for member_id in world.member_ids),
        *pseudonyms,
    ]
    for who in (world.town.council, world.south_council):
        for by in BREAKDOWNS:
            for csv_form in (False, True):
                response = await flows(world, who, by=by, csv_form=csv_form)
                assert response.status_code == 200, response.text
                for text in forbidden:
                    assert text not in response.text, (who.email, by, text)


async def test_csv_holds_the_same_figures_as_json(world: Fixture) -> None:
    council = world.town.council
    for by in BREAKDOWNS:
        body = await figures(world, council, by=by)
        response = await flows(world, council, by=by, csv_form=True)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        for cell in body["cells"]:
            line = next(
                r for r in rows if r["row"] == cell["row"] and r["column"] == (cell["column"] or "")
            )
            assert line["suppressed"] == ("yes" if cell["suppressed"] else "no")
            expected = "" if cell["suppressed"] else str(cell["minutes"])
            assert line["minutes"] == expected
        grand = rows[-1]
        assert grand["row"] == "total"
        assert grand["minutes"] == str(body["total"]["minutes"])


# Corrections count net ----------------------------------------------------------------


async def test_reversed_and_adjusted_exchanges_count_net(world: Fixture) -> None:
    """A dispute resolution calls record_exchange_flow with negative minutes."""
    young1, old1 = world.young[0], world.old[0]
    reversed_id = uuid.UUID(world.exchanges[(old1.email, young1.email)])  # B: 45 minutes
    adjusted_id = uuid.UUID(world.exchanges[(young1.email, old1.email)])  # A: 60 minutes

    async def correct() -> None:
        await rollups.record_exchange_flow(
            exchange_id=reversed_id,
            recipient_id=young1.id,
            minutes_signed=-45,
            at=fixture.NOW,
            source_id=uuid.uuid5(reversed_id, "reversal"),
        )
        for _ in range(2):  # the same source twice: applied once
            await rollups.record_exchange_flow(
                exchange_id=adjusted_id,
                recipient_id=old1.id,
                minutes_signed=-20,
                at=fixture.NOW,
                source_id=uuid.uuid5(adjusted_id, "adjustment"),
            )

    await correct()
    months = await figures(world, world.town.council)
    # The corrections land in the months of the original help, not this month.
    assert shown(months) == {
        month_key(MONTH_A): (310, 6),
        month_key(MONTH_B): (260, 6),
        month_key(MONTH_C): (0, 0),
    }
    assert total(months) == (570, 12)
    # Y1 and O1 took part in other exchanges, so they stay active; but O1 no
    # longer gave anything (its only gift was reversed), nor Y1 received.
    assert months["active_members"]["value"] == 14
    assert months["members_gave_and_received"]["value"] == 9

    async def over_reverse() -> None:
        await rollups.record_exchange_flow(
            exchange_id=adjusted_id,
            recipient_id=old1.id,
            minutes_signed=-41,
            at=fixture.NOW,
            source_id=uuid.uuid4(),
        )

    with pytest.raises(rollups.FlowError):
        await over_reverse()
    assert total(await figures(world, world.town.council)) == (570, 12)


async def test_a_correction_to_an_exchange_older_than_the_reports_backfills_it(
    world: Fixture,
) -> None:
    """An exchange completed before flows were recorded: the first correction records it."""
    young1, old1 = world.young[0], world.old[0]
    exchange_id = uuid.UUID(world.exchanges[(old1.email, young1.email)])  # B: 45 minutes
    flow_id = rollups.exchange_flow_id(exchange_id, young1.id)
    before = await figures(world, world.town.council)

    async def forget_then_correct() -> list[str]:
        engine = database.active_engine()
        async with write_transaction(engine) as transaction:
            connection = transaction.connection
            stored = await rollups._stored_flow(connection, flow_id)
            assert stored is not None
            # As if the exchange had been posted before the reports existed.
            await rollups.apply_deltas(connection, [rollups.FlowDelta(stored[0], -45, -1)])
            await connection.execute("DELETE FROM reports_flow WHERE id = $1", flow_id)
            await connection.execute("DELETE FROM reports_flow_change WHERE flow_id = $1", flow_id)
        await rollups.record_exchange_flow(
            exchange_id=exchange_id,
            recipient_id=young1.id,
            minutes_signed=-15,
            at=fixture.NOW,
            source_id=uuid.uuid5(exchange_id, "late adjustment"),
        )
        async with read_connection(engine) as connection:
            return await rollups_verify(connection)

    assert await forget_then_correct() == []
    after = await figures(world, world.town.council)
    assert shown(after)[month_key(MONTH_B)] == (305 - 15, 7)
    assert total(after) == (635 - 15, 13)
    assert before["active_members"] == after["active_members"]

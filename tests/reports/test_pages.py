"""The /reports dashboard on both engines: who may open it, what it shows, what it never shows."""

from __future__ import annotations

import re

import pytest

from service.rollups import services as rollups
from tests.reports import fixture
from tests.reports.fixture import MONTH_A, MONTH_C, Fixture, month_key
from tests.support.people import Person, Town


@pytest.fixture
async def world(town: Town) -> Fixture:
    return await fixture.build(town)


async def page(world: Fixture, who: Person, **query: str | list[str]) -> str:
    response = await world.town.client.get(
        "/reports", headers=who.headers, params={**world.period, **query}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_council_dashboard_shows_charts_tables_and_csv_links(world: Fixture) -> None:
    html = await page(world, world.town.council)
    assert html.count('<svg class="chart ') == 5
    assert html.count('<table class="stack">') == 5
    # One unit style in charts and tables (ADR 0044): words, never "7.5 h" or "7.5".
    decimal_or_h = re.compile(r">\d+\.\d+ ?h?<|>\d+ h<")
    assert not decimal_or_h.search(html), decimal_or_h.search(html)
    # Headline figures in words, hidden ones marked.
    assert "10 hours 35 minutes" in html  # 635 minutes
    assert re.search(r"<dt>Hours granted from community pools</dt><dd>hidden</dd>", html)
    # Every chart has a CSV of the same figures, for the same period.
    for by in ("month", "age_band", "category", "ward", "community"):
        assert (
            f"/api/v1/reports/flows.csv?by={by}&amp;from={month_key(MONTH_A)}"
            f"&amp;to={month_key(MONTH_C)}"
        ) in html
    assert 'href="/reports" aria-current="page">Reports</a>' in html


async def test_dashboard_never_shows_personal_data(world: Fixture) -> None:
    pseudonyms = [str(rollups.member_key(member_id)) for member_id in world.member_ids]
    own_name = {"Colin", "Sully"}  # the viewers themselves: not shown either, but allowed
    forbidden = [
        *(name for name in world.names if name not in own_name),
        *world.emails,
        *(str(member_id) for member_id in world.member_ids),
        *pseudonyms,
        "Church End",  # a ward with fewer than k people is never named
    ]
    for who in (world.town.council, world.south_council):
        html = await page(world, who)
        for text in forbidden:
            assert text not in html, (who.email, text)
    south = await page(world, world.south_council)
    assert "Riverside" not in south and "Oakfield" not in south


async def test_picking_one_community_and_a_bad_month(world: Fixture) -> None:
    html = await page(world, world.town.council, community="oakfield")
    assert "<dt>Hours exchanged</dt><dd>0 hours</dd>" in html
    response = await world.town.client.get(
        "/reports", headers=world.town.council.headers, params={"from": "2026-13"}
    )
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert "must be a real month" in response.text


async def test_only_council_viewers_and_admins_open_the_dashboard(world: Fixture) -> None:
    client = world.town.client
    anonymous = await client.get("/reports", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")
    alice = world.town.alice
    response = await client.get("/reports", headers=alice.headers)
    assert response.status_code == 403
    assert "Reports are for council viewers, coordinators and admins." in response.text
    dashboard = await client.get("/dashboard", headers=alice.headers)
    assert 'href="/reports"' not in dashboard.text
    coordinator = await page(world, world.town.coordinator)
    assert "Riverside" in coordinator
    assert "Hillside" not in coordinator
    # A coordinator finds them in the desk's menu (the main navigation keeps to one line).
    assert (
        'href="/reports"'
        in (await client.get("/coordinator/members", headers=world.town.coordinator.headers)).text
    )
    admin = await page(world, world.town.admin)
    assert "Hillside" in admin and "Riverside" in admin

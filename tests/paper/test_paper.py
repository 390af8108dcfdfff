"""Paper (issue 16 item 5) on both engines: the printable statement, the plain CSV beside
the machine one, and a community's printable offers and requests; who may have them."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from service import clock
from service.formatting import date_words
from service.paper.services import hours_figures
from tests.support.exchanges import WELCOME, ok, propose
from tests.support.listings import create
from tests.support.pages import page_text, sign_in, text_of
from tests.support.people import Person, Town


def today() -> date:
    """Today when asked, not when the module was imported: a run may cross midnight UTC."""
    return clock.local_today()


async def helped(town: Town) -> dict[str, object]:
    """Bob helps Alice for 1 hour 30 minutes (yesterday); Alice confirms."""
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=90)
    await ok(town, town.bob, exchange, "accept")
    return await ok(town, town.alice, exchange, "complete")


async def plain_rows(town: Town, path: str, who: Person) -> list[list[str]]:
    response = await town.client.get(path, headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_hours_in_figures() -> None:
    assert [hours_figures(m) for m in (0, 45, 90, 600, -45, -150)] == [
        "0:00",
        "0:45",
        "1:30",
        "10:00",
        "-0:45",
        "-2:30",
    ]


async def test_the_plain_csv_has_dates_and_hours_and_minutes(town: Town) -> None:
    await helped(town)
    rows = await plain_rows(town, "/api/v1/accounts/me/statement-plain.csv", town.bob)
    assert rows[0] == [
        "Recorded on",
        "The help happened on",
        "What",
        "With",
        "Note",
        "Hours in",
        "Hours out",
        "Balance after",
        "In words",
    ]
    opening, *lines, closing = rows[1:]
    assert opening[2] == "Opening balance"
    assert opening[7] == "0:00"
    assert closing[2] == "Closing balance"
    assert closing[7] == hours_figures(WELCOME + 90) == "3:30"
    assert closing[8] == "3 hours 30 minutes"
    [exchange] = [line for line in lines if line[2] == "Help given"]
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert exchange[1] == yesterday  # the service date, as a date
    assert exchange[0] == today().isoformat()  # the day it was recorded
    assert exchange[3] == "Alice"
    assert exchange[5:9] == ["1:30", "", "3:30", "received 1 hour 30 minutes"]
    # The recipient's side: hours out.
    alice_rows = await plain_rows(town, "/api/v1/accounts/me/statement-plain.csv", town.alice)
    [given] = [line for line in alice_rows if line[2] == "Help received"]
    assert given[5:9] == ["", "1:30", "0:30", "given 1 hour 30 minutes"]


async def test_a_period_before_any_hours_moved_opens_and_closes_at_nothing(town: Town) -> None:
    await helped(town)
    old = today() - timedelta(days=400)
    rows = await plain_rows(
        town,
        f"/api/v1/accounts/me/statement-plain.csv?from={old}&to={old + timedelta(days=30)}",
        town.bob,
    )
    assert [row[2] for row in rows[1:]] == ["Opening balance", "Closing balance"]
    assert rows[-1][7] == "0:00"


async def test_bad_periods_are_clear_4xx(town: Town) -> None:
    base = "/api/v1/accounts/me/statement-plain.csv"
    for query, status in (
        (f"?from={today()}&to={today() - timedelta(days=1)}", 422),
        (f"?from={today() - timedelta(days=2000)}&to={today()}", 422),
        ("?from=yesterday", 400),
    ):
        response = await town.client.get(base + query, headers=town.bob.headers)
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_coordinators_of_the_members_community_only(town: Town) -> None:
    await helped(town)
    path = f"/api/v1/coordinator/members/{town.bob.id}/statement-plain.csv"
    rows = await plain_rows(town, path, town.coordinator)
    assert rows[-1][7] == "3:30"
    # A member is no coordinator; a coordinator of riverside cannot read hillside's Carol.
    assert (await town.client.get(path, headers=town.alice.headers)).status_code == 403
    other = f"/api/v1/coordinator/members/{town.carol.id}/statement-plain.csv"
    refused = await town.client.get(other, headers=town.coordinator.headers)
    assert refused.status_code == 404, refused.text


async def test_the_print_page_shows_name_period_balances_and_the_exchange(town: Town) -> None:
    await helped(town)
    await sign_in(town, town.bob)
    text = await page_text(town, "/statement/print")
    assert "Statement for Bob" in text
    first = today() - timedelta(days=91)
    assert f"from {date_words(first)} to {date_words(today())}" in text
    assert f"Balance on {date_words(first)} 0 hours (0:00)" in text
    assert f"Balance at the end of {date_words(today())} 3 hours 30 minutes (3:30)" in text
    assert "Help given: Help with the garden" in text
    assert "1 hour 30 minutes (1:30)" in text
    own = await town.client.get("/statement")
    assert 'href="/statement/print"' in own.text


async def test_the_coordinator_prints_a_members_statement_and_nobody_else_can(
    town: Town,
) -> None:
    await helped(town)
    await sign_in(town, town.coordinator)
    text = await page_text(town, f"/coordinator/members/{town.bob.id}/statement/print")
    assert "Statement for Bob" in text
    assert "Help with the garden" in text
    refused = await town.client.get(f"/coordinator/members/{town.carol.id}/statement/print")
    assert refused.status_code == 404


async def test_the_printed_listings_are_grouped_and_keep_private_things_out(
    town: Town,
) -> None:
    await create(town, town.alice, title="Weekly shop", ward="Riverside East")
    await create(
        town,
        town.bob,
        kind="request",
        title="Lift to the clinic",
        description="My hip operation follow-up",
        category="transport",
        sensitive=True,
    )
    await create(town, town.carol, title="Hillside only")
    await sign_in(town, town.alice)
    response = await town.client.get("/listings/print")
    assert response.status_code == 200, response.text
    text = text_of(response.text)
    assert "Offers and requests in" in text
    assert "Weekly shop" in text
    assert "Alice, Riverside East" in text
    assert "Lift to the clinic" in text
    assert "hip operation" not in text  # a sensitive description stays off paper
    assert "Hillside only" not in text  # another community's
    assert "alice@example.org" not in response.text
    shopping = text.index("Shopping")
    transport = text.index("Transport")
    assert shopping < text.index("Weekly shop") < transport < text.index("Lift to the clinic")
    refused = await town.client.get("/listings/print?community=hillside")
    assert refused.status_code == 404
    assert 'href="/listings/print"' in (await town.client.get("/listings")).text


async def test_an_admin_prints_any_community_and_a_member_only_their_own(town: Town) -> None:
    await create(town, town.carol, title="Hillside only")
    await sign_in(town, town.admin)
    text = await page_text(town, "/listings/print?community=hillside")
    assert "Offers and requests in Hillside" in text
    assert "Hillside only" in text
    missing = await town.client.get("/listings/print?community=no-such-place")
    assert missing.status_code == 404

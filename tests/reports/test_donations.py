"""Money donations on the council report (JSON and dashboard), on both engines.

One total for the period and the selected communities, gifts less refunds,
hidden while it rests on 1 to k-1 donors (k is 5 in the fixture). A donor is a
member for gifts given signed in, else the checkout (ADR 0012).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.members.conftest import Person, Town
from tests.reports import fixture
from tests.reports.donations import dispute, give, refund
from tests.reports.fixture import MONTH_A, MONTH_B, MONTH_C, Fixture, month_key


@pytest.fixture
async def world(town: Town) -> Fixture:
    return await fixture.build(town)


async def donations(world: Fixture, who: Person, **query: Any) -> dict[str, Any]:
    params = {**world.period, **query}
    response = await world.town.client.get(
        "/api/v1/reports/flows", headers=who.headers, params=params
    )
    assert response.status_code == 200, response.text
    assert "donor@example.org" not in response.text and "A Donor" not in response.text
    figure: dict[str, Any] = response.json()["donations"]
    return figure


HIDDEN = {"amount_pence": None, "suppressed": True}


def shown(amount_pence: int) -> dict[str, Any]:
    return {"amount_pence": amount_pence, "suppressed": False}


async def four_donors_in_riverside(world: Fixture) -> str:
    """alice twice, bob, two anonymous gifts: 4 donors, 5000 pence, all in month B."""
    town = world.town
    alice_gift = await give(
        town, community="riverside", amount_pence=2500, when=MONTH_B, member_id=town.alice.id
    )
    await give(
        town, community="riverside", amount_pence=1000, when=MONTH_B, member_id=town.alice.id
    )
    await give(town, community="riverside", amount_pence=500, when=MONTH_B, member_id=town.bob.id)
    await give(town, community="riverside", amount_pence=700, when=MONTH_B)
    await give(town, community="riverside", amount_pence=300, when=MONTH_B)
    return alice_gift


async def test_no_gifts_show_zero(world: Fixture) -> None:
    assert await donations(world, world.town.council) == shown(0)


async def test_the_total_is_exact_from_k_donors_and_hidden_below(world: Fixture) -> None:
    town, council = world.town, world.town.council
    alice_gift = await four_donors_in_riverside(world)
    # Five gifts, but alice gave two of them: four donors, below k.
    assert await donations(world, council) == HIDDEN
    fifth = await give(town, community="riverside", amount_pence=1200, when=MONTH_B)
    assert await donations(world, council) == shown(6200)
    # Refunds come off the gift's month; a gift refunded in full rests on nobody.
    await refund(town, alice_gift, amount_pence=2500, refunded_pence=300, when=MONTH_C)
    assert await donations(world, council) == shown(5900)
    await refund(town, fifth, amount_pence=1200, refunded_pence=1200, when=MONTH_C)
    assert await donations(world, council) == HIDDEN
    await give(town, community="oakfield", amount_pence=400, when=MONTH_A)
    assert await donations(world, council) == shown(5100)  # 2200 + 500 + 700 + 300 + 400


async def test_a_chargeback_comes_off_the_total_until_the_dispute_is_won(
    world: Fixture,
) -> None:
    town, council = world.town, world.town.council
    alice_gift = await four_donors_in_riverside(world)
    await give(town, community="riverside", amount_pence=1200, when=MONTH_B)
    assert await donations(world, council) == shown(6200)

    opened = await dispute(
        town,
        alice_gift,
        event_type="charge.dispute.created",
        status="needs_response",
        amount_pence=2500,
        when=MONTH_C,
    )

    # Alice's other gift keeps her a donor: still five, so the total shows, 2500 less.
    assert opened == "chargeback"
    assert await donations(world, council) == shown(3700)
    won = await dispute(
        town,
        alice_gift,
        event_type="charge.dispute.closed",
        status="won",
        amount_pence=2500,
        when=MONTH_C,
    )
    assert won == "chargeback_won"
    assert await donations(world, council) == shown(6200)


async def test_the_period_and_communities_select_the_gifts(world: Fixture) -> None:
    town, council = world.town, world.town.council
    await four_donors_in_riverside(world)
    await give(town, community="riverside", amount_pence=1200, when=MONTH_B)
    await give(town, community="oakfield", amount_pence=400, when=MONTH_A)
    assert await donations(world, council) == shown(6600)
    only_b = {"from": month_key(MONTH_B), "to": month_key(MONTH_B)}
    assert await donations(world, council, **only_b) == shown(6200)
    only_a = {"from": month_key(MONTH_A), "to": month_key(MONTH_A)}
    assert await donations(world, council, **only_a) == HIDDEN  # one donor
    only_c = {"from": month_key(MONTH_C), "to": month_key(MONTH_C)}
    assert await donations(world, council, **only_c) == shown(0)
    assert await donations(world, council, community="oakfield") == HIDDEN
    assert await donations(world, council, community="riverside") == shown(6200)
    assert await donations(world, town.admin, community="riverside") == shown(6200)


async def test_a_council_of_another_area_sees_none_of_it(world: Fixture) -> None:
    town = world.town
    await four_donors_in_riverside(world)
    await give(town, community="riverside", amount_pence=1200, when=MONTH_B)
    assert await donations(world, world.south_council) == shown(0)
    response = await town.client.get(
        "/api/v1/reports/flows",
        headers=world.south_council.headers,
        params={**world.period, "community": "riverside"},
    )
    assert response.status_code == 404, response.text
    await give(town, community="hillside", amount_pence=900, when=MONTH_B, member_id=town.carol.id)
    assert await donations(world, world.south_council) == HIDDEN
    assert await donations(world, town.council) == shown(6200)


async def test_the_dashboard_shows_the_total_or_hidden(world: Fixture) -> None:
    town = world.town

    async def money_donated() -> str:
        response = await town.client.get(
            "/reports", headers=town.council.headers, params=world.period
        )
        assert response.status_code == 200, response.text
        assert "donor@example.org" not in response.text and "A Donor" not in response.text
        marker = "<dt>Money donated</dt><dd>"
        start = response.text.index(marker) + len(marker)
        return response.text[start : response.text.index("</dd>", start)]

    assert await money_donated() == "£0"
    await four_donors_in_riverside(world)
    assert await money_donated() == "hidden"
    await give(town, community="riverside", amount_pence=1255, when=MONTH_B)
    assert await money_donated() == "£62.55"

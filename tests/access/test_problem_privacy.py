"""Items 2 and 7: problem bodies tell the caller only their own figures (ADR 0025).

Every ledger refusal a member can reach through the API is provoked here, once
about the caller's own account and once about someone else's: the caller's own
balance may come back, another member's balance, limits and account id never.
A proposal the recipient cannot cover is refused when it is made (item 7),
with the recipient's figures if they are the one proposing, without if not.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service import clock
from service.members.accounts import member_account_id
from tests.admin.support import post_form
from tests.support.pages import page_sign_in
from tests.support.people import Person, Town

WELCOME = 120  # minutes every town member starts with
FLOOR = -600  # the communities' default member floor
SPENDABLE = WELCOME - FLOOR  # 720: what a new member may give or receive in all
# Field names that would carry an account's figures or identity.
FIGURE_FIELDS = (
    "ledger",
    "account_id",
    "available_minutes",
    "spendable_minutes",
    "balance_minutes",
    "ceiling_minutes",
    "floor_minutes",
    "room_minutes",
    "available_minor",
    "balance_minor",
    "ceiling_minor",
    "floor_minor",
)
COUNTERPARTY_SHORT = "does not have enough hours for this right now"


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def assert_nothing_about(response: httpx.Response, other: Person, *figures: int) -> None:
    """No field, id or number in the body describes `other`'s account."""
    body = response.json()
    assert not [field for field in FIGURE_FIELDS if field in body], body
    text = response.text
    assert str(member_account_id(other.id)) not in text
    for figure in figures:
        assert not re.search(rf"(?<![\d-]){figure}(?!\d)", body["detail"]), body["detail"]
        assert figure not in [
            value
            for value in body.values()
            if isinstance(value, int) and value != response.status_code
        ], body


async def gift(town: Town, giver: Person, to: Person, minutes: int) -> httpx.Response:
    return await town.client.post(
        "/api/v1/transfers",
        json={"to_member_id": str(to.id), "minutes": minutes},
        headers=giver.headers,
    )


async def set_ceiling(town: Town, who: Person, ceiling: int) -> None:
    response = await town.client.put(
        f"/api/v1/admin/accounts/{member_account_id(who.id)}/limits",
        headers=town.admin.headers,
        json={"floor_minutes": FLOOR, "ceiling_minutes": ceiling, "reason": "privacy test"},
    )
    assert response.status_code == 200, response.text


async def propose(
    town: Town, proposer: Person, provider: Person, recipient: Person, minutes: int
) -> httpx.Response:
    return await town.client.post(
        "/api/v1/exchanges",
        headers=proposer.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": minutes,
            "service_date": days_ago(1),
            "description": "Decorating the hall",
        },
    )


async def exchanges_of(town: Town, who: Person) -> list[dict[str, Any]]:
    response = await town.client.get("/api/v1/exchanges", headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# Item 2: ledger refusals ---------------------------------------------------------


async def test_a_gift_beyond_ones_own_floor_shows_ones_own_figures(town: Town) -> None:
    refused = await gift(town, town.alice, town.bob, SPENDABLE + 1)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["available_minutes"] == WELCOME
    assert problem["spendable_minutes"] == SPENDABLE
    assert "ledger" not in problem
    assert "account_id" not in problem
    assert str(member_account_id(town.alice.id)) not in refused.text


async def test_a_gift_beyond_the_recipients_ceiling_tells_nothing_about_them(town: Town) -> None:
    await set_ceiling(town, town.bob, 200)
    refused = await gift(town, town.alice, town.bob, 100)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "exceeds_ceiling"
    assert refused.json()["detail"] == "They cannot receive this many hours right now."
    assert_nothing_about(refused, town.bob, WELCOME, 200, 80)


async def test_a_pool_grant_beyond_the_members_ceiling_tells_the_coordinator_nothing(
    town: Town,
) -> None:
    to_pool = await town.client.post(
        "/api/v1/transfers", json={"to": "pool", "minutes": 100}, headers=town.alice.headers
    )
    assert to_pool.status_code == 201, to_pool.text
    await set_ceiling(town, town.bob, 150)
    refused = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(town.bob.id), "minutes": 60, "reason": "helping at the fair"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "exceeds_ceiling"
    assert_nothing_about(refused, town.bob, WELCOME, 150, 30)


async def test_a_recorded_exchange_beyond_the_recipients_credit_hides_their_figures(
    town: Town,
) -> None:
    """Coordinators and admins used to be told the other member's available hours."""
    for recorder in (town.coordinator, town.admin):
        refused = await town.client.post(
            "/api/v1/coordinator/exchanges",
            headers=recorder.headers,
            json={
                "provider_id": str(town.bob.id),
                "recipient_id": str(town.alice.id),
                "minutes": SPENDABLE + 60,
                "service_date": days_ago(1),
                "description": "Moving house",
            },
        )
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "insufficient_credit"
        assert COUNTERPARTY_SHORT in problem["detail"]
        assert_nothing_about(refused, town.alice, WELCOME, SPENDABLE)


async def test_accepting_when_the_other_side_is_short_names_them_without_figures(
    town: Town,
) -> None:
    # Alice proposes to receive an hour while she can still cover it...
    assert (await gift(town, town.alice, town.bob, 300)).status_code == 201
    proposed = await propose(town, town.alice, town.council, town.alice, 60)
    assert proposed.status_code == 201, proposed.text
    exchange_id = proposed.json()["id"]
    # ...then gives most of the rest away (-580: 20 minutes above her floor).
    assert (await gift(town, town.alice, town.bob, 400)).status_code == 201
    # Council (the provider) accepts: it is Alice who is short, and they learn no figure.
    refused = await town.client.post(
        f"/api/v1/exchanges/{exchange_id}/accept", headers=town.council.headers
    )
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["member_id"] == str(town.alice.id)
    assert COUNTERPARTY_SHORT in problem["detail"]
    assert_nothing_about(refused, town.alice, WELCOME - 700, 20)


# Item 7: affordability when proposing ------------------------------------------------


async def test_a_recipient_proposing_beyond_their_credit_is_told_their_own_figures(
    town: Town,
) -> None:
    refused = await propose(town, town.alice, town.bob, town.alice, SPENDABLE + 1)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["member_id"] == str(town.alice.id)
    assert problem["available_minutes"] == WELCOME
    assert problem["spendable_minutes"] == SPENDABLE
    assert problem["detail"].startswith("Not enough credit: you have")
    assert await exchanges_of(town, town.alice) == []
    assert await exchanges_of(town, town.bob) == []
    exactly = await propose(town, town.alice, town.bob, town.alice, SPENDABLE)
    assert exactly.status_code == 201, exactly.text


async def test_a_provider_proposing_beyond_the_recipients_credit_gets_no_figures(
    town: Town,
) -> None:
    refused = await propose(town, town.bob, town.bob, town.alice, SPENDABLE + 1)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_credit"
    assert problem["member_id"] == str(town.alice.id)
    assert COUNTERPARTY_SHORT in problem["detail"]
    assert_nothing_about(refused, town.alice, WELCOME, SPENDABLE)
    assert await exchanges_of(town, town.bob) == []
    assert await exchanges_of(town, town.alice) == []


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def form_fields(role: str, other: uuid.UUID, hours: int) -> dict[str, str]:
    return {
        "role": role,
        "other": str(other),
        "hours": str(hours),
        "minutes": "0",
        "service_date": clock.local_today().isoformat(),
        "description": "Painting the fence",
    }


async def test_the_proposal_page_refuses_what_the_recipient_cannot_cover(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.bob.email)
    as_provider = await post_form(
        client, "/exchanges/new", form_fields("provide", town.alice.id, 20)
    )
    assert as_provider.status_code == 422, text_of(as_provider.text)  # the form, shown again
    shown = text_of(as_provider.text)
    assert f"Alice {COUNTERPARTY_SHORT}" in shown
    assert "2 hours" not in shown
    assert "12 hours" not in shown
    assert 'role="alert"' in as_provider.text
    assert await exchanges_of(town, town.bob) == []

    await page_sign_in(client, town.alice.email)
    as_recipient = await post_form(
        client, "/exchanges/new", form_fields("receive", town.bob.id, 20)
    )
    assert as_recipient.status_code == 422, text_of(as_recipient.text)
    assert "Not enough credit: you have 2 hours available." in text_of(as_recipient.text)
    assert await exchanges_of(town, town.alice) == []

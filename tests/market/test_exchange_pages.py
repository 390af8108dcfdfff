"""The exchanges' and giving pages through HTTP, on both engines: members sign in
through /sign-in (a session cookie), forms carry the CSRF token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from service import clock
from tests.support.exchanges import notices
from tests.support.pages import page_text, sign_in, submit, text_of, token_from
from tests.support.people import Person, Town

EXCHANGE_URL = re.compile(r"/exchanges/([0-9a-f-]{36})\?done=(\w+)")


def today() -> str:
    return clock.local_today().isoformat()


def exchange_fields(**fields: str) -> dict[str, str]:
    return {
        "hours": "1",
        "minutes": "30",
        "service_date": today(),
        "description": "A lift to the surgery",
        **fields,
    }


async def api(town: Town, who: Person, path: str, **json: Any) -> httpx.Response:
    if json:
        return await town.client.post(path, headers=who.headers, json=json)
    return await town.client.get(path, headers=who.headers)


async def both_statements_show_the_hours(town: Town) -> None:
    statement = await page_text(town, "/statement")
    assert "Help received: A lift to the surgery Bob" in statement
    assert "-1 hour 30 minutes 30 minutes" in statement  # the change, then the balance after
    assert "Welcome hours" in statement
    assert "on hold" not in statement
    assert 'href="/api/v1/accounts/me/statement.csv"' in (await town.client.get("/statement")).text
    csv = await town.client.get("/api/v1/accounts/me/statement.csv")
    assert csv.status_code == 200
    assert "-90" in csv.text

    await sign_in(town, town.bob)
    statement = await page_text(town, "/statement")
    assert "Help given: A lift to the surgery Alice" in statement
    assert "+1 hour 30 minutes 3 hours 30 minutes" in statement
    me = await api(town, town.bob, "/api/v1/me/notices")
    assert me.json()["count"] == 0


async def test_propose_from_a_listing_accept_and_confirm_move_the_hours(town: Town) -> None:
    offer = await api(
        town,
        town.bob,
        "/api/v1/listings",
        kind="offer",
        title="Lifts to the surgery",
        description="Weekday mornings.",
        category="transport",
    )
    listing_id = offer.json()["id"]

    await sign_in(town, town.alice)
    new_page = f"/exchanges/new?listing={listing_id}"
    form = await page_text(town, new_page)
    assert "Bob will help you, and you will give them the hours." in form
    # Mistakes are shown next to their field, with what was typed kept.
    response = await submit(
        town, new_page, "/exchanges/new", exchange_fields(listing=listing_id, hours="", minutes="0")
    )
    assert response.status_code == 422
    assert 'id="duration-error"' in response.text
    assert "Enter how long the help takes" in response.text
    assert "A lift to the surgery" in response.text
    # The service's date rule shows with the form's own errors, not after them.
    response = await submit(
        town,
        new_page,
        "/exchanges/new",
        exchange_fields(listing=listing_id, service_date="2020-01-01", description=""),
    )
    assert response.status_code == 422
    assert 'id="service_date-error"' in response.text
    assert 'id="description-error"' in response.text

    response = await submit(town, new_page, "/exchanges/new", exchange_fields(listing=listing_id))
    assert response.status_code == 303, response.text
    match = EXCHANGE_URL.fullmatch(response.headers["location"])
    assert match and match.group(2) == "proposed", response.headers["location"]
    exchange_id = match.group(1)
    detail = await page_text(town, response.headers["location"])
    assert "Your proposal has been sent." in detail
    assert "Waiting for Bob to accept." in detail
    assert "/accept" not in (await town.client.get(response.headers["location"])).text
    mine = await page_text(town, "/exchanges")
    assert "A lift to the surgery" in mine and "Waiting for acceptance" in mine

    await sign_in(town, town.bob)
    dashboard = await page_text(town, "/dashboard")
    assert "Exchanges (1)" in dashboard
    assert "Accept or decline: A lift to the surgery" in dashboard
    detail_path = f"/exchanges/{exchange_id}"
    response = await submit(town, detail_path, f"{detail_path}/accept", {})
    assert response.status_code == 303, response.text
    detail = await page_text(town, response.headers["location"])
    assert "You have accepted this exchange." in detail
    assert "Agreed, waiting for confirmation" in detail
    assert "Confirm the help happened" not in detail  # only the one helped confirms
    assert "Exchanges (1)" not in detail

    await sign_in(town, town.alice)
    assert "Exchanges (1)" in await page_text(town, "/dashboard")
    response = await submit(town, detail_path, f"{detail_path}/complete", {})
    assert response.status_code == 303, response.text
    detail = await page_text(town, response.headers["location"])
    assert "Thank you for confirming. The hours have moved." in detail
    assert "Completed" in detail
    assert "Confirmed the help happened by Alice" in detail
    assert "Cancel the exchange" not in detail

    await both_statements_show_the_hours(town)


async def test_not_enough_credit_is_explained_on_the_exchange_page(town: Town) -> None:
    await sign_in(town, town.bob)
    new_page = "/exchanges/new"
    form = await town.client.get(new_page)
    assert f"other={town.alice.id}" in form.text  # offered by the member picker
    # Bob helps Alice for 10 hours: with her 2 hours and a floor of minus 10, she
    # can cover it when it is proposed (a proposal she could not is refused at once).
    response = await submit(
        town,
        new_page,
        new_page,
        exchange_fields(role="provide", other=str(town.alice.id), hours="10", minutes="0"),
    )
    assert response.status_code == 303, response.text
    detail_path = response.headers["location"].split("?")[0]
    # Before she accepts, Alice gives away 3 hours: now she is an hour short.
    gift = await api(
        town, town.alice, "/api/v1/transfers", to_member_id=str(town.carol.id), minutes=180
    )
    assert gift.status_code == 201, gift.text

    await sign_in(town, town.alice)
    response = await submit(town, detail_path, f"{detail_path}/accept", {})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    shown = text_of(response.text)
    assert "Not enough credit: you have minus 1 hour available." in shown
    assert "Waiting for acceptance" in shown  # nothing changed
    assert 'role="alert"' in response.text

    # Cancelling cannot be undone: without the ticked box nothing happens.
    response = await submit(town, detail_path, f"{detail_path}/cancel", {})
    assert response.status_code == 422
    assert "Tick the box to confirm that you want to cancel" in text_of(response.text)
    assert "Waiting for acceptance" in await page_text(town, detail_path)
    response = await submit(town, detail_path, f"{detail_path}/cancel", {"confirm": "yes"})
    assert response.status_code == 303
    assert "Called off" in await page_text(town, response.headers["location"])


async def test_a_proposal_is_declined_with_a_reason_the_proposer_sees(town: Town) -> None:
    proposed = await api(
        town,
        town.alice,
        "/api/v1/exchanges",
        provider_id=str(town.bob.id),
        recipient_id=str(town.alice.id),
        minutes=60,
        service_date=datetime.now(UTC).isoformat(),
        description="Shopping",
    )
    assert proposed.status_code == 201, proposed.text
    detail_path = f"/exchanges/{proposed.json()['id']}"
    await sign_in(town, town.bob)
    assert "Or decline" in await page_text(town, detail_path)
    fields = {"reason": "I am away that week"}
    response = await submit(town, detail_path, f"{detail_path}/decline", fields)
    assert response.status_code == 422
    shown = text_of(response.text)
    assert "Tick the box to confirm that you want to decline" in shown
    assert "Waiting for acceptance" in shown
    response = await submit(
        town, detail_path, f"{detail_path}/decline", {**fields, "confirm": "yes"}
    )
    assert response.status_code == 303, response.text
    assert "You have declined this exchange." in await page_text(town, response.headers["location"])
    # The proposer reads who declined and why.
    await sign_in(town, town.alice)
    shown = await page_text(town, detail_path)
    assert "Called off" in shown
    assert "Declined by Bob" in shown
    assert "I am away that week" in shown
    # And is told in a notice (and mail) with the reason.
    [told] = [
        e for e in (await notices(town, town.alice))["events"] if e["kind"] == "exchange_declined"
    ]
    assert "Bob has declined the exchange you suggested" in told["text"]
    assert "They said: I am away that week" in told["text"]


async def test_people_outside_an_exchange_get_a_not_found_page(town: Town) -> None:
    proposed = await api(
        town,
        town.alice,
        "/api/v1/exchanges",
        provider_id=str(town.bob.id),
        recipient_id=str(town.alice.id),
        minutes=60,
        service_date=datetime.now(UTC).isoformat(),
        description="Shopping",
    )
    assert proposed.status_code == 201, proposed.text
    detail_path = f"/exchanges/{proposed.json()['id']}"

    anonymous = await town.client.get(detail_path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in?next=")

    await sign_in(town, town.carol)
    response = await town.client.get(detail_path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Shopping" not in response.text
    token = await token_from(town, "/exchanges")
    response = await town.client.post(
        f"{detail_path}/accept", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "Shopping" not in (await town.client.get("/exchanges")).text


async def test_members_give_hours_and_see_them_on_their_statements(town: Town) -> None:
    await sign_in(town, town.alice)
    response = await submit(
        town, "/give", "/give", {"to": "member", "member": "", "hours": "0", "minutes": "0"}
    )
    assert response.status_code == 422
    assert 'id="member-error"' in response.text
    assert 'id="duration-error"' in response.text
    assert 'id="confirm-error"' in response.text  # every error at once, the box's too
    response = await submit(
        town,
        "/give",
        "/give",
        {"to": "member", "email": "carol@example.org", "hours": "0", "minutes": "30"},
    )
    assert response.status_code == 422  # another time bank's member is not found by email
    assert "There is no active member of your time bank with that email" in text_of(response.text)
    response = await submit(
        town,
        "/give",
        "/give",
        {
            "to": "member",
            "member": str(town.bob.id),
            "hours": "20",
            "minutes": "0",
            "confirm": "yes",
        },
    )
    assert response.status_code == 422
    assert "Not enough credit: you have 2 hours available to give." in text_of(response.text)

    response = await submit(
        town,
        "/give",
        "/give",
        {
            "to": "member",
            "member": str(town.bob.id),
            "hours": "0",
            "minutes": "45",
            "memo": "Ta",
            "confirm": "yes",
        },
    )
    assert response.status_code == 303, response.text
    assert "Your hours have been given." in await page_text(town, response.headers["location"])
    response = await submit(
        town,
        "/give",
        "/give",
        {
            "to": "member",
            "email": "BOB@example.org",
            "hours": "0",
            "minutes": "15",
            "confirm": "yes",
        },
    )
    assert response.status_code == 303, response.text
    response = await submit(
        town,
        "/give",
        "/give",
        {"to": "pool", "hours": "0", "minutes": "30", "memo": "For all", "confirm": "yes"},
    )
    assert response.status_code == 303, response.text

    statement = await page_text(town, "/statement")
    assert (
        "Hours given to the time bank's pool: For all Community pool (Riverside) "
        "-30 minutes 30 minutes" in statement
    )
    assert "Hours you gave Bob -15 minutes 1 hour" in statement
    assert "Hours you gave: Ta Bob -45 minutes 1 hour 15 minutes" in statement
    assert statement.index("pool: For all") < statement.index("gave: Ta")  # newest first

    await sign_in(town, town.bob)
    statement = await page_text(town, "/statement")
    assert "Hours given to you: Ta Alice +45 minutes 2 hours 45 minutes" in statement

    # The coordinator grants from the pool and records an exchange for two members.
    await sign_in(town, town.coordinator)
    response = await submit(
        town,
        "/coordinator/grant",
        "/coordinator/grant",
        {"member": str(town.bob.id), "hours": "1", "minutes": "0", "reason": "Winter fuel"},
    )
    assert response.status_code == 422
    assert "The pool has only 30 minutes." in text_of(response.text)
    response = await submit(
        town,
        "/coordinator/grant",
        "/coordinator/grant",
        {"member": str(town.bob.id), "hours": "0", "minutes": "20", "reason": "Winter fuel"},
    )
    assert response.status_code == 303, response.text
    assert "granted from the pool" in await page_text(town, response.headers["location"])
    response = await submit(
        town,
        "/coordinator/record",
        "/coordinator/record",
        {
            "provider": str(town.alice.id),
            "recipient": str(town.bob.id),
            "hours": "2",
            "minutes": "0",
            "service_date": today(),
            "description": "Gardening, told by phone",
        },
    )
    assert response.status_code == 303, response.text
    detail = await page_text(town, response.headers["location"])
    assert "The exchange has been recorded" in detail
    assert "Recorded by Cora, a coordinator (the help happened on" in detail

    await sign_in(town, town.bob)
    statement = await page_text(town, "/statement")
    assert (
        "Hours from the time bank's pool: Winter fuel Community pool (Riverside) +20 minutes"
        in statement
    )
    assert "Help received: Gardening, told by phone Alice" in statement
    assert "-2 hours 1 hour 20 minutes" in statement
    recorded = await town.client.get("/coordinator/record")
    assert recorded.status_code == 403  # members are not coordinators

"""The data export holds every feature's part (journey 9), on both engines.

A member with listings, an exchange (completed, then disputed, with a thread
and an outcome) and a gift of money with Gift Aid downloads their data: the
export holds each part as the API shows it to them, and nothing private of
anyone else. The app runs with donations switched on against the fake Stripe
of tests/donations (ADR 0010), and the ledger is checked after every test.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from service.export import services as export
from service.members.callers import token_digest
from tests.donations import stripe_events as ev
from tests.donations.conftest import (
    Gifts,
    deliver,
    fake_stripe,
    gifts,
    ledger_balanced_afterwards,
    open_checkout,
    settings,
)
from tests.donations.fake_stripe import FakeStripe
from tests.support.people import PASSWORD, Person

__all__ = ["fake_stripe", "gifts", "ledger_balanced_afterwards", "settings"]  # fixtures

MEMBERS_KEYS = {
    "exported_at",
    "profile",
    "roles",
    "account",
    "statement",
    "sessions",
    "api_tokens",
    "audit",
}
NEW_KEYS = {
    "listings",
    "exchanges",
    "disputes",
    "donations",
    "notices",
    "conversations",
    "blocks",
    "concerns",
    "thanks_given",
    "thanks_received",
    "checks",
    "friendship_pairs",
    "events",
    "wellbeing",
    "truncated",
}
GIFT_AID = {
    "full_name": "Alice Ashdown",
    "home_address": "3 Weir Row, Riverside",
    "postcode": "RV1 3WR",
}
BOB_GIFT_AID = {
    "full_name": "Robert Brook",
    "home_address": "9 Lock Lane, Riverside",
    "postcode": "RV2 9LL",
}
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')

# Helpers ----------------------------------------------------------------------


def ok_json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def member(client: httpx.AsyncClient, name: str, community: str = "riverside") -> Person:
    email = f"{name.lower()}@example.org"
    body = {"email": email, "password": PASSWORD, "display_name": name, "community": community}
    created = ok_json(await client.post("/api/v1/auth/register", json=body), 201)
    token = ok_json(
        await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}), 201
    )
    return Person(uuid.UUID(created["id"]), email, {"Authorization": f"Bearer {token['token']}"})


async def listing(client: httpx.AsyncClient, who: Person, title: str) -> dict[str, Any]:
    body = {
        "kind": "offer",
        "title": title,
        "description": f"{title}, most weekday mornings.",
        "category": "shopping",
    }
    created: dict[str, Any] = ok_json(
        await client.post("/api/v1/listings", headers=who.headers, json=body), 201
    )
    return created


async def completed_exchange(
    client: httpx.AsyncClient, provider: Person, recipient: Person, description: str
) -> dict[str, Any]:
    """The recipient asks, the provider accepts, the recipient confirms."""
    body = {
        "provider_id": str(provider.id),
        "recipient_id": str(recipient.id),
        "minutes": 60,
        "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "description": description,
    }
    exchange = ok_json(
        await client.post("/api/v1/exchanges", headers=recipient.headers, json=body), 201
    )
    path = f"/api/v1/exchanges/{exchange['id']}"
    ok_json(await client.post(f"{path}/accept", headers=provider.headers))
    done: dict[str, Any] = ok_json(await client.post(f"{path}/complete", headers=recipient.headers))
    return done


async def paid_gift(
    gifts: Gifts, fake: FakeStripe, who: Person, gift_aid: dict[str, str], pi: str
) -> None:
    session_id = await open_checkout(
        gifts.client, amount_pence=2500, headers=who.headers, gift_aid=gift_aid
    )
    fake.add_payment(pi, fee_pence=58)
    await deliver(gifts.client, ev.session_completed(fake.sessions[session_id], payment_intent=pi))


async def export_of(client: httpx.AsyncClient, who: Person) -> tuple[dict[str, Any], str]:
    response = await client.get("/api/v1/me/export", headers=who.headers)
    body: dict[str, Any] = ok_json(response)
    return body, response.text


async def page_sign_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/sign-in")
    match = CSRF_INPUT.search(form.text)
    assert match, "no CSRF field on /sign-in"
    fields = {"_csrf_token": match.group(1), "email": email, "password": PASSWORD, "next": ""}
    response = await client.post("/sign-in", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text


# The whole story ----------------------------------------------------------------


async def test_the_export_holds_listings_exchanges_disputes_and_donations(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    client, alice, bob = gifts.client, gifts.alice, gifts.bob
    carol = await member(client, "Carol")
    kept = await listing(client, alice, "Weekly shop from the high street")
    withdrawn = await listing(client, alice, "Lifts to the station")
    removed = await client.delete(f"/api/v1/listings/{withdrawn['id']}", headers=alice.headers)
    assert removed.status_code == 204, removed.text
    bobs_listing = await listing(client, bob, "Bob fixes bicycles")

    exchange = await completed_exchange(client, bob, alice, "Put up two shelves")
    others = await completed_exchange(client, bob, carol, "Carol's private errand")
    dispute = ok_json(
        await client.post(
            f"/api/v1/exchanges/{exchange['id']}/dispute",
            headers=alice.headers,
            json={"reason": "Only one shelf went up."},
        ),
        201,
    )
    ok_json(
        await client.post(
            f"/api/v1/disputes/{dispute['id']}/statements",
            headers=bob.headers,
            json={"body": "The second shelf had no wall plugs."},
        ),
        201,
    )
    ok_json(
        await client.post(
            f"/api/v1/admin/disputes/{dispute['id']}/resolve",
            headers=gifts.admin.headers,
            json={"outcome": "adjusted", "minutes": 15, "note": "Half the job, roughly."},
        )
    )
    carols_dispute = ok_json(
        await client.post(
            f"/api/v1/exchanges/{others['id']}/dispute",
            headers=carol.headers,
            json={"reason": "Carol's own complaint"},
        ),
        201,
    )
    await paid_gift(gifts, fake_stripe, alice, GIFT_AID, "pi_alice")
    await paid_gift(gifts, fake_stripe, bob, BOB_GIFT_AID, "pi_bob")
    await open_checkout(gifts.client, amount_pence=700)  # anonymous: nobody's to export

    data, text = await export_of(client, alice)

    assert set(data) == MEMBERS_KEYS | NEW_KEYS
    assert data["truncated"] == []
    assert data["profile"]["email"] == alice.email

    # Listings: both of hers, newest first, exactly as the listings API shows them.
    assert [item["id"] for item in data["listings"]] == [withdrawn["id"], kept["id"]]
    for item in data["listings"]:
        shown = ok_json(await client.get(f"/api/v1/listings/{item['id']}", headers=alice.headers))
        assert item == shown
    assert data["listings"][0]["status"] == "withdrawn"

    # Exchanges: hers, with the history a party sees (dispute and outcome included).
    (mine,) = data["exchanges"]
    shown = ok_json(await client.get(f"/api/v1/exchanges/{exchange['id']}", headers=alice.headers))
    assert mine == shown
    assert mine["status"] == "completed"
    assert [event["action"] for event in mine["history"]] == [
        "propose",
        "accept",
        "complete",
        "dispute",
        "dispute_resolved",
    ]
    assert mine["provider"]["display_name"] == "Bob"

    # Disputes: hers, with the thread (Bob's account) and the outcome.
    (theirs,) = data["disputes"]
    shown = ok_json(await client.get(f"/api/v1/disputes/{dispute['id']}", headers=alice.headers))
    assert theirs == shown
    assert theirs["reason"] == "Only one shelf went up."
    assert [(s["author_name"], s["body"]) for s in theirs["statements"]] == [
        ("Bob", "The second shelf had no wall plugs.")
    ]
    assert (theirs["status"], theirs["outcome"]) == ("resolved", "adjusted")
    assert [(c["recipient_id"], c["minutes"]) for c in theirs["corrections"]] == [
        (str(alice.id), 15)
    ]

    # Donations: her signed-in gift with its Gift Aid declaration and payment.
    (gift,) = data["donations"]
    assert (gift["community"], gift["amount_pence"], gift["recurring"], gift["gift_aid"]) == (
        "riverside",
        2500,
        False,
        True,
    )
    declaration = gift["declaration"]
    assert (declaration["full_name"], declaration["home_address"], declaration["postcode"]) == (
        "Alice Ashdown",
        "3 Weir Row, Riverside",
        "RV1 3WR",
    )
    assert [(p["amount_pence"], p["refunded_pence"], p["refunds"]) for p in gift["payments"]] == [
        (2500, 0, [])
    ]
    assert "checkout_url" not in gift and "stripe_session_id" not in gift

    # The statement shows the dispute's correction; the other parts kept their shape.
    assert [(line["code"], line["minutes"]) for line in data["statement"]][:2] == [
        ("dispute", 15),
        ("exchange", -60),
    ]

    # Nothing private of anyone else: emails, Bob's own gift and listing, Carol's
    # exchange and dispute, anyone's credentials.
    for secret in (
        bob.email,
        carol.email,
        gifts.admin.email,
        "Robert Brook",
        "Lock Lane",
        "RV2 9LL",
        "pi_bob",
        "pi_alice",
        bobs_listing["id"],
        "Bob fixes bicycles",
        others["id"],
        "Carol's private errand",
        carols_dispute["id"],
        "Carol's own complaint",
        str(carol.id),
        "Carol",
        token_digest(alice.headers["Authorization"].removeprefix("Bearer ")),
        alice.headers["Authorization"].removeprefix("Bearer "),
    ):
        assert secret not in text, secret
    assert "password" not in text.lower()
    assert "checkout_url" not in text


async def test_another_member_sees_only_their_own_part(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    client, alice, bob = gifts.client, gifts.alice, gifts.bob
    await listing(client, alice, "Alice's reading group")
    await paid_gift(gifts, fake_stripe, alice, GIFT_AID, "pi_alone")

    data, text = await export_of(client, bob)

    assert (data["listings"], data["exchanges"], data["disputes"], data["donations"]) == (
        [],
        [],
        [],
        [],
    )
    for secret in (
        alice.email,
        "Alice Ashdown",
        "Weir Row",
        "Alice's reading group",
        str(alice.id),
    ):
        assert secret not in text, secret


async def test_parts_beyond_their_limit_are_cut_and_named(
    gifts: Gifts, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, alice, bob = gifts.client, gifts.alice, gifts.bob
    newest = None
    for title in ("First offer", "Second offer", "Third offer"):
        newest = await listing(client, alice, title)
    await completed_exchange(client, bob, alice, "A walk by the river")
    full, _ = await export_of(client, alice)
    lines = len(full["statement"])  # the welcome credit and the exchange's entries
    assert full["truncated"] == [] and lines >= 2
    monkeypatch.setattr(export, "EXPORT_LISTINGS_MAX", 2)
    monkeypatch.setattr(export, "EXPORT_STATEMENT_LINES_MAX", lines - 1)

    data, _ = await export_of(client, alice)

    assert data["truncated"] == ["statement", "listings"]
    assert len(data["listings"]) == 2
    assert newest is not None and data["listings"][0]["id"] == newest["id"]
    assert data["statement"] == full["statement"][: lines - 1]  # the newest lines
    assert data["exchanges"] == full["exchanges"]  # within its limit: whole

    # Exactly at the limit is whole.
    monkeypatch.setattr(export, "EXPORT_LISTINGS_MAX", 3)
    monkeypatch.setattr(export, "EXPORT_STATEMENT_LINES_MAX", lines)
    whole, _ = await export_of(client, alice)
    assert whole["truncated"] == []
    assert (len(whole["listings"]), whole["statement"]) == (3, full["statement"])


async def test_the_profile_page_download_holds_the_new_parts(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    client, alice, bob = gifts.client, gifts.alice, gifts.bob
    offered = await listing(client, alice, "Help with forms")
    exchange = await completed_exchange(client, bob, alice, "Filled in a form")
    await paid_gift(gifts, fake_stripe, alice, GIFT_AID, "pi_page")
    await page_sign_in(client, alice.email)

    response = await client.get("/profile/export")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="timebank-my-data-'
    )
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.content)
    assert set(data) == MEMBERS_KEYS | NEW_KEYS
    assert data["profile"]["id"] == str(alice.id)
    assert [item["id"] for item in data["listings"]] == [offered["id"]]
    assert [item["id"] for item in data["exchanges"]] == [exchange["id"]]
    assert data["disputes"] == []
    assert data["donations"][0]["declaration"]["full_name"] == "Alice Ashdown"
    assert bob.email not in response.text

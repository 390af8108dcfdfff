"""Item 3: no email enumeration through registration or gifts by email (ADR 0020).

Registration answers a taken email exactly as a new one (status, body shape,
the same redirect on the page) and writes nothing; the password is hashed
either way, so the time taken matches. A gift by email answers unknown
addresses and known but ineligible ones (another community, pending) alike.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from service.members import passwords
from service.members.tables import Member
from tests.members.world import ENGINES, World, open_world
from tests.support.pages import csrf_token
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")

REGISTER_PATH = "/api/v1/auth/register"
# What differs between any two answers, whoever asked: the request's own id.
PER_REQUEST_FIELDS = ("request_id",)
CSRF_FIELD = re.compile(r'name="_csrf_token" value="[^"]+"')
CSRF_VALUE = re.compile(r'name="_csrf_token" value="([^"]+)"')
# Every render of a form that moves hours carries a fresh one-time token (ADR 0019).
FORM_TOKEN_FIELD = re.compile(r'name="form_token" value="[^"]+"')
FORM_TOKEN_VALUE = re.compile(r'name="form_token" value="([^"]+)"')


def _field(pattern: re.Pattern[str], page: str) -> str:
    match = pattern.search(page)
    assert match, f"no {pattern.pattern} on the page"
    return match.group(1)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


async def counts(world: World) -> tuple[int, int]:
    members = await Member.count().run()
    return int(members), await world.ledger_accounts()


def registration(email: str) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "display_name": "Sam Sample",
        "community": "meadow",
    }


def shape(body: dict[str, Any]) -> dict[str, str]:
    """The body's keys and their JSON types: what a caller could tell apart."""
    return {key: type(value).__name__ for key, value in body.items()}


# Registration ------------------------------------------------------------------------


async def test_registering_a_taken_email_answers_like_a_new_one_and_writes_nothing(
    world: World,
) -> None:
    taken = await world.member("meadow")
    fresh = await world.http.post(REGISTER_PATH, json=registration(world.email("fresh")))
    assert fresh.status_code == 201, fresh.text
    before = await counts(world)

    for email in (taken.email, taken.email.upper()):
        again = await world.http.post(REGISTER_PATH, json=registration(email))
        assert again.status_code == fresh.status_code, again.text
        assert shape(again.json()) == shape(fresh.json())
        body = again.json()
        assert body["status"] == fresh.json()["status"] == "active"
        assert body["display_name"] == "Sam Sample"  # what was sent, not the owner's name
        assert body["id"] != str(taken.id)
        assert body["roles"] == []
    assert await counts(world) == before
    # The owner's password still signs them in; the would-be registrant's does nothing new.
    assert (await world.sign_in(taken.email))["Authorization"].startswith("Bearer ")


async def test_a_taken_email_costs_the_same_password_hash(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing: both answers spend one real argon2 hash (counted, not timed)."""
    taken = await world.member("meadow")
    hashed: list[str] = []
    real_hash = passwords.hash_password

    async def counting_hash(password: str) -> str:
        hashed.append(password)
        return await real_hash(password)

    monkeypatch.setattr(passwords, "hash_password", counting_hash)
    for email in (world.email("new"), taken.email):
        response = await world.http.post(REGISTER_PATH, json=registration(email))
        assert response.status_code == 201, response.text
    assert hashed == [PASSWORD, PASSWORD]


async def test_the_register_page_answers_a_taken_email_like_a_new_one(world: World) -> None:
    taken = await world.member("meadow")
    name = world.unique("Page Joiner ")
    answers = []
    for email in (world.email("page"), taken.email):
        async with world.client_at("192.0.2.10") as client:
            token = await csrf_token(client, "/register")
            fields = {
                "_csrf_token": token,
                "email": email,
                "password": PASSWORD,
                "display_name": name,
                "community": "meadow",
                "consent": "yes",
            }
            answers.append(await client.post("/register", data=fields))
    new, again = answers
    assert new.status_code == again.status_code == 303, again.text
    assert new.headers["location"] == again.headers["location"] == "/sign-in?done=registered"
    assert await Member.count().where(Member.display_name == name).run() == 1


# Gifts by email ------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def givers(world: World) -> dict[str, Person]:
    """A giver in riverside, and addresses that cannot receive from them."""
    return {
        "giver": await world.member("riverside"),
        "neighbour": await world.member("riverside"),
        "pending": await world.member("riverside", approve=False),
        "elsewhere": await world.member("meadow"),
    }


def ineligible_emails(world: World, givers: dict[str, Person]) -> dict[str, str]:
    return {
        "unknown": world.email("nobody"),
        "pending": givers["pending"].email,
        "other community": givers["elsewhere"].email,
    }


def without_per_request_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in PER_REQUEST_FIELDS}


async def test_a_gift_by_email_answers_unknown_and_ineligible_addresses_alike(
    world: World, givers: dict[str, Person]
) -> None:
    giver = givers["giver"]
    answers = {}
    for label, email in ineligible_emails(world, givers).items():
        response = await world.http.post(
            "/api/v1/transfers",
            headers=giver.headers,
            json={"to_email": email, "minutes": 15},
        )
        answers[label] = (response.status_code, without_per_request_fields(response.json()))
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, body = answers["unknown"]
    assert status == 404
    assert body["code"] == "not_found"
    # And an eligible address does receive: the route works.
    given = await world.http.post(
        "/api/v1/transfers",
        headers=giver.headers,
        json={"to_email": givers["neighbour"].email.upper(), "minutes": 15},
    )
    assert given.status_code == 201, given.text
    assert given.json()["receiver"]["member_id"] == str(givers["neighbour"].id)


async def test_the_give_page_answers_unknown_and_ineligible_addresses_alike(
    world: World, givers: dict[str, Person]
) -> None:
    pages = {}
    async with world.client_at("192.0.2.20") as client:
        token = await csrf_token(client)
        signed_in = await client.post(
            "/sign-in",
            data={"_csrf_token": token, "email": givers["giver"].email, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        for label, email in ineligible_emails(world, givers).items():
            form_page = (await client.get("/give")).text
            fields = {
                "_csrf_token": _field(CSRF_VALUE, form_page),
                "form_token": _field(FORM_TOKEN_VALUE, form_page),
                "to": "member",
                "email": email,
                "hours": "0",
                "minutes": "15",
            }
            response = await client.post("/give", data=fields)
            # The form shows back what was typed; everything else must match.
            shown = FORM_TOKEN_FIELD.sub("", CSRF_FIELD.sub("", response.text)).replace(
                email, "EMAIL"
            )
            pages[label] = (response.status_code, shown)
    assert len(set(pages.values())) == 1, {label: page[0] for label, page in pages.items()}
    status, text = pages["unknown"]
    assert status == 422
    assert "There is no active member of your time bank with that email" in text

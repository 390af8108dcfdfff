"""The `town` copied from the session's template is the town a live build makes (ADR 0038)."""

from __future__ import annotations

from service.limits import REGISTER_PER_ADDRESS
from tests.conftest import TestDatabase
from tests.support.people import PASSWORD, TOWN_ROLES, Town, register

TOWN_REGISTRATIONS = 6  # cora, colin, pat, alice, bob, carol


async def test_the_copied_town_signs_everyone_in_with_their_own_token(
    town: Town, db: TestDatabase
) -> None:
    assert db.town is not None, "the database was not copied from the town template"
    for role in TOWN_ROLES:
        person = getattr(town, role)
        me = await town.client.get("/api/v1/me", headers=person.headers)
        assert me.status_code == 200, (role, me.text)
        assert (me.json()["id"], me.json()["email"]) == (str(person.id), person.email)


async def test_the_town_registrations_count_against_the_address_limit(town: Town) -> None:
    """The limiter's counts live in the app's memory: the copy's app must hold them too."""
    allowed, _window_seconds = REGISTER_PER_ADDRESS
    for number in range(allowed - TOWN_REGISTRATIONS):
        await register(town.client, f"late{number}@example.org", "riverside")
    refused = await town.client.post(
        "/api/v1/auth/register",
        json={
            "email": "one-too-many@example.org",
            "password": PASSWORD,
            "display_name": "One Too Many",
            "community": "riverside",
        },
    )
    assert refused.status_code == 429, refused.text

"""Fixtures for members tests: communities, members of each role, signed-in API clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.members import roles as members_roles
from service.members.schemas import AreaIn, CommunityIn, RegisterIn, RoleChangeIn

PASSWORD = "correct horse battery"


@dataclass
class Person:
    id: uuid.UUID
    email: str
    headers: dict[str, str]


@dataclass
class Town:
    """Two areas, three communities, and a member of each role (tokens ready)."""

    client: AsyncTestClient[Litestar]
    admin: Person
    coordinator: Person  # of "riverside"
    council: Person  # of area "north"
    alice: Person  # member of riverside
    bob: Person  # member of riverside
    carol: Person  # member of "hillside" (other area)
    pending: Person  # awaiting approval in "oakfield" (approval required)


async def register(
    client: AsyncTestClient[Litestar], email: str, community: str, **extra: Any
) -> uuid.UUID:
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": email.split("@", maxsplit=1)[0].title(),
        "community": community,
        **extra,
    }
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def sign_in(client: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def person(client: AsyncTestClient[Litestar], email: str, community: str) -> Person:
    member_id = await register(client, email, community)
    return Person(member_id, email, await sign_in(client, email))


@pytest.fixture
async def admin_client(app: Litestar, db: object) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client for an app whose first admin exists (made like `timebank create-admin`).

    The admin is created before the client starts: the app's connection pool
    then belongs to the client's event loop, and nothing else touches it.
    """
    await members_roles.admin_bootstrap(
        engine=app.state.engine,
        ledger=app.state.ledger,
        email="admin@example.org",
        password=PASSWORD,
        display_name="Ada Admin",
    )
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def town(admin_client: AsyncTestClient[Litestar]) -> Town:
    client = admin_client
    admin_headers = await sign_in(client, "admin@example.org")
    me = await client.get("/api/v1/me", headers=admin_headers)
    admin = Person(uuid.UUID(me.json()["id"]), "admin@example.org", admin_headers)
    for slug, name in (("north", "North Borough"), ("south", "South Borough")):
        response = await client.post(
            "/api/v1/admin/areas", json={"name": name, "slug": slug}, headers=admin.headers
        )
        assert response.status_code == 201, response.text
    for slug, area, approval in (
        ("riverside", "north", False),
        ("oakfield", "north", True),
        ("hillside", "south", False),
    ):
        response = await client.post(
            "/api/v1/admin/communities",
            headers=admin.headers,
            json={
                "name": slug.title(),
                "slug": slug,
                "area": area,
                "requires_approval": approval,
                "welcome_credit_minutes": 120,
            },
        )
        assert response.status_code == 201, response.text
    coordinator = await person(client, "cora@example.org", "riverside")
    council = await person(client, "colin@example.org", "riverside")
    for who, change in (
        (coordinator, {"role": "coordinator", "community": "riverside"}),
        (council, {"role": "council", "area": "north"}),
    ):
        response = await client.post(
            f"/api/v1/admin/members/{who.id}/roles",
            headers=admin.headers,
            json={"action": "grant", "reason": "appointed", **change},
        )
        assert response.status_code == 200, response.text
    pending_id = await register(client, "pat@example.org", "oakfield")
    return Town(
        client=client,
        admin=admin,
        coordinator=coordinator,
        council=council,
        alice=await person(client, "alice@example.org", "riverside"),
        bob=await person(client, "bob@example.org", "riverside"),
        carol=await person(client, "carol@example.org", "hillside"),
        pending=Person(pending_id, "pat@example.org", await sign_in(client, "pat@example.org")),
    )


__all__ = ["AreaIn", "CommunityIn", "RegisterIn", "RoleChangeIn"]

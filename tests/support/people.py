"""Members, tokens and sign-in through the JSON API, and the `Town` most API tests start from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import httpx
from litestar import Litestar

from service.members import roles as members_roles

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "admin@example.org"
TOWN_WELCOME_MINUTES = 120  # what every town community credits a new member


@dataclass
class Person:
    id: uuid.UUID
    email: str
    headers: dict[str, str]


@dataclass
class Town:
    """Two areas, three communities, and a member of each role (tokens ready)."""

    client: httpx.AsyncClient
    admin: Person
    coordinator: Person  # of "riverside"
    council: Person  # of area "north"
    alice: Person  # member of riverside
    bob: Person  # member of riverside
    carol: Person  # member of "hillside" (other area)
    pending: Person  # awaiting approval in "oakfield" (approval required)

    @property
    def app(self) -> Litestar:
        app: Litestar = self.client.app  # type: ignore[attr-defined]  # an AppClient
        return app


@dataclass(frozen=True)
class TownPeople:
    """The town's people without a client: what a town template database remembers
    (tests/support/town.py). Their tokens live in the database's rows."""

    admin: Person
    coordinator: Person
    council: Person
    alice: Person
    bob: Person
    carol: Person
    pending: Person

    def town(self, client: httpx.AsyncClient) -> Town:
        """A `Town` on `client`; each person a copy, so a test may change its own headers."""
        people = {
            name: replace(getattr(self, name), headers=dict(getattr(self, name).headers))
            for name in TOWN_ROLES
        }
        return Town(client=client, **people)


TOWN_ROLES = ("admin", "coordinator", "council", "alice", "bob", "carol", "pending")


async def register(
    client: httpx.AsyncClient, email: str, community: str, **extra: Any
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


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """A bearer token for the member, as request headers."""
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def person(client: httpx.AsyncClient, email: str, community: str) -> Person:
    member_id = await register(client, email, community)
    return Person(member_id, email, await sign_in(client, email))


async def bootstrap_admin(app: Litestar, email: str = ADMIN_EMAIL) -> None:
    """The first admin, made like `timebank create-admin`."""
    await members_roles.admin_bootstrap(
        engine=app.state.engine,
        ledger=app.state.ledger,
        email=email,
        password=PASSWORD,
        display_name="Ada Admin",
    )


async def first_admin(app: Litestar, client: httpx.AsyncClient, email: str = ADMIN_EMAIL) -> Person:
    """The first admin, made like `timebank create-admin`, signed in."""
    await bootstrap_admin(app, email)
    headers = await sign_in(client, email)
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return Person(uuid.UUID(me.json()["id"]), email, headers)


async def new_area(client: httpx.AsyncClient, admin: Person, slug: str, name: str) -> None:
    response = await client.post(
        "/api/v1/admin/areas", json={"name": name, "slug": slug}, headers=admin.headers
    )
    assert response.status_code == 201, response.text


async def new_community(
    client: httpx.AsyncClient,
    admin: Person,
    slug: str,
    *,
    area: str,
    requires_approval: bool,
    welcome_minutes: int | None = TOWN_WELCOME_MINUTES,
) -> None:
    body: dict[str, Any] = {
        "name": slug.title(),
        "slug": slug,
        "area": area,
        "requires_approval": requires_approval,
    }
    if welcome_minutes is not None:
        body["welcome_credit_minutes"] = welcome_minutes
    response = await client.post("/api/v1/admin/communities", headers=admin.headers, json=body)
    assert response.status_code == 201, response.text


async def grant(client: httpx.AsyncClient, admin: Person, who: Person, **change: str) -> None:
    response = await client.post(
        f"/api/v1/admin/members/{who.id}/roles",
        headers=admin.headers,
        json={"action": "grant", "reason": "appointed", **change},
    )
    assert response.status_code == 200, response.text


async def build_town(app: Litestar, client: httpx.AsyncClient) -> Town:
    """Areas north and south; riverside (north, open), oakfield (north, approval required),
    hillside (south, open), each crediting 120 minutes; a member of each role."""
    return (await build_town_people(app, client)).town(client)


async def build_town_people(app: Litestar, client: httpx.AsyncClient) -> TownPeople:
    """The town's rows, written through the API; the people, tokens ready (see build_town)."""
    admin = await first_admin(app, client)
    for slug, name in (("north", "North Borough"), ("south", "South Borough")):
        await new_area(client, admin, slug, name)
    for slug, area, approval in (
        ("riverside", "north", False),
        ("oakfield", "north", True),
        ("hillside", "south", False),
    ):
        await new_community(client, admin, slug, area=area, requires_approval=approval)
    coordinator = await person(client, "cora@example.org", "riverside")
    council = await person(client, "colin@example.org", "riverside")
    await grant(client, admin, coordinator, role="coordinator", community="riverside")
    await grant(client, admin, council, role="council", area="north")
    pending_id = await register(client, "pat@example.org", "oakfield")
    return TownPeople(
        admin=admin,
        coordinator=coordinator,
        council=council,
        alice=await person(client, "alice@example.org", "riverside"),
        bob=await person(client, "bob@example.org", "riverside"),
        carol=await person(client, "carol@example.org", "hillside"),
        pending=Person(pending_id, "pat@example.org", await sign_in(client, "pat@example.org")),
    )

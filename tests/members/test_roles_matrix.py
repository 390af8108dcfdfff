"""Every role against every members route: the expected status, one test id per cell.

Roles: anonymous, a pending member, a member, the coordinator of riverside,
a coordinator of another community (hillside) acting on riverside, a council
viewer of riverside's area, and an admin. Every object an operation targets
(the member to approve, the member whose roles change, the profile read)
lives in riverside, so "coordinator_other" is a coordinator acting outside
their community. Refusals must be problems with the matching code, and a
refused write must change nothing (each write operation says how to see
whether it happened).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from service.accounts.controllers import ROUTERS as ACCOUNTS_ROUTERS
from service.desk.controllers import ROUTERS as DESK_ROUTERS
from service.export.controllers import ROUTERS as EXPORT_ROUTERS
from service.members.controllers import ROUTERS
from service.members.services import live_grants
from service.members.tables import Area, Community, Member
from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


ROLES = (
    "anonymous",
    "pending",
    "member",
    "coordinator",
    "coordinator_other",
    "council",
    "admin",
)

CODE_BY_STATUS = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}

# Did the write happen? Asked after the request; None for reads.
Changed = Callable[[], Awaitable[bool]] | None


@dataclass(frozen=True)
class Outcome:
    response: httpx.Response
    changed: Changed = None


Run = Callable[[World, Person | None], Awaitable[Outcome]]


@dataclass(frozen=True)
class Operation:
    method: str
    route: str  # the route's path template, to check that every route is in the table
    run: Run
    # The operation uses up the caller (closes the account, revokes the token).
    fresh_actor: bool = False


def headers_of(actor: Person | None) -> dict[str, str]:
    return dict(actor.headers) if actor else {}


# role: (home community, grant given by the admin)
ACTOR_SETUP: dict[str, tuple[str, dict[str, str] | None]] = {
    "member": ("riverside", None),
    "coordinator": ("riverside", {"role": "coordinator", "community": "riverside"}),
    "coordinator_other": ("hillside", {"role": "coordinator", "community": "hillside"}),
    "council": ("meadow", {"role": "council", "area": "north"}),
    "admin": ("meadow", {"role": "admin"}),
}


async def _actor(world: World, role: str) -> Person | None:
    if role == "anonymous":
        return None
    if role == "pending":
        return await world.member("riverside", approve=False, stem="pending")
    community, grant = ACTOR_SETUP[role]
    actor = await world.member(community, stem=role.replace("_", ""))
    if grant is not None:
        await world.grant(actor, **grant)
    return actor


async def actor_for(world: World, role: str, *, fresh: bool) -> Person | None:
    if fresh:
        return await _actor(world, role)
    key = f"matrix-actor:{role}"
    if key not in world.cache:
        world.cache[key] = await _actor(world, role)
    actor: Person | None = world.cache[key]
    return actor


async def shared_member(world: World, key: str, community: str, *, approve: bool) -> Person:
    cache_key = f"matrix-target:{key}"
    if cache_key not in world.cache:
        world.cache[cache_key] = await world.member(community, approve=approve, stem=key)
    target: Person = world.cache[cache_key]
    return target


async def status_of(member_id: uuid.UUID) -> str:
    row = await Member.select(Member.status).where(Member.id == member_id).first().run()
    assert row is not None
    return str(row["status"])


async def token_works(world: World, headers: dict[str, str]) -> bool:
    response = await world.http.get("/api/v1/me", headers=headers)
    return response.status_code == 200


# Operations ------------------------------------------------------------------------


async def op_register(world: World, actor: Person | None) -> Outcome:
    email = world.email("joiner")
    response = await world.http.post(
        "/api/v1/auth/register",
        headers=headers_of(actor),
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": "Joiner",
            "community": "riverside",
        },
    )

    async def changed() -> bool:
        return await Member.exists().where(Member.email == email).run()

    return Outcome(response, changed)


async def op_token_create(world: World, actor: Person | None) -> Outcome:
    # Anonymous callers are who signs in: they use a member's email and password.
    who = actor or await shared_member(world, "signer", "riverside", approve=True)
    response = await world.http.post(
        "/api/v1/auth/token",
        headers=headers_of(actor),
        json={"email": who.email, "password": PASSWORD},
    )

    async def changed() -> bool:
        token = response.json().get("token")
        return bool(token) and await token_works(world, {"Authorization": f"Bearer {token}"})

    return Outcome(response, changed)


async def op_token_revoke(world: World, actor: Person | None) -> Outcome:
    response = await world.http.delete("/api/v1/auth/token", headers=headers_of(actor))
    if actor is None:
        return Outcome(response)

    async def changed() -> bool:
        return not await token_works(world, actor.headers)

    return Outcome(response, changed)


async def op_me_read(world: World, actor: Person | None) -> Outcome:
    response = await world.http.get("/api/v1/me", headers=headers_of(actor))
    if actor is not None and response.status_code == 200:
        assert response.json()["id"] == str(actor.id)
    return Outcome(response)


async def op_me_update(world: World, actor: Person | None) -> Outcome:
    name = world.unique("Renamed ")
    response = await world.http.patch(
        "/api/v1/me", headers=headers_of(actor), json={"display_name": name}
    )

    async def changed() -> bool:
        return await Member.exists().where(Member.display_name == name).run()

    return Outcome(response, changed)


async def op_me_export(world: World, actor: Person | None) -> Outcome:
    response = await world.http.get("/api/v1/me/export", headers=headers_of(actor))
    if actor is not None and response.status_code == 200:
        assert response.json()["profile"]["id"] == str(actor.id)
    return Outcome(response)


async def op_me_close(world: World, actor: Person | None) -> Outcome:
    response = await world.http.delete("/api/v1/me", headers=headers_of(actor))
    if actor is None:
        return Outcome(response)

    async def changed() -> bool:
        return await status_of(actor.id) == "closed"

    return Outcome(response, changed)


async def op_public_profile(world: World, actor: Person | None) -> Outcome:
    bob = await shared_member(world, "bob", "riverside", approve=True)
    response = await world.http.get(f"/api/v1/members/{bob.id}", headers=headers_of(actor))
    if response.status_code == 200:
        assert response.json()["id"] == str(bob.id)
    return Outcome(response)


async def op_public_profile_other_community(world: World, actor: Person | None) -> Outcome:
    carol = await shared_member(world, "carol", "hillside", approve=True)
    response = await world.http.get(f"/api/v1/members/{carol.id}", headers=headers_of(actor))
    return Outcome(response)


async def op_public_profile_of_pending(world: World, actor: Person | None) -> Outcome:
    waiting = await shared_member(world, "waiting", "riverside", approve=False)
    response = await world.http.get(f"/api/v1/members/{waiting.id}", headers=headers_of(actor))
    return Outcome(response)


async def op_account(world: World, actor: Person | None) -> Outcome:
    return Outcome(await world.http.get("/api/v1/accounts/me", headers=headers_of(actor)))


async def op_communities(world: World, actor: Person | None) -> Outcome:
    response = await world.http.get("/api/v1/communities", headers=headers_of(actor))
    if response.status_code == 200:
        assert {"riverside", "hillside", "meadow"} <= {c["slug"] for c in response.json()}
    return Outcome(response)


async def _pending_list(world: World, actor: Person | None, query: str) -> Outcome:
    waiting = await shared_member(world, "waiting", "riverside", approve=False)
    separator = "&" if query else "?"
    response = await world.http.get(
        f"/api/v1/coordinator/members{query}{separator}status=pending", headers=headers_of(actor)
    )
    if response.status_code == 200 and query:
        assert str(waiting.id) in {item["id"] for item in response.json()["items"]}
    return Outcome(response)


async def op_pending_list(world: World, actor: Person | None) -> Outcome:
    return await _pending_list(world, actor, "")


async def op_pending_list_riverside(world: World, actor: Person | None) -> Outcome:
    return await _pending_list(world, actor, "?community=riverside")


async def op_pending_list_unknown_community(world: World, actor: Person | None) -> Outcome:
    return await _pending_list(world, actor, "?community=nowhere")


async def op_approve_pending(world: World, actor: Person | None) -> Outcome:
    target = await world.member("riverside", approve=False, stem="applicant")
    response = await world.http.post(
        f"/api/v1/coordinator/members/{target.id}/approve", headers=headers_of(actor)
    )

    async def changed() -> bool:
        return await status_of(target.id) == "active"

    return Outcome(response, changed)


async def op_create_without_login(world: World, actor: Person | None) -> Outcome:
    name = f"Offline {uuid.uuid4().hex[:8]}"
    response = await world.http.post(
        "/api/v1/coordinator/members",
        headers=headers_of(actor),
        json={"display_name": name, "community": "riverside", "phone": "01632 960001"},
    )

    async def changed() -> bool:
        return await Member.count().where(Member.display_name == name).run() == 1

    return Outcome(response, changed)


async def op_desk_statement(world: World, actor: Person | None) -> Outcome:
    target = await shared_member(world, "desked", "riverside", approve=True)
    response = await world.http.get(
        f"/api/v1/coordinator/members/{target.id}/statement", headers=headers_of(actor)
    )
    if response.status_code == 200:
        assert [item["code"] for item in response.json()["items"]] == ["welcome"]
    return Outcome(response)


async def op_decline_pending(world: World, actor: Person | None) -> Outcome:
    target = await world.member("riverside", approve=False, stem="declinee")
    response = await world.http.post(
        f"/api/v1/coordinator/members/{target.id}/decline",
        headers=headers_of(actor),
        json={"reason": "The time bank is full this month."},
    )

    async def changed() -> bool:
        return await status_of(target.id) == "declined"

    return Outcome(response, changed)


async def op_approve_unknown_member(world: World, actor: Person | None) -> Outcome:
    response = await world.http.post(
        f"/api/v1/coordinator/members/{uuid.uuid4()}/approve", headers=headers_of(actor)
    )
    return Outcome(response)


async def _roles_of(member_id: uuid.UUID) -> set[tuple[str, uuid.UUID | None]]:
    return {(grant.role, grant.community_id) for grant in await live_grants(member_id)}


async def op_role_grant(world: World, actor: Person | None) -> Outcome:
    target = await world.member("riverside", stem="nominee")
    response = await world.http.post(
        f"/api/v1/admin/members/{target.id}/roles",
        headers=headers_of(actor),
        json={
            "action": "grant",
            "role": "coordinator",
            "community": "riverside",
            "reason": "volunteered",
        },
    )

    async def changed() -> bool:
        return bool(await _roles_of(target.id))

    return Outcome(response, changed)


async def op_role_revoke(world: World, actor: Person | None) -> Outcome:
    target = await world.member("riverside", stem="retiree")
    await world.grant(target, "coordinator", community="riverside")
    response = await world.http.post(
        f"/api/v1/admin/members/{target.id}/roles",
        headers=headers_of(actor),
        json={
            "action": "revoke",
            "role": "coordinator",
            "community": "riverside",
            "reason": "stepped down",
        },
    )

    async def changed() -> bool:
        return not await _roles_of(target.id)

    return Outcome(response, changed)


async def op_area_create(world: World, actor: Person | None) -> Outcome:
    slug = world.unique("new-area-")
    response = await world.http.post(
        "/api/v1/admin/areas", headers=headers_of(actor), json={"name": "New area", "slug": slug}
    )

    async def changed() -> bool:
        return await Area.exists().where(Area.slug == slug).run()

    return Outcome(response, changed)


async def op_community_create(world: World, actor: Person | None) -> Outcome:
    slug = world.unique("new-town-")
    response = await world.http.post(
        "/api/v1/admin/communities",
        headers=headers_of(actor),
        json={"name": "New town", "slug": slug, "area": "north"},
    )

    async def changed() -> bool:
        return await Community.exists().where(Community.slug == slug).run()

    return Outcome(response, changed)


async def op_community_settings(world: World, actor: Person | None) -> Outcome:
    # A number of days no earlier call set (the world is shared by the module's tests).
    days = 7 + int(world.unique("").strip() or 0)
    response = await world.http.patch(
        "/api/v1/coordinator/communities/riverside",
        headers=headers_of(actor),
        json={"listing_days": days},
    )

    async def changed() -> bool:
        row = await Community.select(Community.listing_days).where(Community.slug == "riverside")
        return bool(row[0]["listing_days"] == days)

    return Outcome(response, changed)


OPERATIONS: dict[str, Operation] = {
    "register": Operation("POST", "/api/v1/auth/register", op_register),
    "token_create": Operation("POST", "/api/v1/auth/token", op_token_create),
    "token_revoke": Operation("DELETE", "/api/v1/auth/token", op_token_revoke, fresh_actor=True),
    "me_read": Operation("GET", "/api/v1/me", op_me_read),
    "me_update": Operation("PATCH", "/api/v1/me", op_me_update),
    "me_export": Operation("GET", "/api/v1/me/export", op_me_export),
    "me_close": Operation("DELETE", "/api/v1/me", op_me_close, fresh_actor=True),
    "public_profile": Operation("GET", "/api/v1/members/{member_id:uuid}", op_public_profile),
    "public_profile_other_community": Operation(
        "GET", "/api/v1/members/{member_id:uuid}", op_public_profile_other_community
    ),
    "public_profile_of_pending": Operation(
        "GET", "/api/v1/members/{member_id:uuid}", op_public_profile_of_pending
    ),
    "account": Operation("GET", "/api/v1/accounts/me", op_account),
    "communities": Operation("GET", "/api/v1/communities", op_communities),
    "pending_list": Operation("GET", "/api/v1/coordinator/members", op_pending_list),
    "pending_list_riverside": Operation(
        "GET", "/api/v1/coordinator/members", op_pending_list_riverside
    ),
    "pending_list_unknown_community": Operation(
        "GET", "/api/v1/coordinator/members", op_pending_list_unknown_community
    ),
    "approve_pending": Operation(
        "POST", "/api/v1/coordinator/members/{member_id:uuid}/approve", op_approve_pending
    ),
    "approve_unknown_member": Operation(
        "POST", "/api/v1/coordinator/members/{member_id:uuid}/approve", op_approve_unknown_member
    ),
    "create_without_login": Operation(
        "POST", "/api/v1/coordinator/members", op_create_without_login
    ),
    "desk_statement": Operation(
        "GET", "/api/v1/coordinator/members/{member_id:uuid}/statement", op_desk_statement
    ),
    "decline_pending": Operation(
        "POST", "/api/v1/coordinator/members/{member_id:uuid}/decline", op_decline_pending
    ),
    "role_grant": Operation("POST", "/api/v1/admin/members/{member_id:uuid}/roles", op_role_grant),
    "role_revoke": Operation(
        "POST", "/api/v1/admin/members/{member_id:uuid}/roles", op_role_revoke
    ),
    "area_create": Operation("POST", "/api/v1/admin/areas", op_area_create),
    "community_create": Operation("POST", "/api/v1/admin/communities", op_community_create),
    "community_settings": Operation(
        "PATCH", "/api/v1/coordinator/communities/{slug:str}", op_community_settings
    ),
}

# fmt: off
EXPECTED: dict[str, tuple[int, ...]] = {
    # operation                       anon  pend  memb  coord other counc admin
    "register":                       (201, 201, 201, 201, 201, 201, 201),
    "token_create":                   (201, 201, 201, 201, 201, 201, 201),
    "token_revoke":                   (401, 204, 204, 204, 204, 204, 204),
    "me_read":                        (401, 200, 200, 200, 200, 200, 200),
    "me_update":                      (401, 200, 200, 200, 200, 200, 200),
    "me_export":                      (401, 200, 200, 200, 200, 200, 200),
    "me_close":                       (401, 204, 204, 204, 204, 204, 204),
    "public_profile":                 (401, 200, 200, 200, 200, 200, 200),
    "public_profile_other_community": (401, 200, 200, 200, 200, 200, 200),
    "public_profile_of_pending":      (401, 404, 404, 404, 404, 404, 404),
    "account":                        (401, 200, 200, 200, 200, 200, 200),
    "communities":                    (200, 200, 200, 200, 200, 200, 200),
    "pending_list":                   (401, 403, 403, 200, 200, 403, 200),
    "pending_list_riverside":         (401, 403, 403, 200, 404, 403, 200),
    "pending_list_unknown_community": (401, 403, 403, 404, 404, 403, 404),
    "approve_pending":                (401, 403, 403, 200, 404, 403, 200),
    "approve_unknown_member":         (401, 403, 403, 404, 404, 403, 404),
    "create_without_login":           (401, 403, 403, 201, 403, 403, 201),
    "desk_statement":                 (401, 403, 403, 200, 404, 403, 200),
    "decline_pending":                (401, 403, 403, 200, 404, 403, 200),
    "role_grant":                     (401, 403, 403, 403, 403, 403, 200),
    "role_revoke":                    (401, 403, 403, 403, 403, 403, 200),
    "area_create":                    (401, 403, 403, 403, 403, 403, 201),
    "community_create":               (401, 403, 403, 403, 403, 403, 201),
    "community_settings":             (401, 403, 403, 200, 404, 403, 200),
}
# fmt: on

MATRIX = [
    pytest.param(role, operation, statuses[index], id=f"{role}:{operation}")
    for operation, statuses in EXPECTED.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("role", "operation", "expected"), MATRIX)
async def test_role_boundary(world: World, role: str, operation: str, expected: int) -> None:
    spec = OPERATIONS[operation]
    actor = await actor_for(world, role, fresh=spec.fresh_actor)
    outcome = await spec.run(world, actor)
    if expected < 400:
        assert outcome.response.status_code == expected, outcome.response.text
    else:
        assert_problem(outcome.response, expected, CODE_BY_STATUS[expected])
    if outcome.changed is not None:
        assert await outcome.changed() == (expected < 400)


async def test_every_members_route_is_in_the_matrix(world: World) -> None:
    """A route added to the members API without a row here fails this test.

    The member's own account and export now live in packages of their own
    (service/accounts, service/export), the coordinator's member list in the desk
    (service/desk); their routes stay in this matrix.
    """
    members_api = [*ROUTERS, *ACCOUNTS_ROUTERS, *EXPORT_ROUTERS, *DESK_ROUTERS]
    controllers = {controller.__name__ for controller in members_api}
    served = {
        (method, route.path)
        for route in world.app.routes
        for handler in getattr(route, "route_handlers", ())
        if handler.fn.__qualname__.split(".")[0] in controllers
        for method in handler.http_methods
    }
    covered = {(spec.method, spec.route.rstrip("/")) for spec in OPERATIONS.values()}
    assert served, "no members routes found"
    assert {(method, path.rstrip("/") or "/") for method, path in served} == covered
    assert set(EXPECTED) == set(OPERATIONS)

"""The caller in one query: the same principal as before, and nothing stale (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service import database
from service.members.callers import principal_for_token
from service.members.tables import ApiToken, Community, Member, RoleGrant
from service.principal import Grant, Principal
from tests.support.people import Person, Town


def query_from_the_test(town: Town) -> None:
    """Read and write the tables through the app's own engine, on the test's loop.

    A second engine on the same file would not do on SQLite: a write of the app's
    (its node lease is given up at shut-down) holds the write lock on the app's kept
    writer while the table, bound to the second engine, waits for that lock on a
    connection of its own, for the whole busy timeout (30 s a test).
    """
    database.activate(town.app.state.engine)


def bearer(person: Person) -> str:
    return person.headers["Authorization"].removeprefix("Bearer ")


async def resolved(person: Person) -> Principal:
    principal = await principal_for_token(bearer(person))
    assert principal is not None
    return principal


async def test_a_member_with_one_grant(town: Town) -> None:
    query_from_the_test(town)
    principal = await resolved(town.coordinator)
    member = await Member.objects().where(Member.id == town.coordinator.id).first().run()
    riverside = await Community.objects().where(Community.slug == "riverside").first().run()
    assert member is not None
    assert riverside is not None
    assert principal.member_id == town.coordinator.id
    assert principal.community_id == riverside.id
    assert principal.hour_account_id == member.hour_account_id
    assert principal.status == "active"
    assert principal.via == "token"
    assert principal.grants == (Grant("coordinator", riverside.id, None),)


async def test_every_live_grant_and_no_revoked_one(town: Town) -> None:
    for change in (
        {"action": "grant", "role": "council", "area": "north"},
        {"action": "grant", "role": "coordinator", "community": "riverside"},
        {"action": "revoke", "role": "council", "area": "north"},
        {"action": "grant", "role": "council", "area": "south"},
    ):
        response = await town.client.post(
            f"/api/v1/admin/members/{town.alice.id}/roles",
            headers=town.admin.headers,
            json={"reason": "rota", **change},
        )
        assert response.status_code == 200, response.text
    query_from_the_test(town)
    principal = await resolved(town.alice)
    live = await RoleGrant.select(RoleGrant.role).where(
        (RoleGrant.member == town.alice.id) & RoleGrant.revoked_at.is_null()
    )
    assert sorted(grant.role for grant in principal.grants) == ["coordinator", "council"]
    assert len(live) == len(principal.grants)
    assert principal.council_areas == {
        grant.area_id for grant in principal.grants if grant.role == "council"
    }
    assert len(principal.council_areas) == 1


async def test_a_member_without_grants(town: Town) -> None:
    query_from_the_test(town)
    assert (await resolved(town.bob)).grants == ()


async def test_revoked_and_expired_tokens_and_locked_out_members_resolve_to_nobody(
    town: Town,
) -> None:
    query_from_the_test(town)
    now = datetime.now(UTC)
    assert await principal_for_token(bearer(town.bob), now=now + timedelta(days=400)) is None
    assert await principal_for_token("not-a-token") is None

    await ApiToken.update({ApiToken.revoked_at: now}).where(ApiToken.member == town.bob.id)
    assert await principal_for_token(bearer(town.bob)) is None

    await Member.update({Member.status: "suspended"}).where(Member.id == town.alice.id)
    assert await principal_for_token(bearer(town.alice)) is None
    await Member.update({Member.status: "closed", Member.closed_at: now}).where(
        Member.id == town.alice.id
    )
    assert await principal_for_token(bearer(town.alice)) is None
    # Pending members are resolved: `require_active` stops them moving hours.
    assert (await resolved(town.pending)).status == "pending"


async def test_the_api_sees_a_revocation_on_the_next_request(town: Town) -> None:
    query_from_the_test(town)
    before = await town.client.get("/api/v1/accounts/me", headers=town.carol.headers)
    assert before.status_code == 200, before.text
    await ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)}).where(
        ApiToken.member == town.carol.id
    )
    after = await town.client.get("/api/v1/accounts/me", headers=town.carol.headers)
    assert after.status_code == 401


async def test_without_redis_nothing_is_kept_between_requests(town: Town) -> None:
    """No REDIS_URL: a revocation written behind the service's back is seen at once."""
    for _ in range(2):
        response = await town.client.get("/api/v1/me/", headers=town.bob.headers)
        assert response.status_code == 200, response.text
    await ApiToken.update({ApiToken.revoked_at: ApiToken.created_at}).where(
        ApiToken.member == town.bob.id
    )
    after = await town.client.get("/api/v1/me/", headers=town.bob.headers)
    assert after.status_code == 401

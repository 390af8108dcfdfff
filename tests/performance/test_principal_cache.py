"""The caller cache (ADR 0043): used with Redis, and every change that ends or changes a
caller is seen on the very next request, by this app and by another one (both engines)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from service.http.principal_cache import PRINCIPAL_VERSION_KEY, PrincipalVersions
from service.members.sessions import token_create
from service.members.tables import ApiToken, Member, RoleGrant
from service.settings import Settings
from tests.conftest import TestDatabase, settings_for_tests
from tests.performance.conftest import REDIS_URL, serving
from tests.support.people import PASSWORD, Person, Town

ME = "/api/v1/me/"
COORDINATED_MEMBERS = "/api/v1/coordinator/members/"


@pytest.fixture
def settings(db: TestDatabase, tmp_path: Path) -> Settings:
    """The app of this module keeps callers: REDIS_URL is set."""
    plain = settings_for_tests(db.url, tmp_path / "data")
    return Settings(**{**_fields(plain), "redis_url": REDIS_URL})


def _fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


async def second_token(person: Person) -> dict[str, str]:
    """Another live bearer token of the same member (a second device)."""
    member = await Member.objects().where(Member.id == person.id).first().run()
    assert member is not None
    issued = await token_create(member=member)
    return {"Authorization": f"Bearer {issued.token}"}


async def status_of(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    return (await client.get(path, headers=headers)).status_code


async def warm(client: httpx.AsyncClient, headers: dict[str, str], path: str = ME) -> None:
    """Two requests: the first resolves and keeps the caller, the second is served by it."""
    for _ in range(2):
        assert await status_of(client, path, headers) == 200


async def revoke_behind_the_services_back(person: Person) -> None:
    """Revoke every token of `person` in the table alone: no principal version is bumped."""
    await ApiToken.update({ApiToken.revoked_at: ApiToken.created_at}).where(
        ApiToken.member == person.id
    )


async def new_principal_version() -> None:
    """Set a new version in Redis: what any write that changes a caller sets."""
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.set(PRINCIPAL_VERSION_KEY, uuid.uuid4().hex)
    finally:
        await redis.aclose()


@pytest.mark.postgres_only
async def test_the_cache_is_used_and_a_new_version_drops_it(town: Town) -> None:
    # A revocation written behind the service's back (no version bump) is not seen while
    # the entry lives: proof that requests are served from the cache at all...
    await warm(town.client, town.bob.headers)
    await revoke_behind_the_services_back(town.bob)
    assert await status_of(town.client, ME, town.bob.headers) == 200
    # ...and a new version in Redis (what any invalidating write sets) ends it at once.
    await new_principal_version()
    assert await status_of(town.client, ME, town.bob.headers) == 401


@pytest.mark.sqlite_only
async def test_on_sqlite_every_request_asks_the_database_even_with_redis(town: Town) -> None:
    # ADR 0053: the caller's read runs on the loop's thread, cheaper than the Redis GET
    # that guards a kept copy, so nothing is kept: a revocation written behind the
    # service's back (no version bump) is seen by the very next request.
    await warm(town.client, town.bob.headers)
    await revoke_behind_the_services_back(town.bob)
    assert await status_of(town.client, ME, town.bob.headers) == 401


GIFTS = "/api/v1/transfers"
GIFT_MINUTES = 15


async def gift(client: httpx.AsyncClient, giver: Person, to: Person) -> httpx.Response:
    """A keyed member gift: what the gift lane answers (ADR 0058)."""
    return await client.post(
        GIFTS,
        headers={**giver.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"to_member_id": str(to.id), "minutes": GIFT_MINUTES},
    )


async def warm_gifts(client: httpx.AsyncClient, giver: Person, to: Person) -> None:
    """Two gifts: the first reads and keeps the recipient, the second is given by it."""
    for _ in range(2):
        given = await gift(client, giver, to)
        assert given.status_code == 201, given.text


async def suspend_behind_the_services_back(person: Person) -> None:
    """Suspend `person` in the table alone: no principal version is bumped."""
    await Member.update({Member.status: "suspended"}).where(Member.id == person.id)


@pytest.mark.postgres_only
async def test_a_kept_recipient_is_used_and_a_new_version_drops_it(town: Town) -> None:
    # A recipient suspended behind the service's back still receives while the kept
    # row lives: proof that gifts are given from it (ADR 0067)...
    await warm_gifts(town.client, town.bob, town.alice)
    await suspend_behind_the_services_back(town.alice)
    kept = await gift(town.client, town.bob, town.alice)
    assert kept.status_code == 201, kept.text
    # ...and a new version (what any invalidating write sets) ends it at once.
    await new_principal_version()
    refused = await gift(town.client, town.bob, town.alice)
    assert refused.status_code == 404, refused.text


@pytest.mark.sqlite_only
async def test_on_sqlite_every_gift_reads_its_recipient(town: Town) -> None:
    await warm_gifts(town.client, town.bob, town.alice)
    await suspend_behind_the_services_back(town.alice)
    refused = await gift(town.client, town.bob, town.alice)
    assert refused.status_code == 404, refused.text


async def test_a_block_is_seen_by_the_next_gift_both_ways(town: Town) -> None:
    await warm_gifts(town.client, town.bob, town.alice)
    await warm_gifts(town.client, town.alice, town.bob)
    blocked = await town.client.post(
        "/api/v1/me/blocks/", headers=town.alice.headers, json={"member_id": str(town.bob.id)}
    )
    assert blocked.status_code == 201, blocked.text
    to_the_blocker = await gift(town.client, town.bob, town.alice)
    from_the_blocker = await gift(town.client, town.alice, town.bob)
    assert to_the_blocker.status_code == 403, to_the_blocker.text
    assert to_the_blocker.json()["code"] == "blocked"
    assert from_the_blocker.status_code == 403, from_the_blocker.text
    unblocked = await town.client.delete(
        f"/api/v1/me/blocks/{town.bob.id}", headers=town.alice.headers
    )
    assert unblocked.status_code == 204, unblocked.text
    again = await gift(town.client, town.bob, town.alice)
    assert again.status_code == 201, again.text


async def test_a_recipients_suspension_is_seen_by_the_next_gift(town: Town) -> None:
    await warm_gifts(town.client, town.bob, town.alice)
    suspended = await town.client.post(
        f"/api/v1/admin/members/{town.alice.id}/suspend",
        headers=town.admin.headers,
        json={"action": "suspend", "reason": "test"},
    )
    assert suspended.status_code == 200, suspended.text
    refused = await gift(town.client, town.bob, town.alice)
    assert refused.status_code == 404, refused.text


async def test_a_recipients_new_name_is_in_the_next_gifts_reply(town: Town) -> None:
    await warm_gifts(town.client, town.bob, town.alice)
    renamed = await town.client.patch(
        ME, headers=town.alice.headers, json={"display_name": "Alice Newname"}
    )
    assert renamed.status_code == 200, renamed.text
    given = await gift(town.client, town.bob, town.alice)
    assert given.status_code == 201, given.text
    assert given.json()["receiver"]["display_name"] == "Alice Newname"


async def test_token_revocation_is_seen_by_the_next_request(town: Town) -> None:
    await warm(town.client, town.alice.headers)
    revoked = await town.client.delete("/api/v1/auth/token", headers=town.alice.headers)
    assert revoked.status_code == 204, revoked.text
    assert await status_of(town.client, ME, town.alice.headers) == 401


async def test_suspension_ends_every_token_at_once(town: Town) -> None:
    other = await second_token(town.alice)
    await warm(town.client, town.alice.headers)
    await warm(town.client, other)
    suspended = await town.client.post(
        f"/api/v1/admin/members/{town.alice.id}/suspend",
        headers=town.admin.headers,
        json={"action": "suspend", "reason": "test"},
    )
    assert suspended.status_code == 200, suspended.text
    assert await status_of(town.client, ME, town.alice.headers) == 401
    assert await status_of(town.client, ME, other) == 401


async def test_role_removal_is_seen_by_the_next_request(town: Town) -> None:
    change = {"role": "coordinator", "community": "riverside", "reason": "rota"}
    roles = f"/api/v1/admin/members/{town.alice.id}/roles"
    granted = await town.client.post(
        roles, headers=town.admin.headers, json={"action": "grant", **change}
    )
    assert granted.status_code == 200, granted.text
    await warm(town.client, town.alice.headers, COORDINATED_MEMBERS)
    revoked = await town.client.post(
        roles, headers=town.admin.headers, json={"action": "revoke", **change}
    )
    assert revoked.status_code == 200, revoked.text
    assert await status_of(town.client, COORDINATED_MEMBERS, town.alice.headers) == 403


async def test_a_role_grant_is_seen_by_the_next_request(town: Town) -> None:
    await warm(town.client, town.bob.headers)
    assert await status_of(town.client, COORDINATED_MEMBERS, town.bob.headers) == 403
    granted = await town.client.post(
        f"/api/v1/admin/members/{town.bob.id}/roles",
        headers=town.admin.headers,
        json={"action": "grant", "role": "coordinator", "community": "riverside", "reason": "r"},
    )
    assert granted.status_code == 200, granted.text
    assert await status_of(town.client, COORDINATED_MEMBERS, town.bob.headers) == 200


async def test_a_password_change_ends_the_other_tokens_at_once(town: Town) -> None:
    other = await second_token(town.alice)
    await warm(town.client, other)
    changed = await town.client.put(
        "/api/v1/me/password",
        headers=town.alice.headers,
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert changed.status_code == 204, changed.text
    assert await status_of(town.client, ME, other) == 401
    assert await status_of(town.client, ME, town.alice.headers) == 200


async def test_closing_the_account_ends_the_other_tokens_at_once(town: Town) -> None:
    other = await second_token(town.carol)
    await warm(town.client, other)
    closed = await town.client.delete(ME, headers=town.carol.headers)
    assert closed.status_code == 204, closed.text
    assert await status_of(town.client, ME, other) == 401


async def test_two_servers_sharing_redis_see_a_change_made_through_the_other(
    town: Town, db: TestDatabase, tmp_path: Path
) -> None:
    change = {"role": "coordinator", "community": "riverside", "reason": "rota"}
    roles = f"/api/v1/admin/members/{town.alice.id}/roles"
    with (
        serving(db, tmp_path / "one", "--workers", "1", REDIS_URL=REDIS_URL) as one,
        serving(db, tmp_path / "two", "--workers", "1", REDIS_URL=REDIS_URL) as two,
    ):
        async with one.client() as first, two.client() as second:
            granted = await first.post(
                roles, headers=town.admin.headers, json={"action": "grant", **change}
            )
            assert granted.status_code == 200, granted.text
            await warm(second, town.alice.headers, COORDINATED_MEMBERS)
            await warm(second, town.bob.headers)
            revoked = await first.post(
                roles, headers=town.admin.headers, json={"action": "revoke", **change}
            )
            assert revoked.status_code == 200, revoked.text
            after_revoke = await status_of(second, COORDINATED_MEMBERS, town.alice.headers)
            signed_out = await first.delete("/api/v1/auth/token", headers=town.bob.headers)
            assert signed_out.status_code == 204, signed_out.text
            after_sign_out = await status_of(second, ME, town.bob.headers)
    assert after_revoke == 403
    assert after_sign_out == 401
    live = await RoleGrant.count().where(
        (RoleGrant.member == town.alice.id) & RoleGrant.revoked_at.is_null()
    )
    assert live == 0


async def test_versions_asked_at_once_share_one_get_and_see_a_finished_bump() -> None:
    """Requests asking at once share one GET (ADR 0056); a bump that finished before a
    request asked is always seen by it."""
    versions = PrincipalVersions(REDIS_URL)
    gets = 0
    real_get = versions._redis.get

    async def counted_get(*args: Any, **kwargs: Any) -> Any:
        nonlocal gets
        gets += 1
        return await real_get(*args, **kwargs)

    versions._redis.get = counted_get  # type: ignore[method-assign]
    try:
        await versions.bump()
        seen = await asyncio.gather(*(versions.current() for _ in range(10)))
        assert len(set(seen)) == 1
        assert gets == 1
        await versions.bump()
        assert await versions.current() not in {seen[0], None}
        assert gets == 2
    finally:
        await versions.close()
